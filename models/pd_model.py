"""The probability-of-default model: monotone LightGBM plus a calibrator fitted on validation."""

from __future__ import annotations

from numbers import Integral, Real

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import assert_all_finite
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d

from models.calibration import METHODS, Calibrator
from models.treeshap import TreeShapTables


class PDModel(ClassifierMixin, BaseEstimator):
    """Gradient-boosted PD model: monotone LightGBM, early stopping, then a calibrator.

    ``monotone`` maps feature -> +1 (risk rises with the value), -1 or 0 (from the catalogue).
    Categorical features arrive as pandas ``category`` columns (a numpy array is also accepted
    and named ``x0, x1, ...``). ``fit(X, y, X_valid, y_valid)`` stops early on the validation
    set and calibrates on it; without one it grows ``n_estimators`` trees and calibrates
    in-sample. With ``fit_protocol="cv"`` the training and validation rows are pooled instead:
    the number of trees is chosen by stratified ``cv_folds``-fold cross-validation on them
    (early stopping on the mean out-of-fold log loss), the trees are grown again on every row
    with that number, and the calibrator is fitted on the out-of-fold raw scores, so no row is
    held back from the trees (what published single models on small data sets do). Training is
    deterministic for a given ``random_state`` and ``n_jobs`` (two fits
    give the identical model string). The defaults are the project's settings (params.yaml
    repeats them so that every knob is visible there).
    """

    _parameter_constraints: dict = {
        "monotone": [dict, None],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, 1, closed="right")],
        "num_leaves": [Interval(Integral, 2, 131072, closed="both")],
        "max_depth": [Interval(Integral, -1, None, closed="left")],
        "min_child_samples": [Interval(Integral, 1, None, closed="left")],
        "min_child_share": [Interval(Real, 0, 1, closed="right")],
        "subsample": [Interval(Real, 0, 1, closed="right")],
        "colsample_bytree": [Interval(Real, 0, 1, closed="right")],
        "reg_lambda": [Interval(Real, 0, None, closed="left")],
        "early_stopping_rounds": [Interval(Integral, 1, None, closed="left")],
        "calibration": [StrOptions(set(METHODS))],
        "fit_protocol": [StrOptions({"valid", "cv"})],
        "cv_folds": [Interval(Integral, 2, None, closed="left")],
        "random_state": [Interval(Integral, 0, None, closed="left")],
        "n_jobs": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        monotone: dict[str, int] | None = None,
        n_estimators: int = 3000,
        learning_rate: float = 0.02,
        num_leaves: int = 7,
        max_depth: int = -1,
        min_child_samples: int = 200,
        min_child_share: float = 0.02,
        subsample: float = 0.8,
        colsample_bytree: float = 0.5,
        reg_lambda: float = 20.0,
        early_stopping_rounds: int = 200,
        calibration: str = "platt",
        fit_protocol: str = "valid",
        cv_folds: int = 5,
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
        self.fit_protocol = fit_protocol
        self.cv_folds = cv_folds
        self.random_state = random_state
        self.n_jobs = n_jobs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # missing values are information, routed by the trees
        tags.classifier_tags.multi_class = False
        return tags

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

    def _frame(self, X, reset: bool) -> pd.DataFrame:
        """``X`` as the DataFrame LightGBM sees: a DataFrame as given (text must be category),
        an array validated by scikit-learn and named ``x0, x1, ...``."""
        if isinstance(X, pd.DataFrame):
            if not all(isinstance(c, str) for c in X.columns):
                return _array_frame(self, X, reset)
            bad = [
                c
                for c in X.columns
                if X[c].dtype == object or pd.api.types.is_string_dtype(X[c].dtype)
            ]
            if bad:
                raise TypeError(f"text columns must be pandas 'category' for LightGBM; got {bad}")
            if reset:
                self.feature_names_in_ = np.array([str(c) for c in X.columns], dtype=object)
                self.n_features_in_ = X.shape[1]
                return X
            missing = [c for c in self.feature_names_in_ if c not in X.columns]
            if missing:
                raise ValueError(f"X lacks feature(s) the model was fitted on: {missing[:5]}")
            return X[list(self.feature_names_in_)]
        return _array_frame(self, X, reset)

    def _labels(self, y) -> np.ndarray:
        """0/1 default flags from any two-class ``y``; ``classes_`` keeps the original labels."""
        y01, self.classes_ = binary_target(y)
        return y01

    def fit(
        self,
        X: pd.DataFrame | np.ndarray,
        y: np.ndarray,
        X_valid: pd.DataFrame | None = None,
        y_valid: np.ndarray | None = None,
        sample_weight: np.ndarray | None = None,
        valid_sample_weight: np.ndarray | None = None,
    ) -> PDModel:
        """Train with early stopping on the validation set, then calibrate on it; weights
        (e.g. inferred rejects) enter the trees, early stopping and the calibrator. With
        ``fit_protocol="cv"``, out-of-fold instead (see the class docstring)."""
        self._validate_params()
        self.__dict__.pop("_tables", None)
        if self.fit_protocol == "cv":
            return self._fit_cv(X, y, X_valid, y_valid, sample_weight, valid_sample_weight)
        X = self._frame(X, reset=True)
        y01 = self._labels(y)
        if len(y01) != len(X):
            raise ValueError(f"X and y have different lengths: {len(X)} != {len(y01)}")
        features = list(self.feature_names_in_)
        weight = _weights(sample_weight, len(X))
        train = lgb.Dataset(X, label=y01, weight=weight, free_raw_data=False)
        callbacks = [lgb.log_evaluation(0)]
        valid_sets = []
        if X_valid is not None:
            yv = (np.asarray(y_valid) == self.classes_[1]).astype("int64")
            valid_weight = _weights(valid_sample_weight, len(yv))
            valid = lgb.Dataset(
                self._frame(X_valid, reset=False), label=yv, weight=valid_weight, reference=train
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
        if X_valid is not None:
            cal_X, cal_y, cal_w = X_valid, yv, valid_weight
        else:
            cal_X, cal_y, cal_w = X, y01, weight
        self.calibrator_ = Calibrator(self.calibration).fit(self.raw_score(cal_X), cal_y, cal_w)
        return self

    def _fit_cv(self, X, y, X_valid, y_valid, sample_weight, valid_sample_weight) -> PDModel:
        """Pool training and validation rows; trees chosen by inner CV, grown on every row;
        calibrator on the out-of-fold raw scores at that number of trees."""
        from sklearn.model_selection import StratifiedKFold

        if X_valid is not None:
            X, y, sample_weight = _pooled(
                X, y, sample_weight, X_valid, y_valid, valid_sample_weight
            )
        X = self._frame(X, reset=True)
        y01 = self._labels(y)
        if len(y01) != len(X):
            raise ValueError(f"X and y have different lengths: {len(X)} != {len(y01)}")
        if np.bincount(y01).min() < self.cv_folds:
            raise ValueError(
                f"fit_protocol 'cv' needs at least cv_folds={self.cv_folds} rows of each class; "
                f"got {np.bincount(y01).tolist()}"
            )
        features = list(self.feature_names_in_)
        weight = _weights(sample_weight, len(X))
        params = self.lgb_params(features, len(X))
        folds = list(
            StratifiedKFold(self.cv_folds, shuffle=True, random_state=self.random_state).split(
                X, y01
            )
        )
        result = lgb.cv(
            params,
            lgb.Dataset(X, label=y01, weight=weight, free_raw_data=False),
            num_boost_round=self.n_estimators,
            folds=folds,
            callbacks=[
                lgb.log_evaluation(0),
                lgb.early_stopping(self.early_stopping_rounds, verbose=False),
            ],
            return_cvbooster=True,
        )
        cv_booster = result["cvbooster"]
        n_trees = int(cv_booster.best_iteration or self.n_estimators)
        oof = np.empty(len(X))
        for booster, (_, held) in zip(cv_booster.boosters, folds, strict=True):
            oof[held] = booster.predict(X.iloc[held], num_iteration=n_trees, raw_score=True)
        self.booster_ = lgb.train(
            params,
            lgb.Dataset(X, label=y01, weight=weight, free_raw_data=False),
            num_boost_round=n_trees,
            callbacks=[lgb.log_evaluation(0)],
        )
        self.best_iteration_ = n_trees
        self.oof_raw_score_ = oof
        self.calibrator_ = Calibrator(self.calibration).fit(oof, y01, weight)
        return self

    def raw_score(self, X: pd.DataFrame) -> np.ndarray:
        """Raw (uncalibrated) log-odds of default: the trees' sum, before the calibrator."""
        check_is_fitted(self, "booster_")
        return self.booster_.predict(
            self._frame(X, reset=False), num_iteration=self.best_iteration_, raw_score=True
        )

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "calibrator_")
        pd_ = self.calibrator_.transform(self.raw_score(X))
        return np.column_stack([1.0 - pd_, pd_])

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated log-odds of default (> 0 exactly when :meth:`predict` says default)."""
        pd_ = self.predict_proba(X)[:, 1]
        with np.errstate(divide="ignore"):
            return np.log(pd_) - np.log1p(-pd_)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        proba = self.predict_proba(X)[:, 1]
        return self.classes_[(proba > 0.5).astype(int)]

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Exact TreeSHAP contributions on the log-odds scale (equal to LightGBM
        ``pred_contrib``, computed from per-tree tables: :mod:`models.treeshap`).

        Columns are the features plus ``bias``; each row sums to :meth:`raw_score`.
        """
        return self.raw_and_contributions(X)[1]

    def raw_and_contributions(self, X: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
        """Raw log-odds and exact contributions from one pass over the trees."""
        raw, values = self.shap_tables().predict_with_contributions(self._frame(X, reset=False))
        index = X.index if isinstance(X, pd.DataFrame) else None
        columns = [*self.feature_names_in_, "bias"]
        return raw, pd.DataFrame(values, index=index, columns=columns)

    def shap_tables(self) -> TreeShapTables:
        """The model's TreeSHAP tables, built on first use (a cache, not a fitted parameter)."""
        check_is_fitted(self, "booster_")
        tables = self.__dict__.get("_tables")
        if tables is None:
            tables = TreeShapTables.from_booster(
                self.booster_, self.best_iteration_, n_jobs=self.n_jobs
            )
            self._tables = tables
        return tables

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


def _array_frame(estimator, X, reset: bool) -> pd.DataFrame:
    """An array input as a DataFrame with columns ``x0, x1, ...`` (checked like scikit-learn)."""
    arr = check_array(X, ensure_all_finite="allow-nan", dtype="float64")
    if reset:
        estimator.n_features_in_ = arr.shape[1]
        estimator.feature_names_in_ = np.array([f"x{i}" for i in range(arr.shape[1])], dtype=object)
    elif arr.shape[1] != estimator.n_features_in_:
        raise ValueError(
            f"X has {arr.shape[1]} features, but {type(estimator).__name__} is expecting "
            f"{estimator.n_features_in_} features as input."
        )
    return pd.DataFrame(arr, columns=list(estimator.feature_names_in_))


def binary_target(y) -> tuple[np.ndarray, np.ndarray]:
    """``y`` as 0/1 flags (the second sorted class is "default") and the two classes.

    Raises ValueError for a continuous target, one class only, or more than two classes.
    """
    if y is None:
        raise ValueError("requires y to be passed, but the target y is None")
    y = column_or_1d(y, warn=True)
    if y.dtype.kind in "fc":
        assert_all_finite(y, input_name="y")
    if y.size == 0:
        raise ValueError(
            "Found array with 0 sample(s) (shape=(0,)) while a minimum of 1 is required."
        )
    check_classification_targets(y)
    classes = np.unique(y)
    if len(classes) == 1:
        raise ValueError(
            f"y has 1 class only ({classes[0]!r}): a PD model needs goods and defaults"
        )
    if len(classes) > 2:
        raise ValueError(
            f"Only binary classification is supported (good vs default); got {len(classes)} classes"
        )
    return (y == classes[1]).astype("int64"), classes


def _pooled(X, y, weight, X_valid, y_valid, valid_weight):
    """Training and validation rows as one set (categories united, weights kept)."""
    if isinstance(X, pd.DataFrame) and isinstance(X_valid, pd.DataFrame):
        X, X_valid = X.copy(), X_valid.copy()
        for c in X.columns:
            if isinstance(X[c].dtype, pd.CategoricalDtype) and X[c].dtype != X_valid[c].dtype:
                cats = pd.api.types.union_categoricals([X[c], X_valid[c]]).categories
                X[c] = X[c].cat.set_categories(cats)
                X_valid[c] = X_valid[c].cat.set_categories(cats)
        X_all = pd.concat([X, X_valid[list(X.columns)]], ignore_index=True)
    else:
        X_all = np.vstack([np.asarray(X, dtype="float64"), np.asarray(X_valid, dtype="float64")])
    y_all = np.concatenate([np.asarray(y), np.asarray(y_valid)])
    if weight is None and valid_weight is None:
        return X_all, y_all, None
    w = np.ones(len(y)) if weight is None else np.asarray(weight, dtype="float64")
    wv = np.ones(len(y_valid)) if valid_weight is None else np.asarray(valid_weight, "float64")
    return X_all, y_all, np.concatenate([w, wv])


def _weights(weight: np.ndarray | None, n: int) -> np.ndarray | None:
    """Sample weights as float64 of length ``n`` (finite, >= 0), or None."""
    if weight is None:
        return None
    w = np.asarray(weight, dtype="float64")
    if w.shape != (n,):
        raise ValueError(f"sample_weight must have one weight per row ({n}); got shape {w.shape}")
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("sample_weight must be finite and >= 0")
    return w
