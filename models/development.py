"""Model development in one place: build and fit the models, and predict PD plus points.

The train stage, the benchmarks and the accuracy study all call :func:`fit_models`, so "fit
the models" means the same thing everywhere: the PD model, the scorecard and (unless switched
off with ``ebm_settings=None``) the glass-box EBM; :func:`predict` is the one definition of
"PD, grade, scorecard points, the scorecard's PD and the EBM's PD" used by evaluation.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import InvalidParameterError

from features.catalogue import Catalogue
from features.errors import DataError
from models.ebm import EBMModel
from models.grading import MasterScale
from models.pd_model import PDModel
from models.reject_inference import REJECT, RejectInference, augment
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


# The EBM with its defaults (``fit_models(..., ebm_settings=None)`` leaves it out).
EBM_DEFAULTS: Mapping[str, Any] = MappingProxyType({})


def build_ebm(settings: Mapping[str, Any], monotone: dict[str, int], seed: int) -> EBMModel:
    """The glass-box EBM with params ``train.ebm`` (``enabled`` aside) and the catalogue's
    directions (constrained exactly where the PD model is)."""
    settings = {k: v for k, v in settings.items() if k != "enabled"}
    return _checked(EBMModel, settings, "train.ebm", monotone=monotone, random_state=seed)


@dataclass
class FittedModels:
    """The fitted models (the EBM unless switched off) and how long each took."""

    pd_model: PDModel
    scorecard: WoEScorecard
    seconds: dict[str, float] = field(default_factory=dict)
    ebm: EBMModel | None = None


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
    ebm_settings: Mapping[str, Any] | None = EBM_DEFAULTS,
) -> FittedModels:
    """Fit the PD model (early stopping and calibration on the validation rows), the
    scorecard (on the training rows, or on ``card_rows`` when given, e.g. training plus
    validation rows when the scorecard needs no early stopping) and the EBM (on the same rows
    as the scorecard: it holds out its own early-stopping rows; ``ebm_settings=None`` skips it);
    directions come from ``catalogue`` unless ``monotone`` overrides the PD model's and the
    EBM's constraints."""
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
    seconds = {"pd_model": pd_seconds, "scorecard": card_seconds}
    ebm = None
    if ebm_settings is not None:
        start = time.perf_counter()
        ebm = build_ebm(ebm_settings, monotone, seed).fit(X_card[names], y_card)
        seconds["ebm"] = time.perf_counter() - start
    return FittedModels(pd_model, card, seconds, ebm)


def fit_with_rejects(
    X_train: pd.DataFrame,
    y_train: np.ndarray,
    X_valid: pd.DataFrame,
    y_valid: np.ndarray,
    rejects: pd.DataFrame,
    inference: RejectInference,
    catalogue: Catalogue,
    pd_settings: dict[str, Any],
    card_settings: dict[str, Any],
    seed: int,
    monotone: dict[str, int] | None = None,
    ebm_settings: Mapping[str, Any] | None = EBM_DEFAULTS,
) -> tuple[FittedModels, dict[str, Any]]:
    """The models with reject inference: fit on the accepts, infer the rejects' outcomes from
    each model's own accepts-only PD, refit on accepts plus inferred rejects (weighted).

    The rejects are shared between training and validation in the accepts' proportion (with
    ``seed``), so early stopping and the PD model's calibrator also see the through-the-door
    mix. With method ``none`` (or no rejects) this is :func:`fit_models` on the accepts.
    Returns the models and a summary (rows, inferred bad share per model)."""
    base = fit_models(
        X_train,
        y_train,
        X_valid,
        y_valid,
        catalogue,
        pd_settings,
        card_settings,
        seed,
        monotone,
        ebm_settings=ebm_settings,
    )
    summary: dict[str, Any] = {"method": inference.method, "rejects": int(len(rejects))}
    if inference.method == "none" or rejects.empty:
        return base, summary
    names = catalogue.names
    share = len(X_valid) / (len(X_train) + len(X_valid))
    to_valid = np.random.default_rng([seed, 17]).random(len(rejects)) < share
    parts = {"train": (X_train, y_train, ~to_valid), "valid": (X_valid, y_valid, to_valid)}

    def augmented(model: Any, part: str):
        X, y, mask = parts[part]
        R = rejects.loc[mask, names]
        return augment(
            X[names],
            y,
            R,
            model.predict_proba(R)[:, 1],
            inference,
            pd_accepts=model.predict_proba(X[names])[:, 1],
            random_state=seed,
        )

    start = time.perf_counter()
    tr, va = augmented(base.pd_model, "train"), augmented(base.pd_model, "valid")
    monotone = monotone if monotone is not None else {f.name: f.sign for f in catalogue}
    pd_model = build_pd_model(pd_settings, monotone, seed)
    pd_model.fit(tr.X, tr.y, va.X, va.y, tr.sample_weight, va.sample_weight)
    pd_seconds = time.perf_counter() - start
    start = time.perf_counter()
    card_tr = augmented(base.scorecard, "train")
    card = build_scorecard(
        card_settings, {f.name: f.direction for f in catalogue}, tuple(catalogue.categorical)
    )
    card.fit(card_tr.X, card_tr.y, card_tr.sample_weight)
    card_seconds = time.perf_counter() - start
    augmented_by = {"pd_model": tr, "scorecard": card_tr}
    seconds = {
        "pd_model": base.seconds["pd_model"] + pd_seconds,
        "scorecard": base.seconds["scorecard"] + card_seconds,
    }
    ebm = None
    if base.ebm is not None:
        start = time.perf_counter()
        augmented_by["ebm"] = ebm_tr = augmented(base.ebm, "train")
        ebm = build_ebm(ebm_settings, monotone, seed)
        ebm.fit(ebm_tr.X, ebm_tr.y, ebm_tr.sample_weight)
        seconds["ebm"] = base.seconds["ebm"] + time.perf_counter() - start
    for name, aug in augmented_by.items():
        rej = aug.origin == REJECT
        w = aug.sample_weight[rej]
        summary[f"{name}_inferred_bad_share"] = float((aug.y[rej] * w).sum() / w.sum())
    return FittedModels(pd_model, card, seconds, ebm), summary


@dataclass
class TrainedModels:
    """The fitted pieces as exported (PD model text + calibrator, scorecard spec, EBM tables
    when trained, metadata)."""

    pd_model: PDModel
    scorecard: ScorecardSpec
    meta: dict
    ebm: EBMModel | None = None

    @property
    def names(self) -> tuple[str, ...]:
        """The models present, in report order."""
        return ("pd_model", "scorecard", *(("ebm",) if self.ebm is not None else ()))


def predict(models: TrainedModels, frame: pd.DataFrame, scale: MasterScale) -> pd.DataFrame:
    """PD, grade, scorecard points, the scorecard's PD and (with an EBM) the EBM's PD for each
    row of ``frame``."""
    X = frame[models.meta["features"]]
    pd_ = models.pd_model.predict_proba(X)[:, 1]
    points = models.scorecard.predict_points(X)
    out = pd.DataFrame(
        {
            "pd": pd_,
            "grade": scale.grade(pd_),
            "score": points,
            "scorecard_pd": models.scorecard.pd_from_score(points),
        },
        index=frame.index,
    )
    if models.ebm is not None:
        out["ebm_pd"] = models.ebm.predict_proba(X)[:, 1]
    return out
