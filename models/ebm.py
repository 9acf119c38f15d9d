"""The glass-box model: an Explainable Boosting Machine (InterpretML) kept as lookup tables.

An EBM is a generalised additive model with pairwise interactions: log-odds of default =
intercept + one score per feature (looked up in that feature's bins) + one score per selected
pair of features (looked up in a 2-D grid). :class:`EBMModel` fits one with InterpretML
(monotone where the catalogue states a risk direction) and converts it into
:class:`EBMTables`, plain data (bin edges, categories, scores) that is what gets exported and
what scores: the tables reproduce ``ExplainableBoostingClassifier.decision_function`` bit for
bit (same bins, same summation order), and each term's looked-up score is its exact
contribution, so the contributions of a row sum to its log-odds (reason codes need no
approximation).

Monotonicity: InterpretML keeps a constrained feature out of the automatic pair search, so a
constrained feature appears in its own (monotone) main term only, and the whole model is
monotone in it.
"""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_array, check_is_fitted

from features import detmath
from models.pd_model import _weights, binary_target

TABLES_FORMAT = "credit-ebm-tables/1"
MISSING, UNSEEN = "Missing", "Unseen"
PAIR = " & "  # InterpretML's name of a pair term: "a & b"


class TablesError(ValueError):
    """EBM tables that are not of the expected shape (a damaged or foreign file)."""


class EBMTables:
    """An EBM as plain data: per feature its bins, per term its scores; scores rows from them.

    ``spec`` (JSON-ready): ``intercept``; ``features``, each with ``name``, ``type``
    (``continuous``: ``cuts``, one list of ascending cut points per bin level; ``nominal``:
    ``categories``, one ``{category: bin}`` mapping per level); ``terms``, each with ``name``,
    ``features`` (one or two names) and ``scores`` (a list, or a grid for a pair). A term of
    ``k`` features uses level ``min(k, levels) - 1`` of each feature's bins. Bin 0 is
    *Missing*; continuous bins are ``[lower, upper)`` (a value equal to a cut belongs to the
    bin above it); the last bin is *Unseen* (a category not seen in training).
    """

    def __init__(self, spec: dict):
        try:
            self.intercept = float(spec["intercept"])
            self.features = {f["name"]: f for f in spec["features"]}
            self.terms = [
                (t["name"], tuple(t["features"]), np.asarray(t["scores"], dtype="float64"))
                for t in spec["terms"]
            ]
        except (KeyError, TypeError) as exc:
            raise TablesError(f"EBM tables: missing or malformed entry ({exc})") from None
        if spec.get("format") != TABLES_FORMAT:
            raise TablesError(
                f"EBM tables: unknown format {spec.get('format')!r} (expected {TABLES_FORMAT})"
            )
        for name, feats, scores in self.terms:
            unknown = [f for f in feats if f not in self.features]
            if unknown or scores.ndim != len(feats) or not 1 <= len(feats) <= 2:
                raise TablesError(f"EBM tables: term {name!r} does not match its features")
            shape = tuple(self._n_bins(f, len(feats)) for f in feats)
            if scores.shape != shape:
                raise TablesError(
                    f"EBM tables: term {name!r} has {scores.shape} scores; its bins need {shape}"
                )
        self.spec = spec

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_ebm(cls, ebm) -> EBMTables:
        """The tables of a fitted ``ExplainableBoostingClassifier`` (binary, logit link)."""
        if getattr(ebm, "link_", "logit") != "logit" or np.ndim(ebm.intercept_) > 1:
            raise TablesError("EBM tables: only a binary classifier with a logit link")
        features = []
        for name, kind, levels in zip(
            ebm.feature_names_in_, ebm.feature_types_in_, ebm.bins_, strict=True
        ):
            if kind == "continuous":
                cuts = [[float(c) for c in np.asarray(level, dtype="float64")] for level in levels]
                features.append({"name": str(name), "type": "continuous", "cuts": cuts})
            elif kind == "nominal":
                cats = [{str(k): int(v) for k, v in level.items()} for level in levels]
                features.append({"name": str(name), "type": "nominal", "categories": cats})
            else:
                raise TablesError(f"EBM tables: feature type {kind!r} of {name!r} is not supported")
        names = [f["name"] for f in features]
        terms = [
            {
                "name": PAIR.join(names[i] for i in idx),
                "features": [names[i] for i in idx],
                "scores": np.asarray(scores, dtype="float64").tolist(),
            }
            for idx, scores in zip(ebm.term_features_, ebm.term_scores_, strict=True)
        ]
        intercept = float(np.asarray(ebm.intercept_, dtype="float64").reshape(-1)[0])
        return cls(
            {
                "format": TABLES_FORMAT,
                "link": "logit",
                "intercept": intercept,
                "features": features,
                "terms": terms,
            }
        )

    # ------------------------------------------------------------------ bins
    def _level(self, feature: str, n_term_features: int):
        f = self.features[feature]
        levels = f["cuts"] if f["type"] == "continuous" else f["categories"]
        return levels[min(len(levels), n_term_features) - 1]

    def _n_bins(self, feature: str, n_term_features: int) -> int:
        level = self._level(feature, n_term_features)
        if self.features[feature]["type"] == "continuous":
            return len(level) + 3  # Missing, len + 1 intervals, Unseen
        return (max(level.values()) if level else 0) + 2  # Missing, categories, Unseen

    def bin_index(self, column: pd.Series | np.ndarray, feature: str, n_term_features: int = 1):
        """The bin of each value (0 Missing, last Unseen) at the level a term of
        ``n_term_features`` features uses."""
        level = self._level(feature, n_term_features)
        n_bins = self._n_bins(feature, n_term_features)
        if self.features[feature]["type"] == "continuous":
            values = _as_float(column)
            index = np.searchsorted(np.asarray(level, dtype="float64"), values, side="right") + 1
            index[np.isnan(values)] = 0
            return index
        values = pd.Series(column).astype(object)
        missing = values.isna().to_numpy()
        text = values.map(_category_text, na_action="ignore")
        codes = pd.Index(list(level), dtype=object).get_indexer(text)  # -1: not a category
        lookup = np.append(np.fromiter(level.values(), dtype="int64", count=len(level)), n_bins - 1)
        index = lookup[codes]  # code -1 -> the Unseen bin (the lookup's last entry)
        index[missing] = 0
        return index

    # ------------------------------------------------------------------ scoring
    def raw_and_contributions(self, X: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
        """Log-odds of default and each term's contribution (columns: the terms, then
        ``intercept``); a row's contributions sum to its log-odds. The sum runs in
        InterpretML's order (intercept, then the terms), so it is identical to
        ``decision_function``."""
        n = len(X)
        index = X.index if isinstance(X, pd.DataFrame) else None
        cache: dict[tuple[str, int], np.ndarray] = {}

        def bins(feature: str, k: int) -> np.ndarray:
            key = (feature, min(k, self._n_levels(feature)))
            if key not in cache:
                cache[key] = self.bin_index(_column(X, feature), feature, k)
            return cache[key]

        raw = np.full(n, self.intercept, dtype="float64")
        values = np.empty((n, len(self.terms) + 1), dtype="float64")
        for j, (_, feats, scores) in enumerate(self.terms):
            looked_up = scores[tuple(bins(f, len(feats)) for f in feats)]
            values[:, j] = looked_up
            raw += looked_up
        values[:, -1] = self.intercept
        columns = [name for name, _, _ in self.terms] + ["intercept"]
        return raw, pd.DataFrame(values, index=index, columns=columns)

    def _n_levels(self, feature: str) -> int:
        f = self.features[feature]
        return len(f["cuts"] if f["type"] == "continuous" else f["categories"])

    def raw_score(self, X: pd.DataFrame) -> np.ndarray:
        """Log-odds of default (the intercept plus every term's looked-up score)."""
        return self.raw_and_contributions(X)[0]

    def predict_pd(self, X: pd.DataFrame) -> np.ndarray:
        return detmath.expit(self.raw_score(X))

    @property
    def feature_names(self) -> list[str]:
        return list(self.features)

    @property
    def term_names(self) -> list[str]:
        return [name for name, _, _ in self.terms]

    def term_features(self) -> dict[str, tuple[str, ...]]:
        return {name: feats for name, feats, _ in self.terms}

    # ------------------------------------------------------------------ readable forms
    def bin_labels(self, feature: str, n_term_features: int = 1) -> list[str]:
        """A label per bin: Missing, the intervals or categories, Unseen."""
        level = self._level(feature, n_term_features)
        if self.features[feature]["type"] == "continuous":
            edges = [-math.inf, *level, math.inf]
            middle = [f"[{_num(lo)}, {_num(hi)})" for lo, hi in zip(edges, edges[1:], strict=False)]
        else:
            groups: dict[int, list[str]] = {}
            for cat, b in level.items():
                groups.setdefault(b, []).append(cat)
            n = self._n_bins(feature, n_term_features) - 2
            middle = [", ".join(groups.get(b, [])) or "(none)" for b in range(1, n + 1)]
        return [MISSING, *middle, UNSEEN]

    def table(self) -> pd.DataFrame:
        """Every cell of every term, long form: ``term, feature_1, bin_1, feature_2, bin_2,
        score`` (log-odds of default added by that cell)."""
        rows = []
        for name, feats, scores in self.terms:
            labels = [self.bin_labels(f, len(feats)) for f in feats]
            for cell in np.ndindex(scores.shape):
                rows.append(
                    {
                        "term": name,
                        "feature_1": feats[0],
                        "bin_1": labels[0][cell[0]],
                        "feature_2": feats[1] if len(feats) == 2 else "",
                        "bin_2": labels[1][cell[1]] if len(feats) == 2 else "",
                        "score": float(scores[cell]),
                    }
                )
        return pd.DataFrame(
            rows, columns=["term", "feature_1", "bin_1", "feature_2", "bin_2", "score"]
        )

    def importance(self, X: pd.DataFrame) -> pd.DataFrame:
        """Mean absolute contribution of each term on ``X`` (InterpretML's term importance)."""
        _, contrib = self.raw_and_contributions(X)
        values = contrib.drop(columns="intercept").abs().mean()
        return (
            values.rename_axis("term")
            .reset_index(name="mean_abs_score")
            .sort_values("mean_abs_score", ascending=False, kind="stable", ignore_index=True)
        )

    def _runs(self, feature: str, k: int, keys: list) -> list[list[int]]:
        """Bins grouped for display: adjacent numeric intervals with equal ``keys`` (rounded
        scores) form one group; Missing, Unseen and categories stay alone."""
        groups: list[list[int]] = []
        continuous = self.features[feature]["type"] == "continuous"
        last = len(keys) - 1
        for i in range(len(keys)):
            interval = continuous and 0 < i < last
            if (
                interval
                and groups
                and 0 < groups[-1][-1] < last
                and keys[groups[-1][-1]] == keys[i]
            ):
                groups[-1].append(i)
            else:
                groups.append([i])
        return groups

    def _group_label(self, feature: str, k: int, group: list[int]) -> str:
        labels = self.bin_labels(feature, k)
        if len(group) == 1:
            return labels[group[0]]
        first, last = labels[group[0]], labels[group[-1]]
        return first.split(",")[0] + "," + last.split(",", 1)[1]

    def markdown(self, descriptions: dict[str, str], importance: pd.DataFrame | None = None) -> str:
        """The model as an auditor reads it: how a PD is computed, then every main term's bins
        and scores, then every pair's grid (scores in log-odds of default, 4 decimals; the JSON
        holds the exact values)."""
        lines = [
            "# Glass-box model (Explainable Boosting Machine)",
            "",
            f"Log-odds of default = intercept ({self.intercept:.4f}) + the score of the bin each "
            "feature falls in + the score of the cell each pair of features falls in. "
            "PD = 1 / (1 + exp(-log-odds)). A positive score raises the PD.",
            "",
            "Numeric bins are `[lower, upper)`: a value equal to a bin's lower edge belongs to "
            "that bin. An empty value takes the *Missing* score; a category not seen in training "
            "takes the *Unseen* score. Scores below are rounded to 4 decimals; `ebm.json` holds "
            "the exact values the model uses.",
            "",
        ]
        if importance is not None:
            lines += ["## Terms by importance (mean |score| on the training rows)", ""]
            lines += ["| term | mean abs score |", "|---|---:|"]
            for row in importance.itertuples(index=False):
                lines.append(f"| `{row.term}` | {row.mean_abs_score:.4f} |")
            lines.append("")
        for name, feats, scores in self.terms:
            if len(feats) != 1:
                continue
            lines += [f"## `{name}`", "", descriptions.get(name, ""), ""]
            lines += ["| bin | score |", "|---|---:|"]
            rounded = [f"{v:+.4f}" for v in scores]
            for group in self._runs(name, 1, rounded):
                lines.append(f"| {_md(self._group_label(name, 1, group))} | {rounded[group[0]]} |")
            lines.append("")
        for _, feats, scores in self.terms:
            if len(feats) != 2:
                continue
            cells = np.vectorize(lambda v: f"{v:+.4f}", otypes=[object])(scores)
            rows = self._runs(feats[0], 2, [tuple(r) for r in cells])
            cols = self._runs(
                feats[1], 2, [tuple(cells[[g[0] for g in rows], j]) for j in range(cells.shape[1])]
            )
            lines += [
                f"## Pair `{feats[0]}` x `{feats[1]}`",
                "",
                f"Rows: `{feats[0]}`; columns: `{feats[1]}`.",
                "",
                "| | " + " | ".join(_md(self._group_label(feats[1], 2, g)) for g in cols) + " |",
                "|---|" + "---:|" * len(cols),
            ]
            for g in rows:
                row = " | ".join(cells[g[0], c[0]] for c in cols)
                lines.append(f"| {_md(self._group_label(feats[0], 2, g))} | {row} |")
            lines.append("")
        return "\n".join(lines)


class EBMModel(ClassifierMixin, BaseEstimator):
    """Glass-box PD model: an InterpretML EBM with pairwise interactions, scored from its tables.

    ``monotone`` maps feature -> +1 (risk rises with the value), -1 or 0 (from the catalogue);
    categorical features (pandas ``category``, ``object`` or string columns) are nominal and
    unconstrained. ``interactions`` pairs are chosen among the unconstrained features (see the
    module note). ``outer_bags`` models, each with early stopping on its own
    ``validation_size`` share, are averaged into one set of tables. Training is deterministic for
    a given ``random_state`` (whatever ``n_jobs``). No calibrator: the boosting minimises log
    loss with early stopping and the averaged model's PDs are already calibrated (ECE measured
    in the evaluate stage, next to the PD model's).
    """

    _parameter_constraints: dict = {
        "monotone": [dict, None],
        "interactions": [Interval(Integral, 0, None, closed="left")],
        "outer_bags": [Interval(Integral, 1, None, closed="left")],
        "max_bins": [Interval(Integral, 3, None, closed="left")],
        "max_interaction_bins": [Interval(Integral, 3, None, closed="left")],
        "learning_rate": [Interval(Real, 0, 1, closed="right")],
        "max_rounds": [Interval(Integral, 1, None, closed="left")],
        "early_stopping_rounds": [Interval(Integral, 1, None, closed="left")],
        "min_samples_leaf": [Interval(Integral, 1, None, closed="left")],
        "validation_size": [Interval(Real, 0, 1, closed="neither")],
        "random_state": [Interval(Integral, 0, None, closed="left")],
        "n_jobs": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        monotone: dict[str, int] | None = None,
        interactions: int = 10,
        outer_bags: int = 4,
        max_bins: int = 256,
        max_interaction_bins: int = 32,
        learning_rate: float = 0.015,
        max_rounds: int = 5000,
        early_stopping_rounds: int = 100,
        min_samples_leaf: int = 4,
        validation_size: float = 0.15,
        random_state: int = 42,
        n_jobs: int = 2,
    ):
        self.monotone = monotone
        self.interactions = interactions
        self.outer_bags = outer_bags
        self.max_bins = max_bins
        self.max_interaction_bins = max_interaction_bins
        self.learning_rate = learning_rate
        self.max_rounds = max_rounds
        self.early_stopping_rounds = early_stopping_rounds
        self.min_samples_leaf = min_samples_leaf
        self.validation_size = validation_size
        self.random_state = random_state
        self.n_jobs = n_jobs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # a missing value has its own bin
        tags.classifier_tags.multi_class = False
        return tags

    def _frame(self, X, reset: bool) -> pd.DataFrame:
        """``X`` as a DataFrame with the fitted columns; text and category columns become
        categoricals of strings (the bins' keys)."""
        if not isinstance(X, pd.DataFrame) or not all(isinstance(c, str) for c in X.columns):
            arr = check_array(X, ensure_all_finite="allow-nan", dtype="float64")
            if reset:
                self.n_features_in_ = arr.shape[1]
                self.feature_names_in_ = np.array(
                    [f"x{i}" for i in range(arr.shape[1])], dtype=object
                )
            elif arr.shape[1] != self.n_features_in_:
                raise ValueError(
                    f"X has {arr.shape[1]} features, but {type(self).__name__} is expecting "
                    f"{self.n_features_in_} features as input."
                )
            return pd.DataFrame(arr, columns=list(self.feature_names_in_))
        if reset:
            if X.shape[1] == 0:
                raise ValueError("0 feature(s) (shape=(n, 0)) while a minimum of 1 is required.")
            self.feature_names_in_ = np.array(list(X.columns), dtype=object)
            self.n_features_in_ = X.shape[1]
        else:
            missing = [c for c in self.feature_names_in_ if c not in X.columns]
            if missing:
                raise ValueError(f"X lacks feature(s) the model was fitted on: {missing[:5]}")
        return X[list(self.feature_names_in_)]

    def fit(
        self, X: pd.DataFrame | np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> EBMModel:
        """Fit the EBM (weights, e.g. inferred rejects, enter the boosting), then keep its
        tables: every prediction of this estimator comes from them."""
        from interpret.glassbox import ExplainableBoostingClassifier

        self._validate_params()
        X = self._frame(X, reset=True)
        y01, self.classes_ = binary_target(y)
        if len(y01) != len(X):
            raise ValueError(f"X and y have different lengths: {len(X)} != {len(y01)}")
        if len(X) < 2:
            raise ValueError(f"n_samples={len(X)}: an EBM needs at least 2 rows")
        weight = _weights(sample_weight, len(X))
        if weight is not None and (weight == 0).any():
            # InterpretML refuses a zero weight; a row without weight is a row left out.
            keep = weight > 0
            if not keep.any():
                raise ValueError("sample_weight is zero for every row: nothing to learn from")
            X, y01, weight = X.loc[keep], y01[keep], weight[keep]
            if len(np.unique(y01)) < 2:
                raise ValueError(
                    "y has 1 class only among the rows with a weight > 0: a PD model needs "
                    "goods and defaults"
                )
        names = list(self.feature_names_in_)
        types = ["nominal" if _is_text(X[c]) else "continuous" for c in names]
        monotone = self.monotone or {}
        constraints = [int(monotone.get(c, 0)) for c in names]
        bad = [c for c, t, m in zip(names, types, constraints, strict=True) if t == "nominal" and m]
        if bad:
            raise ValueError(f"a categorical feature cannot be monotone-constrained; got {bad[:3]}")
        self.ebm_ = ExplainableBoostingClassifier(
            feature_names=names,
            feature_types=types,
            max_bins=self.max_bins,
            max_interaction_bins=self.max_interaction_bins,
            interactions=self.interactions,
            outer_bags=self.outer_bags,
            learning_rate=self.learning_rate,
            max_rounds=self.max_rounds,
            early_stopping_rounds=self.early_stopping_rounds,
            min_samples_leaf=self.min_samples_leaf,
            validation_size=self.validation_size,
            monotone_constraints=constraints if any(constraints) else None,
            random_state=self.random_state,
            n_jobs=self.n_jobs,
        )
        with warnings.catch_warnings():
            # InterpretML's note that its plots do not show the Missing bin (the tables do).
            warnings.filterwarnings(
                "ignore", message="Missing values detected", category=UserWarning
            )
            self.ebm_.fit(_text_as_category(X, types), y01, sample_weight=weight)
        self.tables_ = EBMTables.from_ebm(self.ebm_)
        return self

    def raw_score(self, X) -> np.ndarray:
        """Log-odds of default, from the tables."""
        check_is_fitted(self, "tables_")
        return self.tables_.raw_score(self._frame(X, reset=False))

    def decision_function(self, X) -> np.ndarray:
        """Log-odds of default (> 0 exactly when :meth:`predict` says default)."""
        return self.raw_score(X)

    def predict_proba(self, X) -> np.ndarray:
        pd_ = detmath.expit(self.raw_score(X))
        return np.column_stack([1.0 - pd_, pd_])

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self, "tables_")
        return self.classes_[(self.raw_score(X) > 0).astype(int)]

    def raw_and_contributions(self, X) -> tuple[np.ndarray, pd.DataFrame]:
        """Log-odds and each term's exact contribution (terms, then ``intercept``)."""
        check_is_fitted(self, "tables_")
        return self.tables_.raw_and_contributions(self._frame(X, reset=False))

    def contributions(self, X) -> pd.DataFrame:
        return self.raw_and_contributions(X)[1]

    def to_dict(self) -> dict:
        check_is_fitted(self, "tables_")
        return self.tables_.spec

    @classmethod
    def from_tables(cls, spec: dict) -> EBMModel:
        """A fitted model rebuilt from its tables (no pickle, no InterpretML object)."""
        model = cls()
        model.tables_ = EBMTables(spec)
        model.feature_names_in_ = np.array(model.tables_.feature_names, dtype=object)
        model.n_features_in_ = len(model.feature_names_in_)
        model.classes_ = np.array([0, 1])
        return model


# ---------------------------------------------------------------------- helpers
def _is_text(column: pd.Series) -> bool:
    dtype = column.dtype
    return (
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
    )


def _category_text(value) -> str:
    """A category as the text key of the bins (what InterpretML does with a category)."""
    return value if isinstance(value, str) else str(value)


def _text_as_category(X: pd.DataFrame, types: list[str]) -> pd.DataFrame:
    """Nominal columns as categoricals of strings, so that the keys the EBM learns are the
    keys :meth:`EBMTables.bin_index` looks up."""
    out = X.copy()
    for c, t in zip(X.columns, types, strict=True):
        if t == "nominal":
            col = X[c].astype(object)
            text = col.where(col.isna(), col.map(_category_text, na_action="ignore"))
            out[c] = pd.Categorical(text.where(text.notna(), None))
    return out


def _as_float(column) -> np.ndarray:
    if isinstance(column, pd.Series):
        return column.to_numpy(dtype="float64", na_value=np.nan)
    return np.asarray(column, dtype="float64")


def _column(X, feature: str):
    return X[feature]


def _num(x: float) -> str:
    if math.isinf(x):
        return "-inf" if x < 0 else "inf"
    return f"{x:.6g}"


def _md(text: str) -> str:
    return str(text).replace("|", "\\|")
