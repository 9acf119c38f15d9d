"""Model development in one place: build and fit both models, and predict PD plus points.

The train stage, the benchmarks and the accuracy study all call :func:`fit_models`, so "fit
both models" means the same thing everywhere; :func:`predict` is the one definition of "PD,
grade, scorecard points and the scorecard's PD" used by evaluation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import InvalidParameterError

from features.catalogue import Catalogue
from features.errors import DataError
from models.grading import MasterScale
from models.pd_model import PDModel
from models.scorecard import ScorecardSpec, WoEScorecard
from models.scorecard_controls import ControlError


def _checked(cls: type, settings: dict[str, Any], where: str, **fixed: Any):
    """``cls(**settings, **fixed)`` with its parameter constraints checked now, so that a bad
    params.yaml value stops the stage before any work, naming the key."""
    known = set(cls().get_params()) - set(fixed)
    unknown = sorted(set(settings) - known)
    if unknown:
        raise DataError(f"{where}.{unknown[0]}: unknown key (known: {', '.join(sorted(known))})")
    model = cls(**settings, **fixed)
    try:
        model._validate_params()
    except InvalidParameterError as exc:
        raise DataError(f"{where}: {exc}") from None
    return model


def build_pd_model(settings: dict[str, Any], monotone: dict[str, int], seed: int) -> PDModel:
    """The PD model with params ``train.pd_model`` and the catalogue's directions."""
    return _checked(PDModel, settings, "train.pd_model", monotone=monotone, random_state=seed)


def build_scorecard(
    settings: dict[str, Any], directions: dict[str, str], categorical: tuple[str, ...]
) -> WoEScorecard:
    """The scorecard with params ``train.scorecard`` and the catalogue's directions."""
    return _checked(
        WoEScorecard,
        settings,
        "train.scorecard",
        directions=directions,
        categorical=tuple(categorical),
    )


@dataclass
class FittedModels:
    """Both fitted models and how long each took."""

    pd_model: PDModel
    scorecard: WoEScorecard
    seconds: dict[str, float] = field(default_factory=dict)


def fit_models(
    X_train: pd.DataFrame,
    y_train: np.ndarray,
    X_valid: pd.DataFrame,
    y_valid: np.ndarray,
    catalogue: Catalogue,
    pd_settings: dict[str, Any],
    card_settings: dict[str, Any],
    seed: int,
    monotone: dict[str, int] | None = None,
    card_rows: tuple[pd.DataFrame, np.ndarray] | None = None,
) -> FittedModels:
    """Fit the PD model (early stopping and calibration on the validation rows) and the
    scorecard (on the training rows, or on ``card_rows`` when given, e.g. training plus
    validation rows when the scorecard needs no early stopping); directions come from
    ``catalogue`` unless ``monotone`` overrides the PD model's constraints."""
    monotone = monotone if monotone is not None else {f.name: f.sign for f in catalogue}
    pd_model = build_pd_model(pd_settings, monotone, seed)
    card = build_scorecard(
        card_settings, {f.name: f.direction for f in catalogue}, tuple(catalogue.categorical)
    )
    names = catalogue.names
    # The scorecard first: its controls (names, user bins) are checked against the data in
    # fit, and a mistake there should not wait for the PD model. The two fits are independent.
    start = time.perf_counter()
    X_card, y_card = card_rows if card_rows is not None else (X_train, y_train)
    try:
        card.fit(X_card[names], y_card)
    except ControlError as exc:
        raise DataError(exc.under("train.scorecard")) from None
    card_seconds = time.perf_counter() - start
    start = time.perf_counter()
    pd_model.fit(X_train[names], y_train, X_valid[names], y_valid)
    pd_seconds = time.perf_counter() - start
    return FittedModels(pd_model, card, {"pd_model": pd_seconds, "scorecard": card_seconds})


@dataclass
class TrainedModels:
    """The fitted pieces as exported (PD model text + calibrator, scorecard spec, metadata)."""

    pd_model: PDModel
    scorecard: ScorecardSpec
    meta: dict


def predict(models: TrainedModels, frame: pd.DataFrame, scale: MasterScale) -> pd.DataFrame:
    """PD, grade, scorecard points and the scorecard's PD for each row of ``frame``."""
    X = frame[models.meta["features"]]
    pd_ = models.pd_model.predict_proba(X)[:, 1]
    points = models.scorecard.predict_points(X)
    return pd.DataFrame(
        {
            "pd": pd_,
            "grade": scale.grade(pd_),
            "score": points,
            "scorecard_pd": models.scorecard.pd_from_score(points),
        },
        index=frame.index,
    )
