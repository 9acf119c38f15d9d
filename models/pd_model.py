"""The probability-of-default model: monotone LightGBM plus a calibrator fitted on validation."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from models.calibration import Calibrator


class PDModel(ClassifierMixin, BaseEstimator):
    """Gradient-boosted PD model.

    ``monotone`` maps feature -> +1 (risk rises with the value), -1 or 0 (from the catalogue).
    Categorical features must arrive as pandas ``category`` columns. Training is deterministic
    for a given ``random_state`` and ``n_jobs`` (two fits give the identical model string).
    """

    def __init__(
        self,
        monotone: dict[str, int] | None = None,
        n_estimators: int = 1000,
        learning_rate: float = 0.03,
        num_leaves: int = 15,
        max_depth: int = -1,
        min_child_samples: int = 50,
        min_child_share: float = 0.02,
        subsample: float = 0.8,
        colsample_bytree: float = 0.5,
        reg_lambda: float = 5.0,
        early_stopping_rounds: int = 100,
        calibration: str = "platt",
        random_state: int = 42,
        n_jobs: int = 2,
    ):
        self.monotone = monotone
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.min_child_samples = min_child_samples
        self.min_child_share = min_child_share
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.early_stopping_rounds = early_stopping_rounds
        self.calibration = calibration
        self.random_state = random_state
        self.n_jobs = n_jobs

    def min_data_in_leaf(self, n_rows: int) -> int:
        """``min_child_samples``, capped at ``min_child_share`` of the rows (at least 20), so
        that a setting sized for large data still lets trees grow on a small data set."""
        return int(max(20, min(self.min_child_samples, self.min_child_share * n_rows)))

    def lgb_params(self, features: list[str], n_rows: int = 10**9) -> dict:
        monotone = self.monotone or {}
        return {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "max_depth": self.max_depth,
            "min_data_in_leaf": self.min_data_in_leaf(n_rows),
            "bagging_fraction": self.subsample,
            "bagging_freq": 1 if self.subsample < 1 else 0,
            "feature_fraction": self.colsample_bytree,
            "lambda_l2": self.reg_lambda,
            "monotone_constraints": [int(monotone.get(f, 0)) for f in features],
            # "advanced" broke monotonicity in LightGBM 4.7 (tests/models/test_pd_model.py).
            "monotone_constraints_method": "intermediate",
            "seed": self.random_state,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": self.n_jobs,
            "verbosity": -1,
        }

    def fit(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        X_valid: pd.DataFrame | None = None,
        y_valid: np.ndarray | None = None,
    ) -> PDModel:
        """Train with early stopping on the validation set, then calibrate on it."""
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"X must be a pandas DataFrame; got {type(X).__name__}")
        bad = [
            c for c in X.columns if X[c].dtype == object or pd.api.types.is_string_dtype(X[c].dtype)
        ]
        if bad:
            raise TypeError(f"text columns must be pandas 'category' for LightGBM; got {bad}")
        features = list(X.columns)
        y = np.asarray(y, dtype="int64")
        train = lgb.Dataset(X, label=y, free_raw_data=False)
        callbacks = [lgb.log_evaluation(0)]
        valid_sets = []
        if X_valid is not None:
            valid = lgb.Dataset(
                X_valid[features], label=np.asarray(y_valid, dtype="int64"), reference=train
            )
            valid_sets = [valid]
            callbacks.append(lgb.early_stopping(self.early_stopping_rounds, verbose=False))
        self.booster_ = lgb.train(
            self.lgb_params(features, len(X)),
            train,
            num_boost_round=self.n_estimators,
            valid_sets=valid_sets,
            callbacks=callbacks,
        )
        self.best_iteration_ = int(self.booster_.best_iteration or self.booster_.num_trees())
        self.feature_names_in_ = np.array(features, dtype=object)
        self.n_features_in_ = len(features)
        self.classes_ = np.array([0, 1])
        cal_X, cal_y = (X_valid, y_valid) if X_valid is not None else (X, y)
        self.calibrator_ = Calibrator(self.calibration).fit(self.decision_function(cal_X), cal_y)
        return self

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """Raw (uncalibrated) log-odds of default."""
        check_is_fitted(self, "booster_")
        return self.booster_.predict(
            X[list(self.feature_names_in_)], num_iteration=self.best_iteration_, raw_score=True
        )

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        pd_ = self.calibrator_.transform(self.decision_function(X))
        return np.column_stack([1.0 - pd_, pd_])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Exact TreeSHAP contributions on the log-odds scale (LightGBM ``pred_contrib``).

        Columns are the features plus ``bias``; each row sums to :meth:`decision_function`.
        """
        check_is_fitted(self, "booster_")
        values = self.booster_.predict(
            X[list(self.feature_names_in_)], num_iteration=self.best_iteration_, pred_contrib=True
        )
        return pd.DataFrame(values, index=X.index, columns=[*self.feature_names_in_, "bias"])

    def feature_importance(self) -> pd.DataFrame:
        check_is_fitted(self, "booster_")
        return pd.DataFrame(
            {
                "feature": self.feature_names_in_,
                "gain": self.booster_.feature_importance("gain", iteration=self.best_iteration_),
                "splits": self.booster_.feature_importance("split", iteration=self.best_iteration_),
            }
        ).sort_values("gain", ascending=False, ignore_index=True)

    def model_to_string(self) -> str:
        check_is_fitted(self, "booster_")
        return self.booster_.model_to_string(num_iteration=self.best_iteration_)

    @classmethod
    def from_parts(cls, model_str: str, calibrator: dict) -> PDModel:
        """Rebuild a fitted model from its LightGBM text and calibrator JSON (no pickle)."""
        model = cls(calibration=calibrator["method"])
        model.booster_ = lgb.Booster(model_str=model_str)
        model.best_iteration_ = model.booster_.num_trees()
        model.feature_names_in_ = np.array(model.booster_.feature_name(), dtype=object)
        model.n_features_in_ = len(model.feature_names_in_)
        model.classes_ = np.array([0, 1])
        model.calibrator_ = Calibrator.from_dict(calibrator)
        return model
