"""Stage ``evaluate``: both models on train, validation and out-of-time; plots; MLflow."""

from __future__ import annotations

import numpy as np
import pandas as pd
from rich.table import Table

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
from pipeline import plots, tracking
from pipeline.artifacts import TrainedModels, load_models, split_frame
from pipeline.console import console
from pipeline.io import write_json
from pipeline.layout import Layout
from pipeline.params import Params

SPLITS = ("train", "valid", "oot")
MODELS = ("pd_model", "scorecard")


def predict(models: TrainedModels, frame: pd.DataFrame, scale: MasterScale) -> pd.DataFrame:
    """PD, grade and scorecard score/PD for each row of ``frame``."""
    X = frame[models.meta["features"]]
    pd_ = models.pd_model.predict_proba(X)[:, 1]
    score = models.scorecard.score(X)
    return pd.DataFrame(
        {
            "pd": pd_,
            "grade": scale.grade(pd_),
            "score": score,
            "scorecard_pd": models.scorecard.pd_from_score(score),
        },
        index=frame.index,
    )


def run(params: Params, layout: Layout) -> dict:
    scale = params.grading
    ev = params.evaluate
    frame = split_frame(layout)
    frame = frame.loc[frame["split"].isin(SPLITS)].reset_index(drop=True)
    models = load_models(layout)
    preds = predict(models, frame, scale)
    y = frame["default_12m"].astype(int).to_numpy()
    risk = {"pd_model": preds["pd"].to_numpy(), "scorecard": preds["scorecard_pd"].to_numpy()}

    metrics: dict = {m: {} for m in MODELS}
    for m in MODELS:
        for s in SPLITS:
            mask = (frame["split"] == s).to_numpy()
            metrics[m][s] = classification_metrics(y[mask], risk[m][mask], ev.n_bins)
    oot = (frame["split"] == "oot").to_numpy()
    train = (frame["split"] == "train").to_numpy()
    y_oot = y[oot]
    for m in MODELS:
        lo, hi = bootstrap_auc_ci(y_oot, risk[m][oot], ev.n_bootstrap, params.seed)
        metrics[m]["oot"]["auc_ci_low"], metrics[m]["oot"]["auc_ci_high"] = lo, hi
        metrics[m]["score_psi_train_oot"] = psi(risk[m][train], risk[m][oot], ev.n_bins)
    true_pd = frame["true_pd"].to_numpy(dtype="float64")
    ceiling = None
    if np.isfinite(true_pd[oot]).all():
        ceiling = auc(y_oot, true_pd[oot])
    comparison = bootstrap_auc_difference(
        y_oot, risk["pd_model"][oot], risk["scorecard"][oot], ev.n_bootstrap, params.seed
    )
    grades_oot = grade_table(y_oot, risk["pd_model"][oot], scale)
    dr = grades_oot.loc[grades_oot["n"] >= 20, "observed_dr"].to_numpy()
    features = models.meta["features"]
    stability = csi(frame.loc[train, features], frame.loc[oot, features], features, ev.n_bins)
    metrics["oot_summary"] = {
        "pd_model_auc": metrics["pd_model"]["oot"]["auc"],
        "scorecard_auc": metrics["scorecard"]["oot"]["auc"],
        "true_pd_auc_ceiling": ceiling,
        "pd_model_share_of_ceiling": metrics["pd_model"]["oot"]["auc"] / ceiling
        if ceiling
        else None,
        "central_tendency": {
            "mean_pd": metrics["pd_model"]["oot"]["mean_pd"],
            "default_rate": metrics["pd_model"]["oot"]["default_rate"],
        },
        "auc_difference_pd_minus_scorecard": comparison,
        "grades_monotonic": bool(np.all(np.diff(dr) > 0)),
    }
    metrics["csi_top"] = {k: float(v) for k, v in stability.head(ev.top_csi).items()}
    _write_reports(
        layout,
        frame,
        preds,
        y,
        risk,
        oot,
        grades_oot,
        stability,
        metrics,
        ceiling,
        true_pd,
        ev.n_bins,
    )
    with tracking.resume_run(layout) as mlflow:
        tracking.log_metrics(mlflow, {k: v for k, v in metrics.items() if k != "csi_top"})
        mlflow.log_artifacts(str(layout.reports / "evaluation"), "evaluation")
        mlflow.log_artifact(str(layout.reports / "metrics.json"))
    _print(metrics)
    return metrics


def _write_reports(
    layout, frame, preds, y, risk, oot, grades_oot, stability, metrics, ceiling, true_pd, n_bins
) -> None:
    out = layout.reports / "evaluation"
    out.mkdir(parents=True, exist_ok=True)
    write_json(metrics, layout.reports / "metrics.json")
    y_oot = y[oot]
    tables = {m: calibration_table(y_oot, risk[m][oot], n_bins=n_bins) for m in MODELS}
    for m, t in tables.items():
        t.to_csv(out / f"calibration_deciles_{m}.csv", index=False)
    grades_oot.to_csv(out / "grades_oot.csv", index=False)
    stability.rename_axis("feature").reset_index().to_csv(out / "csi_train_vs_oot.csv", index=False)
    preds.assign(
        applicant_id=frame["applicant_id"], split=frame["split"], default_12m=y
    ).to_parquet(out / "predictions.parquet", index=False)
    # DVC plot data (long format).
    from sklearn.metrics import roc_curve

    rows = []
    curves = {**risk, **({"true_pd": true_pd} if ceiling else {})}
    for m, s in curves.items():
        fpr, tpr, _ = roc_curve(y_oot, s[oot])
        keep = np.unique(np.linspace(0, len(fpr) - 1, min(len(fpr), 200)).astype(int))
        rows.append(pd.DataFrame({"model": m, "fpr": fpr[keep], "tpr": tpr[keep]}))
    pd.concat(rows).to_csv(out / "roc_oot.csv", index=False)
    pd.concat([t.assign(model=m) for m, t in tables.items()]).to_csv(
        out / "calibration_oot.csv", index=False
    )
    scores = {"PD model": risk["pd_model"][oot], "scorecard": risk["scorecard"][oot]}
    if ceiling:
        scores["true PD (ceiling)"] = true_pd[oot]
    plots.save(plots.roc(y_oot, scores, "ROC, out of time"), out / "roc_oot.png")
    risk_scores = {
        "PD model": risk["pd_model"][oot],
        "scorecard": -preds["score"].to_numpy()[oot].astype(float),
    }
    plots.save(plots.ks(y_oot, risk_scores, "KS, out of time"), out / "ks_oot.png")
    plots.save(
        plots.calibration(
            {"PD model": tables["pd_model"], "scorecard": tables["scorecard"]},
            "Calibration, out of time",
        ),
        out / "calibration_oot.png",
    )
    plots.save(
        plots.score_distribution(
            y_oot,
            {
                "PD model log-odds": np.log(risk["pd_model"][oot] / (1 - risk["pd_model"][oot])),
                "scorecard points": preds["score"].to_numpy()[oot].astype(float),
            },
            "by outcome, out of time",
        ),
        out / "score_distribution_oot.png",
    )
    plots.save(
        plots.grades(grades_oot, "Default rate by grade, out of time"), out / "grades_oot.png"
    )


def _print(metrics: dict) -> None:
    table = Table(title="Evaluation (AUC / KS / Brier / ECE)")
    table.add_column("model")
    for s in SPLITS:
        table.add_column(s, justify="right")
    for m in MODELS:
        table.add_row(
            m,
            *(
                f"{metrics[m][s]['auc']:.3f} / {metrics[m][s]['ks']:.3f} / "
                f"{metrics[m][s]['brier']:.4f} / {metrics[m][s]['ece']:.4f}"
                for s in SPLITS
            ),
        )
    console.print(table)
    o = metrics["oot_summary"]
    if o["true_pd_auc_ceiling"]:
        console.print(
            f"OOT ceiling (true PD) AUC {o['true_pd_auc_ceiling']:.3f}; PD model "
            f"reaches {o['pd_model_share_of_ceiling']:.1%} of it"
        )
    c = o["auc_difference_pd_minus_scorecard"]
    console.print(
        f"AUC(PD model) - AUC(scorecard) on OOT: {c['auc_diff']:+.3f} "
        f"[95% CI {c['ci_low']:+.3f}, {c['ci_high']:+.3f}]; grades monotonic: "
        f"{o['grades_monotonic']}"
    )
