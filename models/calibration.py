"""Probability calibration of raw model scores (log-odds), serialisable as plain JSON."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from features import detmath

METHODS = ("platt", "isotonic", "none")


class Calibrator(TransformerMixin, BaseEstimator):
    """Map raw log-odds to calibrated PDs: Platt (logistic) or isotonic, fitted on validation.

    ``fit(raw, y)`` takes one raw score per row (a 1-D array or one column) and 0/1 flags;
    :meth:`transform` gives the PD. Its fitted parameters are plain JSON (:meth:`to_dict`).
    """

    _parameter_constraints: dict = {"method": [StrOptions(set(METHODS))]}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.one_d_array = True  # one raw score per row (or one column)
        tags.target_tags.required = True
        return tags

    def __init__(self, method: str = "platt"):
        self.method = method

    def fit(self, raw: np.ndarray, y: np.ndarray, sample_weight=None) -> Calibrator:
        self._validate_params()
        raw = _one_score(raw)
        y = np.asarray(y)
        if raw.shape[0] == 0:
            raise ValueError("0 sample(s) (shape=(0,)) while a minimum of 1 is required")
        if y.shape != raw.shape:
            raise ValueError(f"raw and y must have the same length; got {raw.shape}, {y.shape}")
        if not np.isin(y, (0, 1)).all() or len(np.unique(y)) != 2:
            raise ValueError("y must hold 0/1 default flags of both classes")
        if not np.isfinite(raw).all():
            raise ValueError("Input contains NaN or infinity: raw scores must be finite")
        y = y.astype("int64")
        self.n_features_in_ = 1
        if self.method == "platt":
            lr = LogisticRegression(C=1e6, max_iter=1000).fit(
                raw.reshape(-1, 1), y, sample_weight=sample_weight
            )
            self.params_ = {"a": float(lr.coef_[0, 0]), "b": float(lr.intercept_[0])}
        elif self.method == "isotonic":
            iso = IsotonicRegression(out_of_bounds="clip", y_min=1e-6, y_max=1 - 1e-6).fit(
                raw, y, sample_weight=sample_weight
            )
            self.params_ = {"x": iso.X_thresholds_.tolist(), "y": iso.y_thresholds_.tolist()}
        else:
            self.params_ = {}
        return self

    def transform(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probability of default for raw log-odds."""
        check_is_fitted(self, "params_")
        raw = _one_score(raw)
        if self.method == "platt":
            z = self.params_["a"] * raw + self.params_["b"]
        elif self.method == "isotonic":
            return np.interp(raw, self.params_["x"], self.params_["y"])
        else:
            z = raw
        return detmath.expit(z)

    def to_dict(self) -> dict:
        check_is_fitted(self, "params_")
        return {"method": self.method, "params": self.params_}

    @classmethod
    def from_dict(cls, data: dict) -> Calibrator:
        cal = cls(method=data["method"])
        cal.params_ = dict(data["params"])
        return cal


def _one_score(raw) -> np.ndarray:
    """A 1-D float array of raw scores from a 1-D array or a single column."""
    if hasattr(raw, "toarray") or type(raw).__module__.startswith("scipy.sparse"):
        raise TypeError("sparse input is not supported: pass a dense array of raw scores")
    if np.iscomplexobj(raw):
        raise ValueError("Complex data not supported")
    raw = np.asarray(raw, dtype="float64")
    if raw.ndim == 2 and raw.shape[1] == 1:
        raw = raw[:, 0]
    if raw.ndim != 1:
        raise ValueError(f"a calibrator maps one raw score per row; got shape {raw.shape}")
    return raw
