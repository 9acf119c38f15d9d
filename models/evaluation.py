"""The evaluation report: the models on train, validation and out-of-time, with the ceiling.

One call gives every number the evaluate stage writes and gates on: discrimination and
calibration per model and split, bootstrap CIs on the OOT AUC, score PSI train vs OOT, the
paired AUC difference between the models, the grade table, per-feature CSI and, when the data
know it (synthetic data: the simulator's truth), the AUC of the true PD as the achievable
ceiling and the through-the-door view: the out-of-time applicants the company declined too,
with the outcomes they would have had, which no lender observes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.development import TrainedModels, predict
from models.grading import MasterScale
from models.metrics import (
    approval_rate_at_bad_rate,
    auc,
    auc_standard_error,
    bootstrap_auc_ci,
    bootstrap_auc_difference,
    calibration_table,
    classification_metrics,
    csi,
    ece_p_value,
    grade_table,
    psi,
    psi_p_value,
)

SPLITS = ("train", "valid", "oot")
MODELS = ("pd_model", "scorecard", "ebm")  # the EBM when it was trained
PD_COLUMN = {"pd_model": "pd", "scorecard": "scorecard_pd", "ebm": "ebm_pd"}


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
    true_pd: np.ndarray  # per row of the frame; NaN without a truth
    ceiling: float | None


def evaluate_models(
    models: TrainedModels,
    frame: pd.DataFrame,
    scale: MasterScale,
    n_bins: int,
    n_bootstrap: int,
    top_csi: int,
    seed: int,
    truth: pd.DataFrame | None = None,
    target_bad_rate: float = 0.03,
) -> Evaluation:
    """Evaluate on ``frame`` (features with ``split`` and ``default_12m``; rows outside
    train/valid/oot only enter the through-the-door view). ``truth`` (applicant_id,
    default_12m, true_pd) is the simulator's; ``None`` or empty for real data."""
    everyone = frame
    frame = frame.loc[frame["split"].isin(SPLITS)].reset_index(drop=True)
    preds = predict(models, frame, scale)
    y = frame["default_12m"].astype(int).to_numpy()
    names = models.names
    risk = {m: preds[PD_COLUMN[m]].to_numpy() for m in names}
    split = frame["split"].to_numpy()
    metrics: dict = {m: {} for m in names}
    for m in names:
        for s in SPLITS:
            mask = split == s
            metrics[m][s] = classification_metrics(y[mask], risk[m][mask], n_bins)
    oot, train = split == "oot", split == "train"
    y_oot = y[oot]
    for m in names:
        out = metrics[m]["oot"]
        lo, hi = bootstrap_auc_ci(y_oot, risk[m][oot], n_bootstrap, seed)
        out["auc_ci_low"], out["auc_ci_high"] = lo, hi
        # The evidence the export gates weigh a miss against (sample size): see check_gates.
        out["auc_se"] = auc_standard_error(out["auc"], out["defaults"], out["n"] - out["defaults"])
        out["ece_p_value"] = ece_p_value(y_oot, risk[m][oot], n_bins, n_bootstrap, seed)
        metrics[m]["score_psi_train_oot"] = psi(risk[m][train], risk[m][oot], n_bins)
        metrics[m]["score_psi_p_value"] = psi_p_value(risk[m][train], risk[m][oot], n_bins)
    known = truth is not None and len(truth) > 0
    true_pd = (
        frame["applicant_id"].map(truth.set_index("applicant_id")["true_pd"]).to_numpy("float64")
        if known
        else np.full(len(frame), np.nan)
    )
    ceiling = auc(y_oot, true_pd[oot]) if known and np.isfinite(true_pd[oot]).all() else None
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
    if "ebm" in names:
        metrics["oot_summary"]["ebm_auc"] = metrics["ebm"]["oot"]["auc"]
        metrics["oot_summary"]["auc_difference_ebm_minus_pd"] = bootstrap_auc_difference(
            y_oot, risk["ebm"][oot], risk["pd_model"][oot], n_bootstrap, seed
        )
        metrics["oot_summary"]["auc_difference_ebm_minus_scorecard"] = bootstrap_auc_difference(
            y_oot, risk["ebm"][oot], risk["scorecard"][oot], n_bootstrap, seed
        )
    metrics["csi_top"] = {k: float(v) for k, v in stability.head(top_csi).items()}
    if known:
        metrics["through_the_door"] = through_the_door(
            models, everyone, truth, scale, n_bins, target_bad_rate
        )
    calibration = {m: calibration_table(y_oot, risk[m][oot], n_bins=n_bins) for m in names}
    return Evaluation(
        metrics, preds, y, risk, oot, grades_oot, calibration, stability, true_pd, ceiling
    )


def through_the_door(
    models: TrainedModels,
    frame: pd.DataFrame,
    truth: pd.DataFrame,
    scale: MasterScale,
    n_bins: int,
    target_bad_rate: float,
) -> dict:
    """The models on every out-of-time applicant (accepted or declined by the company at the
    time) against the outcomes they had or would have had, next to what a lender can measure
    (the accepts). Approval rate at ``target_bad_rate``: the share a PD cut-off could approve
    while the true bad rate of the approved stays at the target."""
    part = frame.loc[frame["split"].isin(("oot", "rejected_oot"))].reset_index(drop=True)
    labels = truth.set_index("applicant_id")["default_12m"]
    y_true = part["applicant_id"].map(labels)
    part = part.loc[y_true.notna().to_numpy()].reset_index(drop=True)
    y = y_true.dropna().astype(int).to_numpy()
    preds = predict(models, part, scale)
    accepted = (part["split"] == "oot").to_numpy()
    out: dict = {
        "n": int(len(part)),
        "declined_by_company": int((~accepted).sum()),
        "true_default_rate": float(y.mean()),
        "accepts_default_rate": float(y[accepted].mean()),
        "declines_default_rate": float(y[~accepted].mean()) if (~accepted).any() else None,
        "target_bad_rate": target_bad_rate,
    }
    for m in models.names:
        risk = preds[PD_COLUMN[m]].to_numpy()
        out[m] = {
            "auc": auc(y, risk),
            "auc_accepts": auc(y[accepted], risk[accepted]),
            "ece": classification_metrics(y, risk, n_bins)["ece"],
            "mean_pd": float(risk.mean()),
            "approval_rate_at_target": approval_rate_at_bad_rate(y, risk, target_bad_rate),
        }
    return out


def decide_by_swap_set(
    models: TrainedModels,
    frame: pd.DataFrame,
    catalogue,
    scale: MasterScale,
    policy,
    truth: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Champion and challenger: the policy's decisions when the PD model decides vs when the
    scorecard decides (``policy.decide_by``), on the out-of-time applicants, as a swap set.

    With the simulator's ``truth`` the population is every out-of-time applicant (the
    company's declines too) with the outcome each had or would have had; without it, the
    out-of-time accepts with their observed outcome."""
    from dataclasses import replace

    from models.scoring import ScoringModel
    from models.strategy import swap_set

    known = truth is not None and len(truth) > 0
    part = frame.loc[frame["split"].isin(("oot", "rejected_oot") if known else ("oot",))]
    part = part.reset_index(drop=True)
    if known:
        y = part["applicant_id"].map(truth.set_index("applicant_id")["default_12m"])
    else:
        y = part["default_12m"]
    champion = ScoringModel(
        models.pd_model, models.scorecard, catalogue, scale, replace(policy, decide_by="pd_model")
    )
    challenger = replace(champion, policy=replace(policy, decide_by="scorecard"))
    old, new = champion.decide(part), challenger.decide(part)
    table = swap_set(
        old["pd"].to_numpy(),
        old["decision"].to_numpy(),
        new["pd"].to_numpy(),
        new["decision"].to_numpy(),
        y.to_numpy(dtype="float64", na_value=np.nan),
    )
    return table.assign(population="through the door" if known else "out-of-time accepts")
