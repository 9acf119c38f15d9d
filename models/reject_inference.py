"""Reject inference: give the rejected applicants an outcome and train on everyone who applied.

A lender observes outcomes only for the applicants it accepted, so a model fitted on the accepts
learns the risk of accepted applicants, not of the through-the-door population it will score.
Reject inference scores the rejects with that accepts-only model, turns the scores into inferred
outcomes and refits on accepts plus rejects. The methods (formulas and references in
``docs/reject_inference.md``):

- ``none``: the accepts only (the baseline every other method is compared with);
- ``hard_cutoff``: the rejects with the highest accepts-only PD are labelled bad, the others
  good. By default the number labelled bad is ``round(factor * sum(pd))``, i.e. the bads the
  accepts-only model expects among the rejects, times ``factor``; with ``cutoff`` set, a reject
  is bad when its PD is above ``cutoff`` instead;
- ``fuzzy``: each reject enters twice, as bad with weight ``p`` and as good with weight
  ``1 - p``, where ``p = min(1, factor * pd)``;
- ``parcelling``: the accepts are cut into ``n_bands`` equal-count bands of their accepts-only
  PD; in each band ``round(min(1, factor * r) * n)`` of the band's ``n`` rejects, drawn at
  random with ``random_state``, are labelled bad, ``r`` being the band's observed accept bad rate.

Every reject row carries ``weight`` times the reject's own sample weight (fuzzy splits it
between the reject's two rows); accepts keep their sample weight. Which rejects are labelled
bad counts rows, not weights. ``factor`` (>= 1 in practice) encodes the judgement that a reject
is riskier than an accept with the same score; with ``factor=1`` the methods only restate the
accepts-only model. Nothing here knows which model produced the PDs: :func:`augment` takes them
as an input, and :class:`RejectInferenceClassifier` wires it to any scikit-learn classifier.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Literal, NamedTuple

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.utils import get_tags
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    has_fit_parameter,
    validate_data,
)

from features.config import settings
from models.pd_model import binary_target

__all__ = [
    "ACCEPT",
    "METHODS",
    "REJECT",
    "Augmented",
    "RejectInference",
    "RejectInferenceClassifier",
    "augment",
    "hard_cutoff_labels",
    "parcel_bands",
]

METHODS = ("none", "hard_cutoff", "fuzzy", "parcelling")
ACCEPT = "accept"
REJECT = "reject"


def _real(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


@settings
class RejectInference:
    """Which reject inference method to use, and its parameters (validated once, here).

    ``weight`` is the weight of one reject relative to an accept of weight 1; ``factor``
    multiplies the rejects' inferred bad rate (all methods but ``none``); ``n_bands`` is used by
    ``parcelling``, ``cutoff`` (a PD, or None for the expected-bads rule) by ``hard_cutoff``.
    Parameters a method does not use are ignored.
    """

    method: Literal["none", "hard_cutoff", "fuzzy", "parcelling"] = "fuzzy"
    weight: float = 1.0
    factor: float = 1.0
    n_bands: int = 10
    cutoff: float | None = None

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}; got {self.method!r}")
        if not (_real(self.weight) and self.weight > 0):
            raise ValueError(f"weight must be a finite number > 0; got {self.weight!r}")
        if not (_real(self.factor) and self.factor > 0):
            raise ValueError(f"factor must be a finite number > 0; got {self.factor!r}")
        if not (isinstance(self.n_bands, Integral) and not isinstance(self.n_bands, bool)) or (
            self.n_bands < 1
        ):
            raise ValueError(f"n_bands must be an integer >= 1; got {self.n_bands!r}")
        if self.cutoff is not None and not (_real(self.cutoff) and 0 <= self.cutoff <= 1):
            raise ValueError(f"cutoff must be None or a PD in [0, 1]; got {self.cutoff!r}")


class Augmented(NamedTuple):
    """Training data after reject inference: accepts first, then the reject rows."""

    X: pd.DataFrame | np.ndarray
    y: np.ndarray  # 0/1 default flags (int64)
    sample_weight: np.ndarray  # float64, >= 0
    origin: np.ndarray  # ACCEPT or REJECT per row


def augment(
    X_accepts: pd.DataFrame | np.ndarray,
    y_accepts: np.ndarray,
    X_rejects: pd.DataFrame | np.ndarray,
    pd_rejects: np.ndarray,
    config: RejectInference,
    *,
    pd_accepts: np.ndarray | None = None,
    sample_weight_accepts: np.ndarray | None = None,
    sample_weight_rejects: np.ndarray | None = None,
    random_state: int = 0,
) -> Augmented:
    """The accepts plus the rejects with inferred outcomes and weights, as ``config`` says.

    ``pd_rejects`` (and, for parcelling, ``pd_accepts``) are the accepts-only model's PDs.
    DataFrames keep their columns, dtypes and index (a fuzzy reject's two rows share its index
    label); categorical columns get the union of both sides' categories. ``none`` returns a copy
    of the accepts. The result is the same, to the byte, for the same inputs and
    ``random_state`` (only parcelling draws random numbers).
    """
    if not isinstance(config, RejectInference):
        raise TypeError(f"config must be a RejectInference; got {type(config).__name__}")
    if not (isinstance(random_state, Integral) and not isinstance(random_state, bool)):
        raise ValueError(f"random_state must be an integer seed; got {random_state!r}")
    X_rejects = _aligned_rejects(X_accepts, X_rejects)
    n_a, n_r = len(X_accepts), len(X_rejects)
    y = _flags(y_accepts, n_a)
    w_a = _weights(sample_weight_accepts, n_a, "sample_weight_accepts")
    w_r = config.weight * _weights(sample_weight_rejects, n_r, "sample_weight_rejects")
    p = _probabilities(pd_rejects, n_r, "pd_rejects")
    if config.method == "none":
        return Augmented(X_accepts.copy(), y, w_a, np.full(n_a, ACCEPT))
    if config.method == "fuzzy":
        q = np.minimum(1.0, config.factor * p)
        ones, zeros = np.ones(n_r, dtype="int64"), np.zeros(n_r, dtype="int64")
        return _join(
            X_accepts, y, w_a, [(X_rejects, ones, w_r * q), (X_rejects, zeros, w_r * (1 - q))]
        )
    if config.method == "hard_cutoff":
        bad = hard_cutoff_labels(p, config.factor, config.cutoff)
    else:
        if pd_accepts is None:
            raise ValueError(
                "parcelling needs pd_accepts: the accepts-only model's PD of the accepts"
            )
        p_a = _probabilities(pd_accepts, n_a, "pd_accepts")
        bad = _parcel_labels(p_a, y, w_a, p, config, np.random.default_rng(random_state))
    return _join(X_accepts, y, w_a, [(X_rejects, bad, w_r)])


def hard_cutoff_labels(
    pd_rejects: np.ndarray, factor: float = 1.0, cutoff: float | None = None
) -> np.ndarray:
    """0/1 labels of the rejects for hard-cutoff augmentation.

    With ``cutoff`` None, the ``k = min(n, round(factor * sum(pd)))`` rejects with the highest
    PD are bad (halves round up; ties in PD go to the earlier row), so the inferred bad rate of
    the rejects is the accepts-only model's mean PD on them times ``factor``. With a ``cutoff``,
    the rejects with PD above it are bad.
    """
    p = np.asarray(pd_rejects, dtype="float64")
    if cutoff is not None:
        return (p > cutoff).astype("int64")
    k = min(len(p), math.floor(factor * float(p.sum()) + 0.5))
    bad = np.zeros(len(p), dtype="int64")
    bad[np.argsort(-p, kind="stable")[:k]] = 1
    return bad


def parcel_bands(
    pd_accepts: np.ndarray,
    y_accepts: np.ndarray,
    n_bands: int,
    sample_weight: np.ndarray | None = None,
) -> pd.DataFrame:
    """Parcelling's PD bands and each band's observed accept bad rate (weighted).

    The inner edges are the accepts' PD quantiles at ``1/n_bands, ..., (n_bands-1)/n_bands``
    (observed values, duplicates merged), so every band holds accepts; a PD ``x`` falls in the
    band with ``lower <= x < upper``. Accepts of weight 0 are left out.
    """
    p = np.asarray(pd_accepts, dtype="float64")
    y = np.asarray(y_accepts, dtype="float64")
    w = np.ones(len(p)) if sample_weight is None else np.asarray(sample_weight, dtype="float64")
    keep = w > 0
    if not keep.any():
        raise ValueError("parcelling needs accepts of positive weight; got none")
    p, y, w = p[keep], y[keep], w[keep]
    q = np.arange(1, n_bands) / n_bands
    inner = np.unique(np.quantile(p, q, method="inverted_cdf")) if n_bands > 1 else np.empty(0)
    inner = inner[inner > p.min()]
    band = np.searchsorted(inner, p, side="right")
    n_b = len(inner) + 1
    return pd.DataFrame(
        {
            "lower": np.r_[-np.inf, inner],
            "upper": np.r_[inner, np.inf],
            "n_accepts": np.bincount(band, minlength=n_b),
            "bad_rate": np.bincount(band, w * y, n_b) / np.bincount(band, w, n_b),
        }
    )


def _parcel_labels(
    p_a, y, w_a, p_r, config: RejectInference, rng: np.random.Generator
) -> np.ndarray:
    bands = parcel_bands(p_a, y, config.n_bands, w_a)
    band = np.searchsorted(bands["upper"].to_numpy()[:-1], p_r, side="right")
    rate = np.minimum(1.0, config.factor * bands["bad_rate"].to_numpy())
    bad = np.zeros(len(p_r), dtype="int64")
    for b in range(len(bands)):
        rows = np.flatnonzero(band == b)
        k = math.floor(rate[b] * len(rows) + 0.5)
        bad[rng.permutation(rows)[:k]] = 1
    return bad


# ---------------------------------------------------------------------------- input checks
def _aligned_rejects(X_accepts, X_rejects):
    """``X_rejects`` with the accepts' column order; refuses a different kind or columns."""
    if isinstance(X_accepts, pd.DataFrame):
        if not isinstance(X_rejects, pd.DataFrame):
            raise TypeError(
                f"X_rejects must be a DataFrame like X_accepts; got {type(X_rejects).__name__}"
            )
        if set(X_rejects.columns) != set(X_accepts.columns) or X_rejects.columns.has_duplicates:
            raise ValueError(
                "X_rejects must have the columns of X_accepts; got "
                f"missing {sorted(map(str, set(X_accepts.columns) - set(X_rejects.columns)))}, "
                f"extra {sorted(map(str, set(X_rejects.columns) - set(X_accepts.columns)))}"
            )
        for c in X_accepts.columns:
            a, r = X_accepts[c].dtype, X_rejects[c].dtype
            if isinstance(a, pd.CategoricalDtype) != isinstance(r, pd.CategoricalDtype):
                raise TypeError(f"column {c!r} must be categorical on both sides; got {a} and {r}")
        return X_rejects[list(X_accepts.columns)]
    if not isinstance(X_accepts, np.ndarray) or not isinstance(X_rejects, np.ndarray):
        raise TypeError(
            "X_accepts and X_rejects must both be DataFrames or both numpy arrays; got "
            f"{type(X_accepts).__name__} and {type(X_rejects).__name__}"
        )
    if X_accepts.ndim != 2 or X_rejects.ndim != 2 or X_accepts.shape[1] != X_rejects.shape[1]:
        raise ValueError(
            "X_accepts and X_rejects must be 2-D with the same number of columns; got shapes "
            f"{X_accepts.shape} and {X_rejects.shape}"
        )
    return X_rejects


def _flags(y, n: int) -> np.ndarray:
    y = np.asarray(y)
    if y.shape != (n,):
        raise ValueError(f"y_accepts must be 1-D with one flag per accept ({n}); got {y.shape}")
    if y.dtype.kind not in "biuf" or not np.isin(y, (0, 1)).all():
        raise ValueError(f"y_accepts must hold 0/1 default flags; got values {np.unique(y)[:5]}")
    return y.astype("int64")


def _weights(w, n: int, name: str) -> np.ndarray:
    if w is None:
        return np.ones(n)
    w = np.asarray(w, dtype="float64")
    if w.shape != (n,):
        raise ValueError(f"{name} must be 1-D with one weight per row ({n}); got {w.shape}")
    if not (np.isfinite(w).all() and (w >= 0).all()):
        raise ValueError(f"{name} must be finite and >= 0; got min {w.min() if n else None}")
    return w


def _probabilities(p, n: int, name: str) -> np.ndarray:
    p = np.asarray(p, dtype="float64")
    if p.shape != (n,):
        raise ValueError(f"{name} must be 1-D with one PD per row ({n}); got {p.shape}")
    if not (np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all()):
        raise ValueError(f"{name} must be PDs in [0, 1]; got values outside it or NaN")
    return p


def _join(X_accepts, y, w_a, parts) -> Augmented:
    """Stack the accepts and the reject parts ``(X, y, weight)``; categories are merged."""
    frames = [X_accepts, *(X for X, _, _ in parts)]
    if isinstance(X_accepts, pd.DataFrame):
        dtypes = {}
        for c in X_accepts.columns:
            if isinstance(X_accepts[c].dtype, pd.CategoricalDtype):
                cats = [f[c].dtype.categories for f in frames]
                union = cats[0].append(list(cats[1:])).unique()
                dtypes[c] = pd.CategoricalDtype(union, ordered=X_accepts[c].dtype.ordered)
        X = pd.concat([f.astype(dtypes) if dtypes else f for f in frames])
    else:
        X = np.concatenate(frames, axis=0)
    n_r = sum(len(yr) for _, yr, _ in parts)
    return Augmented(
        X,
        np.concatenate([y, *(yr for _, yr, _ in parts)]),
        np.concatenate([w_a, *(wr for _, _, wr in parts)]),
        np.r_[np.full(len(y), ACCEPT), np.full(n_r, REJECT)],
    )


# ---------------------------------------------------------------------------- estimator
_DEFAULT = RejectInference()


class RejectInferenceClassifier(ClassifierMixin, BaseEstimator):
    """Any probabilistic classifier trained with reject inference.

    ``fit(X, y)`` takes everyone who applied: ``y`` holds the outcome of the accepts (two
    classes; the second sorted one is "default") and NaN or -1 for the rejects (-1 marks an
    unlabelled row as in scikit-learn's semi-supervised estimators, so it cannot be a class).
    It fits a clone of ``estimator`` on the accepts (``accepts_model_``), scores the rejects
    with it, builds the augmented sample with :func:`augment` and fits another clone on that
    (``estimator_``; the accepts-only model itself for ``none`` or when there are no rejects).
    ``estimator`` must accept ``sample_weight`` (None: a logistic regression). DataFrames reach
    the estimator as they are (column names, categories). ``reject_bad_share_`` is the weighted
    share of the reject rows labelled bad: the inferred bad rate of the rejects.
    """

    def __init__(
        self,
        estimator: BaseEstimator | None = None,
        method: str = _DEFAULT.method,
        weight: float = _DEFAULT.weight,
        factor: float = _DEFAULT.factor,
        n_bands: int = _DEFAULT.n_bands,
        cutoff: float | None = _DEFAULT.cutoff,
        random_state: int = 0,
    ):
        self.estimator = estimator
        self.method = method
        self.weight = weight
        self.factor = factor
        self.n_bands = n_bands
        self.cutoff = cutoff
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = get_tags(self._base()).input_tags.allow_nan
        tags.classifier_tags.multi_class = False
        return tags

    def _base(self) -> BaseEstimator:
        return LogisticRegression() if self.estimator is None else self.estimator

    def _features(self, X, reset: bool):
        """A DataFrame as given (names and count checked); anything else as a checked array."""
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=reset, skip_check_array=True)
            return X
        allow_nan = get_tags(self._base()).input_tags.allow_nan
        return validate_data(
            self, X, reset=reset, ensure_all_finite="allow-nan" if allow_nan else True
        )

    def fit(self, X, y, sample_weight=None) -> RejectInferenceClassifier:
        """Fit on accepts, infer the rejects' outcomes, refit on both."""
        config = RejectInference(
            method=self.method,
            weight=self.weight,
            factor=self.factor,
            n_bands=self.n_bands,
            cutoff=self.cutoff,
        )
        X = self._features(X, reset=True)
        if y is None:
            raise ValueError("requires y to be passed, but the target y is None")
        y = column_or_1d(y, warn=True)
        if len(y) != len(X):
            raise ValueError(f"X and y have different lengths: {len(X)} != {len(y)}")
        rejected = _unlabelled(y)
        y01, self.classes_ = binary_target(y[~rejected])
        weights = None if sample_weight is None else _check_sample_weight(sample_weight, X)
        base = self._base()
        needs_weights = weights is not None or (config.method != "none" and rejected.any())
        if needs_weights and not has_fit_parameter(base, "sample_weight"):
            raise TypeError(
                f"estimator must accept sample_weight in fit; got {type(base).__name__}"
            )
        X_a, X_r = _rows(X, ~rejected), _rows(X, rejected)
        w_a = None if weights is None else weights[~rejected]
        fit_weights = {} if w_a is None else {"sample_weight": w_a}
        self.accepts_model_ = clone(base).fit(X_a, y01, **fit_weights)
        self.n_rejects_ = int(rejected.sum())
        self.reject_bad_share_ = float("nan")
        if config.method == "none" or self.n_rejects_ == 0:
            self.estimator_ = self.accepts_model_
            return self
        data = augment(
            X_a,
            y01,
            X_r,
            _default_proba(self.accepts_model_, X_r),
            config,
            pd_accepts=_default_proba(self.accepts_model_, X_a)
            if config.method == "parcelling"
            else None,
            sample_weight_accepts=w_a,
            sample_weight_rejects=None if weights is None else weights[rejected],
            random_state=self.random_state,
        )
        self.estimator_ = clone(base).fit(data.X, data.y, sample_weight=data.sample_weight)
        on_reject = data.origin == REJECT
        total = data.sample_weight[on_reject].sum()
        if total > 0:
            self.reject_bad_share_ = float(
                (data.sample_weight[on_reject] * data.y[on_reject]).sum() / total
            )
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Probabilities of ``classes_`` (the second column is the PD)."""
        check_is_fitted(self, "estimator_")
        pd_ = _default_proba(self.estimator_, self._features(X, reset=False))
        return np.column_stack([1.0 - pd_, pd_])

    def predict(self, X) -> np.ndarray:
        proba = self.predict_proba(X)[:, 1]
        return self.classes_[(proba > 0.5).astype(int)]


def _unlabelled(y: np.ndarray) -> np.ndarray:
    """True for the rejects: NaN/None or -1 in ``y``."""
    missing = np.asarray(pd.isna(y), dtype=bool)
    if y.dtype.kind in "iuf":
        return missing | (y == -1)
    if y.dtype == object:
        return missing | np.array([_is_minus_one(v) for v in y], dtype=bool)
    return missing


def _is_minus_one(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and value == -1


def _rows(X, mask: np.ndarray):
    return X.iloc[np.flatnonzero(mask)] if isinstance(X, pd.DataFrame) else X[mask]


def _default_proba(model, X) -> np.ndarray:
    """The fitted 0/1 model's probability of class 1 (default)."""
    if len(X) == 0:
        return np.empty(0)
    column = list(model.classes_).index(1)
    return np.asarray(model.predict_proba(X)[:, column], dtype="float64")
