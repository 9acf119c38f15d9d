"""The evaluation report: both models on train, validation and out-of-time, with the ceiling.

One call gives every number the evaluate stage writes and gates on: discrimination and
calibration per model and split, bootstrap CIs on the OOT AUC, score PSI train vs OOT, the
paired AUC difference between the models, the grade table, per-feature CSI and, when the data
know it, the AUC of the true PD as the achievable ceiling.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.development import TrainedModels, predict
from models.grading import MasterScale
from models.metrics import (
    auc,
    bootstrap_auc_ci,
    bootstrap_auc_difference,
    calibration_table,
    classification_metrics,
    csi,
    grade_table,
    psi,
)

SPLITS = ("train", "valid", "oot")
MODELS = ("pd_model", "scorecard")


@dataclass
class Evaluation:
    """Metrics (the ``metrics.json`` mapping) and the tables behind the plots."""

    metrics: dict
    predictions: pd.DataFrame  # pd, grade, score, scorecard_pd per row of the frame
    y: np.ndarray
    risk: dict[str, np.ndarray]  # model -> PD per row
    oot: np.ndarray  # mask of out-of-time rows
    grades_oot: pd.DataFrame
    calibration_oot: dict[str, pd.DataFrame]
    stability: pd.Series  # CSI per feature, train vs OOT, descending
    true_pd: np.ndarray
    ceiling: float | None


def evaluate_models(
    models: TrainedModels,
    frame: pd.DataFrame,
    scale: MasterScale,
    n_bins: int,
    n_bootstrap: int,
    top_csi: int,
    seed: int,
) -> Evaluation:
    """Evaluate on ``frame`` (features with ``split`` in train/valid/oot and ``default_12m``)."""
    preds = predict(models, frame, scale)
    y = frame["default_12m"].astype(int).to_numpy()
    risk = {"pd_model": preds["pd"].to_numpy(), "scorecard": preds["scorecard_pd"].to_numpy()}
    split = frame["split"].to_numpy()
    metrics: dict = {m: {} for m in MODELS}
    for m in MODELS:
        for s in SPLITS:
            mask = split == s
            metrics[m][s] = classification_metrics(y[mask], risk[m][mask], n_bins)
    oot, train = split == "oot", split == "train"
    y_oot = y[oot]
    for m in MODELS:
        lo, hi = bootstrap_auc_ci(y_oot, risk[m][oot], n_bootstrap, seed)
        metrics[m]["oot"]["auc_ci_low"], metrics[m]["oot"]["auc_ci_high"] = lo, hi
        metrics[m]["score_psi_train_oot"] = psi(risk[m][train], risk[m][oot], n_bins)
    true_pd = frame["true_pd"].to_numpy(dtype="float64")
    ceiling = auc(y_oot, true_pd[oot]) if np.isfinite(true_pd[oot]).all() else None
    comparison = bootstrap_auc_difference(
        y_oot, risk["pd_model"][oot], risk["scorecard"][oot], n_bootstrap, seed
    )
    grades_oot = grade_table(y_oot, risk["pd_model"][oot], scale)
    dr = grades_oot.loc[grades_oot["n"] >= 20, "observed_dr"].to_numpy()
    features = models.meta["features"]
    stability = csi(frame.loc[train, features], frame.loc[oot, features], features, n_bins)
    pd_oot = metrics["pd_model"]["oot"]
    metrics["oot_summary"] = {
        "pd_model_auc": pd_oot["auc"],
        "scorecard_auc": metrics["scorecard"]["oot"]["auc"],
        "true_pd_auc_ceiling": ceiling,
        "pd_model_share_of_ceiling": pd_oot["auc"] / ceiling if ceiling else None,
        "central_tendency": {"mean_pd": pd_oot["mean_pd"], "default_rate": pd_oot["default_rate"]},
        "auc_difference_pd_minus_scorecard": comparison,
        "grades_monotonic": bool(np.all(np.diff(dr) > 0)),
    }
    metrics["csi_top"] = {k: float(v) for k, v in stability.head(top_csi).items()}
    calibration = {m: calibration_table(y_oot, risk[m][oot], n_bins=n_bins) for m in MODELS}
    return Evaluation(
        metrics, preds, y, risk, oot, grades_oot, calibration, stability, true_pd, ceiling
    )
