"""The transparent scorecard: optbinning WoE bins + logistic regression, integer points.

Fitting uses optbinning (``BinningProcess`` for screening by information value, then
``Scorecard`` with PDO scaling). The fitted scorecard is exported as a plain *spec* (bins, WoE,
points) from which anyone can compute a score by hand; :class:`ScorecardSpec` scores from that
spec and is what the rest of the pipeline uses, and tests check it equals optbinning's
``Scorecard.score`` exactly.

Bin rules in the spec: a numeric value ``x`` falls in the bin with ``lower <= x < upper``
(``lower`` empty = minus infinity, ``upper`` empty = plus infinity); an empty value gets the
``missing`` points; a categorical value gets the points of the bin listing it, and a category
never seen in training gets ``unseen`` points (WoE 0, as optbinning does). When special values
are set for a characteristic (``special_codes``), its ``special`` entry lists them (``codes``)
and a value equal to one of them gets the ``special`` points before any bin is looked at.

The reviewer's controls (user-defined bins, forced and excluded characteristics, special values,
a missing-rate filter) are described in :mod:`models.scorecard_controls`; every candidate's
selection decision is recorded in ``selection_``.
"""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from features import detmath
from models import scorecard_controls as ctl
from models.pd_model import _array_frame, binary_target

SPEC_FORMAT = "woe-scorecard/1"


_TREND = {"increasing": "ascending", "decreasing": "descending", "none": "auto"}


class WoEScorecard(ClassifierMixin, BaseEstimator):
    """WoE/logistic scorecard with IV and correlation selection and PDO scaling.

    ``directions`` maps feature -> increasing/decreasing/none (catalogue risk direction), used as
    the monotonic event-rate trend of each numeric feature's bins. ``points`` is the score at
    good:bad ``odds``; :meth:`predict_points` gives each applicant's score.

    Reviewer controls (:mod:`models.scorecard_controls`): ``bins_file`` (user-defined bins),
    ``force`` / ``exclude`` (characteristics that always / never enter), ``special_codes``
    (sentinel values binned on their own) and ``max_missing_rate``. The defaults change nothing.
    ``selection_`` records, for every candidate, whether it entered and why (not).
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # missing values get their own bin
        tags.classifier_tags.multi_class = False
        return tags

    _parameter_constraints: dict = {
        "directions": [dict, None],
        "categorical": [tuple, list],
        "min_iv": [Interval(Real, 0, None, closed="left")],
        "max_features": [Interval(Integral, 1, None, closed="left")],
        "max_correlation": [Interval(Real, 0, 1, closed="right")],
        "max_n_bins": [Interval(Integral, 2, None, closed="left")],
        "min_bin_size": [Interval(Real, 0, 0.5, closed="right")],
        "pdo": [Interval(Real, 0, None, closed="neither")],
        "odds": [Interval(Real, 0, None, closed="neither")],
        "points": [Interval(Real, None, None, closed="neither")],
        "C": [Interval(Real, 0, None, closed="neither")],
        "force": [tuple, list],
        "exclude": [tuple, list],
        "special_codes": [dict, list, tuple, None],
        "bins_file": [str, None],
        "max_missing_rate": [Interval(Real, 0, 1, closed="both")],
    }

    def __init__(
        self,
        directions: dict[str, str] | None = None,
        categorical: tuple[str, ...] = (),
        min_iv: float = 0.02,
        max_features: int = 20,
        max_correlation: float = 0.7,
        max_n_bins: int = 6,
        min_bin_size: float = 0.05,
        pdo: float = 20.0,
        odds: float = 50.0,
        points: float = 600.0,
        C: float = 1.0,
        force: tuple[str, ...] = (),
        exclude: tuple[str, ...] = (),
        special_codes: dict[str, list[float]] | list[float] | None = None,
        bins_file: str | None = "",
        max_missing_rate: float = 1.0,
    ):
        self.directions = directions
        self.categorical = categorical
        self.min_iv = min_iv
        self.max_features = max_features
        self.max_correlation = max_correlation
        self.max_n_bins = max_n_bins
        self.min_bin_size = min_bin_size
        self.pdo = pdo
        self.odds = odds
        self.points = points
        self.C = C
        self.force = force
        self.exclude = exclude
        self.special_codes = special_codes
        self.bins_file = bins_file
        self.max_missing_rate = max_missing_rate

    # ------------------------------------------------------------------ fitting
    def _binning(self, names: list[str], special: dict, user: dict):
        from optbinning import BinningProcess  # heavy import: only when fitting

        directions = self.directions or {}
        cats = [n for n in names if n in set(self.categorical)]
        fit_params = {
            n: {"monotonic_trend": _TREND[directions.get(n, "none")]}
            for n in names
            if n not in cats
        }
        for n in names:  # the reviewer's controls, only where set (defaults: params as before)
            if n in special:
                fit_params[n] = {**fit_params.get(n, {}), "special_codes": special[n]}
            if n in user:
                fit_params[n] = {**fit_params.get(n, {}), **user[n]}
        transform = {
            n: {"metric_missing": "empirical", "metric_special": "empirical"} for n in names
        }
        return BinningProcess(
            variable_names=names,
            categorical_variables=cats or None,
            max_n_bins=self.max_n_bins,
            min_bin_size=self.min_bin_size,
            binning_fit_params=fit_params,
            binning_transform_params=transform,
            n_jobs=1,
        )

    def _controls(self, X: pd.DataFrame, y: np.ndarray) -> tuple[dict, dict]:
        """The controls checked against the data: special codes and user bins by name."""
        names = list(X.columns)
        ctl.check_controls(self.force, self.exclude, self.special_codes)
        ctl.check_names(self.force, names, "force")
        ctl.check_names(self.exclude, names, "exclude")
        if len(self.force) > self.max_features:
            raise ctl.ControlError(
                "force",
                f"must not list more characteristics than max_features ({self.max_features}); "
                f"got {len(self.force)}",
            )
        special = ctl.special_codes_by_name(self.special_codes, names, self.categorical)
        user = {}
        if self.bins_file:
            bins = ctl.read_bins_file(self.bins_file)
            user = ctl.user_binning(bins, X, y, self.categorical, special, self.bins_file)
        return special, user

    def _screen(self, X: pd.DataFrame, special: dict, user: dict) -> dict[str, dict]:
        """Each candidate's statistics, and the decisions that need no regression: excluded,
        too many missing, below min IV (forced ones are exempt)."""
        missing = X.isna().mean()
        record = {}
        for n in self.iv_.index:
            codes = special.get(n)
            record[n] = {
                "decision": None,
                "detail": "",
                "iv": float(self.iv_[n]),
                "missing_rate": float(missing[n]),
                "special_rate": None
                if codes is None
                else float(np.isin(X[n].to_numpy(dtype="float64"), codes).mean()),
                "binning": "user-defined" if n in user else "optimal",
            }
        for n in self.exclude:
            record[n].update(decision=ctl.EXCLUDED, detail="listed in exclude")
        for n, row in record.items():
            if n in self.force or row["decision"]:
                continue
            if row["missing_rate"] > self.max_missing_rate:
                row.update(
                    decision=ctl.TOO_MANY_MISSING,
                    detail=f"missing {row['missing_rate']:.1%} > max_missing_rate "
                    f"{self.max_missing_rate:.1%}",
                )
            elif not row["iv"] >= self.min_iv:
                row.update(
                    decision=ctl.BELOW_MIN_IV, detail=f"IV {row['iv']:.4f} < min_iv {self.min_iv:g}"
                )
        return record

    def _select(
        self, woe: pd.DataFrame, y: np.ndarray, record: dict[str, dict], w: np.ndarray | None
    ) -> list[str]:
        """The characteristics that enter (correlation, max_features, coefficient signs);
        ``record`` gets every decision."""
        forced = set(self.force)
        eligible = [n for n in self.iv_.index if record[n]["decision"] is None]
        # Forced characteristics take their seats first (in IV order), then the others.
        ranked = [n for n in eligible if n in forced] + [n for n in eligible if n not in forced]
        selected, dropped = _decorrelate(
            woe[ranked], ranked, self.max_correlation, self.max_features, forced
        )
        for n, (decision, detail, _) in dropped.items():
            record[n].update(decision=decision, detail=detail)
        if not selected:  # nothing reaches min_iv: keep the single strongest variable
            usable = [
                n
                for n in self.iv_.index
                if record[n]["decision"] not in (ctl.EXCLUDED, ctl.TOO_MANY_MISSING)
            ]
            if not usable:
                raise ctl.ControlError(
                    "exclude",
                    "must leave at least one characteristic to enter; every one is excluded "
                    "or missing more often than max_missing_rate",
                )
            selected = [str(usable[0])]
            record[selected[0]]["detail"] = "the strongest; no other characteristic qualified"
        # Each variable is binned on its own, so the screen's WoE columns are exactly what
        # the scorecard's regression sees: settle the selection on them, then fit once.
        while True:
            lr = LogisticRegression(C=self.C, max_iter=2000)
            coef = lr.fit(woe[selected], y, sample_weight=w).coef_[0]
            # WoE = ln(non-events/events): every coefficient should be negative. A positive
            # one means the variable works against its own bins; drop the weakest such one
            # (never a forced one).
            wrong = [n for n, c in zip(selected, coef, strict=True) if c > 0 and n not in forced]
            if not wrong or len(selected) == 1:
                break
            weakest = min(wrong, key=lambda n: self.iv_[n])
            selected.remove(weakest)
            record[weakest].update(
                decision=ctl.COEFFICIENT_SIGN,
                detail="positive coefficient: works against its own bins",
            )
        for n, (decision, _, blocker) in dropped.items():  # a blocker that left later
            if decision == ctl.TOO_CORRELATED and blocker not in selected:
                record[n]["detail"] += f"; {blocker} itself was dropped later (coefficient sign)"
        for n in selected:
            row = record[n]
            row["decision"] = ctl.FORCED if n in forced else ctl.ENTERED
            if n in forced:  # what forcing overrode, if anything
                notes = ["listed in force"]
                if not row["iv"] >= self.min_iv:
                    notes.append(f"IV {row['iv']:.4f} < min_iv {self.min_iv:g}")
                if row["missing_rate"] > self.max_missing_rate:
                    notes.append(f"missing {row['missing_rate']:.1%} > max_missing_rate")
                row["detail"] = "; ".join(notes)
        return selected

    def fit(self, X: pd.DataFrame, y: np.ndarray, sample_weight=None) -> WoEScorecard:
        self._validate_params()
        y, classes = binary_target(y)
        w = None if sample_weight is None else np.asarray(sample_weight, dtype="float64")
        if not isinstance(X, pd.DataFrame) or not all(isinstance(c, str) for c in X.columns):
            X = _array_frame(self, X, reset=True)
        if len(y) != len(X):
            raise ValueError(f"X and y have different lengths: {len(X)} != {len(y)}")
        X = _as_binnable(X, self.categorical)
        names = list(X.columns)
        special, user = self._controls(X, y)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            screen = self._binning(names, special, user).fit(X, y, sample_weight=w)
            summary = screen.summary().set_index("name")
            self.iv_ = summary["iv"].astype(float).sort_values(ascending=False)
            record = self._screen(X, special, user)
            selected = self._select(screen.transform(X, metric="woe"), y, record, w)
            card = self._scorecard(selected, special, user).fit(X[selected], y, sample_weight=w)
        self.selected_ = selected
        self.selection_ = ctl.selection_frame(record)
        self.scorecard_ = card
        self.spec_ = ScorecardSpec(self._spec(card, selected, special))
        self.classes_ = classes
        self.feature_names_in_ = np.array(names, dtype=object)
        self.n_features_in_ = len(names)
        return self

    def _scorecard(self, names: list[str], special: dict, user: dict):
        from optbinning import Scorecard

        return Scorecard(
            binning_process=self._binning(names, special, user),
            estimator=LogisticRegression(C=self.C, max_iter=2000),
            scaling_method="pdo_odds",
            scaling_method_params={
                "pdo": self.pdo,
                "odds": self.odds,
                "scorecard_points": self.points,
            },
            intercept_based=False,
            rounding=True,
        )

    def _spec(self, card, names: list[str], special_codes: dict[str, list[float]]) -> dict:
        factor = self.pdo / math.log(2)
        offset = self.points - factor * math.log(self.odds)
        table = card.table(style="detailed")
        chars = []
        for name in names:
            rows = table.loc[table["Variable"] == name]
            optb = card.binning_process_.get_binned_variable(name)
            is_cat = optb.dtype == "categorical"
            bins, missing, special = [], None, None
            regular = rows.loc[~rows["Bin"].astype(str).isin(["Special", "Missing"])]
            splits = list(optb.splits) if not is_cat else None
            for i, (_, row) in enumerate(regular.iterrows()):
                entry = {
                    "woe": float(row["WoE"]),
                    "points": int(round(row["Points"])),
                    "count": int(row["Count"]),
                    "event_rate": float(row["Event rate"]),
                }
                if is_cat:
                    entry["categories"] = [str(c) for c in row["Bin"]]
                else:
                    entry["lower"] = float(splits[i - 1]) if i > 0 else None
                    entry["upper"] = float(splits[i]) if i < len(splits) else None
                entry["label"] = str(row["Bin"]) if not is_cat else ", ".join(entry["categories"])
                bins.append(entry)
            for label in ("Missing", "Special"):
                row = rows.loc[rows["Bin"].astype(str) == label].iloc[0]
                item = {
                    "woe": float(row["WoE"]),
                    "points": int(round(row["Points"])),
                    "count": int(row["Count"]),
                }
                if label == "Missing":
                    missing = item
                else:
                    special = item
                    if name in special_codes:  # only then (the spec stays as it was otherwise)
                        item["codes"] = list(special_codes[name])
                        item["event_rate"] = float(row["Event rate"])
            chars.append(
                {
                    "name": name,
                    "type": "categorical" if is_cat else "numerical",
                    "bins": bins,
                    "missing": missing,
                    "special": special,
                    "unseen": {"points": _unseen_points(card, name)} if is_cat else None,
                }
            )
        return {
            "format": SPEC_FORMAT,
            "scaling": {
                "method": "pdo_odds",
                "pdo": self.pdo,
                "odds": self.odds,
                "points": self.points,
                "factor": factor,
                "offset": offset,
            },
            "characteristics": chars,
        }

    # ----------------------------------------------------------------- scoring
    def predict_points(self, X: pd.DataFrame) -> np.ndarray:
        """The scorecard score (sum of points) of each applicant; higher is safer."""
        check_is_fitted(self, "spec_")
        return self.spec_.predict_points(self._frame(X))

    def points_breakdown(self, X: pd.DataFrame) -> pd.DataFrame:
        """Points per characteristic (columns) for each applicant."""
        check_is_fitted(self, "spec_")
        return self.spec_.points_breakdown(self._frame(X))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "spec_")
        p = self.spec_.pd_from_score(self.spec_.predict_points(self._frame(X)))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        proba = self.predict_proba(X)[:, 1]
        return self.classes_[(proba > 0.5).astype(int)]

    def _frame(self, X) -> pd.DataFrame:
        """A DataFrame as given; an array validated and named ``x0, x1, ...`` (as in fit)."""
        check_is_fitted(self, "spec_")
        if isinstance(X, pd.DataFrame) and all(isinstance(c, str) for c in X.columns):
            return X
        return _array_frame(self, X, reset=False)

    def optbinning_score(self, X: pd.DataFrame) -> np.ndarray:
        """optbinning's own ``Scorecard.score`` (the reference the spec must match)."""
        check_is_fitted(self, "scorecard_")
        Xb = _as_binnable(X[self.selected_], self.categorical)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self.scorecard_.score(Xb)

    def table(self) -> pd.DataFrame:
        check_is_fitted(self, "spec_")
        return self.spec_.table()


def _as_binnable(X: pd.DataFrame, categorical: tuple[str, ...]) -> pd.DataFrame:
    """optbinning wants categorical values as plain objects, numbers as float."""
    out = X.copy()
    for c in out.columns:
        if c in set(categorical):
            out[c] = out[c].astype(object).where(out[c].notna(), np.nan)
        else:
            out[c] = out[c].astype("float64")
    return out


def _unseen_points(card, name: str) -> int:
    """Points optbinning gives an unseen category (WoE 0): probe the fitted scorecard."""
    names = card.binning_process_.variable_names
    probe = {n: [np.nan] for n in names}
    probe[name] = ["__unseen_category__"]
    frame = pd.DataFrame(probe)
    for n in names:
        if card.binning_process_.get_binned_variable(n).dtype == "categorical":
            frame[n] = frame[n].astype(object)
    base = {n: [np.nan] for n in names}
    base_frame = pd.DataFrame(base).astype(
        {n: object for n in frame.columns if frame[n].dtype == object}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        diff = card.score(frame)[0] - card.score(base_frame)[0]
    missing_pts = _missing_points(card, name)
    return int(round(diff + missing_pts))


def _missing_points(card, name: str) -> float:
    table = card.table(style="detailed")
    rows = table.loc[(table["Variable"] == name) & (table["Bin"].astype(str) == "Missing")]
    return float(rows["Points"].iloc[0])


def _decorrelate(
    woe: pd.DataFrame,
    ranked: list[str],
    max_corr: float,
    max_features: int,
    forced: set[str] = frozenset(),
) -> tuple[list[str], dict[str, tuple[str, str, str | None]]]:
    """Greedy: keep features in ``ranked`` order unless |corr| with a kept one exceeds
    ``max_corr``; a forced feature is always kept (list them first). Returns the kept features
    and, for each other one, why it was dropped (decision, detail, the kept feature it was too
    correlated with)."""
    corr = woe.corr().abs()
    kept: list[str] = []
    dropped: dict[str, tuple[str, str, str | None]] = {}
    for name in ranked:
        if name in forced:
            kept.append(name)
        elif len(kept) >= max_features:
            dropped[name] = (
                ctl.OVER_MAX_FEATURES,
                f"{max_features} characteristics entered first",
                None,
            )
        elif woe[name].std() == 0:
            dropped[name] = (ctl.NO_VARIATION, "a single bin: the same WoE for every row", None)
        else:
            over = [k for k in kept if not corr.loc[name, k] <= max_corr]
            if not over:
                kept.append(name)
                continue
            worst = max(over, key=lambda k: np.nan_to_num(corr.loc[name, k], nan=np.inf))
            dropped[name] = (
                ctl.TOO_CORRELATED,
                f"too correlated with {worst} (WoE correlation {corr.loc[name, worst]:.2f} > "
                f"{max_corr:g})",
                worst,
            )
    return kept, dropped


def _special_rows(char: dict, x: np.ndarray) -> np.ndarray:
    """Rows whose value is one of the characteristic's special codes (none when unset)."""
    codes = (char.get("special") or {}).get("codes")
    if not codes:
        return np.zeros(len(x), dtype=bool)
    return np.isin(x, np.asarray(codes, dtype="float64"))


class ScorecardSpec:
    """Scores applicants from the exported spec alone (the auditor's arithmetic)."""

    def __init__(self, spec: dict):
        if spec.get("format") != SPEC_FORMAT:
            raise ValueError(f"spec format must be {SPEC_FORMAT!r}; got {spec.get('format')!r}")
        self.spec = spec

    @property
    def names(self) -> list[str]:
        return [c["name"] for c in self.spec["characteristics"]]

    def points_breakdown(self, X: pd.DataFrame) -> pd.DataFrame:
        """Points per characteristic (columns) for each applicant (rows)."""
        out = {}
        for char in self.spec["characteristics"]:
            values = X[char["name"]]
            missing = values.isna().to_numpy()
            pts = np.full(len(values), char["missing"]["points"], dtype="int64")
            if char["type"] == "categorical" and isinstance(values.dtype, pd.CategoricalDtype):
                # Points per category (the last bin naming it wins), then taken by code.
                per_category = np.full(len(values.cat.categories) + 1, char["unseen"]["points"])
                for b in char["bins"]:
                    per_category[:-1][values.cat.categories.isin(b["categories"])] = b["points"]
                per_category[-1] = char["missing"]["points"]
                pts = per_category[values.cat.codes.to_numpy()].astype("int64")
            elif char["type"] == "categorical":
                text = values.astype(object).to_numpy()
                pts[~missing] = char["unseen"]["points"]
                for b in char["bins"]:
                    hit = np.isin(text, b["categories"]) & ~missing
                    pts[hit] = b["points"]
            else:
                x = values.to_numpy(dtype="float64", na_value=np.nan)
                uppers = [b["upper"] for b in char["bins"][:-1]]
                idx = np.searchsorted(np.asarray(uppers, dtype="float64"), x, side="right")
                bin_pts = np.array([b["points"] for b in char["bins"]], dtype="int64")
                pts[~missing] = bin_pts[idx[~missing]]
                special = _special_rows(char, x)
                pts[special] = char["special"]["points"]
            out[char["name"]] = pts
        return pd.DataFrame(out, index=X.index)

    def predict_points(self, X: pd.DataFrame) -> np.ndarray:
        """The score: the sum of each characteristic's points."""
        return self.points_breakdown(X).sum(axis=1).to_numpy(dtype="int64")

    def max_points(self) -> dict[str, int]:
        """The best points each characteristic can give (for points-below-maximum reasons)."""
        out = {}
        for c in self.spec["characteristics"]:
            pts = [b["points"] for b in c["bins"]] + [c["missing"]["points"]]
            if "codes" in (c.get("special") or {}):
                pts.append(c["special"]["points"])
            out[c["name"]] = int(max(pts))
        return out

    def pd_from_score(self, score: np.ndarray) -> np.ndarray:
        """PD implied by the PDO scaling: score = offset + factor * ln(good:bad odds)."""
        s = self.spec["scaling"]
        log_odds_good = (np.asarray(score, dtype="float64") - s["offset"]) / s["factor"]
        return detmath.expit(-log_odds_good)

    def bin_labels(self, X: pd.DataFrame) -> pd.DataFrame:
        """The bin each applicant falls in, per characteristic (for reports)."""
        out = {}
        for char in self.spec["characteristics"]:
            values = X[char["name"]]
            labels = np.full(len(values), "Missing", dtype=object)
            ok = values.notna().to_numpy()
            if char["type"] == "categorical":
                text = values.astype(object).to_numpy()
                labels[ok] = "Unseen category"
                for b in char["bins"]:
                    labels[np.isin(text, b["categories"]) & ok] = b["label"]
            else:
                x = values.to_numpy(dtype="float64", na_value=np.nan)
                uppers = np.asarray([b["upper"] for b in char["bins"][:-1]], dtype="float64")
                idx = np.searchsorted(uppers, x, side="right")
                names = np.array([b["label"] for b in char["bins"]], dtype=object)
                labels[ok] = names[idx[ok]]
                labels[_special_rows(char, x)] = "Special"
            out[char["name"]] = labels
        return pd.DataFrame(out, index=X.index)

    def table(self) -> pd.DataFrame:
        rows = []
        for c in self.spec["characteristics"]:
            for b in c["bins"]:
                rows.append(
                    {
                        "characteristic": c["name"],
                        "bin": b["label"],
                        "woe": b["woe"],
                        "points": b["points"],
                        "count": b["count"],
                        "event_rate": b["event_rate"],
                    }
                )
            rows.append(
                {
                    "characteristic": c["name"],
                    "bin": "Missing",
                    "woe": c["missing"]["woe"],
                    "points": c["missing"]["points"],
                    "count": c["missing"]["count"],
                    "event_rate": np.nan,
                }
            )
            special = c.get("special") or {}
            if "codes" in special:
                rows.append(
                    {
                        "characteristic": c["name"],
                        "bin": "Special",
                        "woe": special["woe"],
                        "points": special["points"],
                        "count": special["count"],
                        "event_rate": special["event_rate"],
                    }
                )
            if c["type"] == "categorical":
                rows.append(
                    {
                        "characteristic": c["name"],
                        "bin": "Unseen category",
                        "woe": 0.0,
                        "points": c["unseen"]["points"],
                        "count": 0,
                        "event_rate": np.nan,
                    }
                )
        return pd.DataFrame(rows)
