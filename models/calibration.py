"""Probability calibration of raw model scores (log-odds), serialisable as plain JSON."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

from models.config import CALIBRATION_METHODS as METHODS


class Calibrator(BaseEstimator):
    """Map raw log-odds to calibrated PDs: Platt (logistic) or isotonic, fitted on validation."""

    def __init__(self, method: str = "platt"):
        self.method = method

    def fit(self, raw: np.ndarray, y: np.ndarray) -> Calibrator:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}; got {self.method!r}")
        raw = np.asarray(raw, dtype="float64")
        y = np.asarray(y, dtype="int64")
        if self.method == "platt":
            lr = LogisticRegression(C=1e6, max_iter=1000).fit(raw.reshape(-1, 1), y)
            self.params_ = {"a": float(lr.coef_[0, 0]), "b": float(lr.intercept_[0])}
        elif self.method == "isotonic":
            iso = IsotonicRegression(out_of_bounds="clip", y_min=1e-6, y_max=1 - 1e-6).fit(raw, y)
            self.params_ = {"x": iso.X_thresholds_.tolist(), "y": iso.y_thresholds_.tolist()}
        else:
            self.params_ = {}
        return self

    def transform(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probability of default for raw log-odds."""
        check_is_fitted(self, "params_")
        raw = np.asarray(raw, dtype="float64")
        if self.method == "platt":
            z = self.params_["a"] * raw + self.params_["b"]
        elif self.method == "isotonic":
            return np.interp(raw, self.params_["x"], self.params_["y"])
        else:
            z = raw
        return 1.0 / (1.0 + np.exp(-z))

    def to_dict(self) -> dict:
        check_is_fitted(self, "params_")
        return {"method": self.method, "params": self.params_}

    @classmethod
    def from_dict(cls, data: dict) -> Calibrator:
        cal = cls(method=data["method"])
        cal.params_ = dict(data["params"])
        return cal
