"""Stage ``evaluate``: the models (PD model, scorecard, EBM when trained) on train, validation
and out-of-time; plots; MLflow.

The model run gets the headline out-of-time metrics (4 significant digits); every metric is in
``metrics.json`` and, as a table, ``evaluation/metrics_table.csv``.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
from rich.table import Table

from models.evaluation import MODELS, SPLITS, Evaluation, decide_by_swap_set, evaluate_models
from models.strategy import StrategyReport, StrategySettings, strategy_report
from pipeline import plots, tracking
from pipeline.artifacts import load_catalogue, load_models, split_frame
from pipeline.console import console
from pipeline.io import read_parquet, write_csv, write_json
from pipeline.layout import Layout
from pipeline.params import Params


def run(params: Params, layout: Layout) -> dict:
    ev = params.evaluate
    everyone = split_frame(layout)
    frame = everyone.loc[everyone["split"].isin(SPLITS)].reset_index(drop=True)
    # The simulator's truth (empty for real data) enters evaluation only, never training.
    truth = read_parquet(layout.truth)
    models = load_models(layout)
    result = evaluate_models(
        models,
        everyone,
        params.grading,
        ev.n_bins,
        ev.n_bootstrap,
        ev.top_csi,
        params.seed,
        truth,
        ev.target_bad_rate,
    )
    oot = result.oot
    strategy = strategy_report(
        result.y[oot],
        result.risk["pd_model"][oot],
        result.predictions["grade"].to_numpy()[oot],
        frame["requested_limit"].to_numpy(dtype="float64")[oot],
        params.grading.labels,
        params.strategy,
        ev.n_bins,
    )
    result.metrics["strategy"] = strategy.summary
    swaps = decide_by_swap_set(
        models, everyone, load_catalogue(layout), params.grading, params.policy, truth
    )
    result.metrics["swap_set_pd_model_vs_scorecard"] = _swap_summary(swaps)
    _write_reports(layout, frame, result)
    write_csv(swaps, layout.reports / "evaluation" / "swap_set_pd_model_vs_scorecard.csv")
    currency = params.report.currency if strategy.summary["exposure"] != "unit" else "unit"
    _write_strategy(layout.reports / "evaluation", strategy, params.strategy, currency)
    metrics = result.metrics
    with tracking.resume_run(layout) as mlflow:
        mlflow.log_metrics(tracking.headline_metrics(metrics))
        mlflow.set_tag("oot.grades_monotonic", str(metrics["oot_summary"]["grades_monotonic"]))
        tracking.log_params_once(
            mlflow, {"evaluate": asdict(ev), "strategy": asdict(params.strategy)}
        )
        mlflow.log_artifacts(str(layout.reports / "evaluation"), "evaluation")
        mlflow.log_artifact(str(layout.reports / "metrics.json"))
    _print(metrics)
    _print_strategy(strategy.summary, currency)
    return metrics


def _write_reports(layout: Layout, frame: pd.DataFrame, result: Evaluation) -> None:
    out = layout.reports / "evaluation"
    out.mkdir(parents=True, exist_ok=True)
    write_json(result.metrics, layout.reports / "metrics.json")
    write_csv(
        pd.DataFrame(tracking.metric_rows(result.metrics), columns=["metric", "value"]),
        out / "metrics_table.csv",
    )
    preds, y, risk, oot = result.predictions, result.y, result.risk, result.oot
    grades_oot, stability, ceiling, true_pd = (
        result.grades_oot,
        result.stability,
        result.ceiling,
        result.true_pd,
    )
    y_oot = y[oot]
    tables = result.calibration_oot
    for m, t in tables.items():
        write_csv(t, out / f"calibration_deciles_{m}.csv")
    write_csv(grades_oot, out / "grades_oot.csv")
    write_csv(stability.rename_axis("feature").reset_index(), out / "csi_train_vs_oot.csv")
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
    write_csv(pd.concat(rows), out / "roc_oot.csv")
    write_csv(
        pd.concat([t.assign(model=m) for m, t in tables.items()]), out / "calibration_oot.csv"
    )
    scores = {"PD model": risk["pd_model"][oot], "scorecard": risk["scorecard"][oot]}
    if "ebm" in risk:
        scores["EBM"] = risk["ebm"][oot]
    if ceiling:
        scores["true PD (ceiling)"] = true_pd[oot]
    plots.save(plots.roc(y_oot, scores, "ROC, out of time"), out / "roc_oot.png")
    risk_scores = {
        "PD model": risk["pd_model"][oot],
        "scorecard": -preds["score"].to_numpy()[oot].astype(float),
        **({"EBM": risk["ebm"][oot]} if "ebm" in risk else {}),
    }
    plots.save(plots.ks(y_oot, risk_scores, "KS, out of time"), out / "ks_oot.png")
    plots.save(
        plots.calibration(
            {
                "PD model": tables["pd_model"],
                "scorecard": tables["scorecard"],
                **({"EBM": tables["ebm"]} if "ebm" in tables else {}),
            },
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
                **(
                    {"EBM log-odds": np.log(risk["ebm"][oot] / (1 - risk["ebm"][oot]))}
                    if "ebm" in risk
                    else {}
                ),
            },
            "by outcome, out of time",
        ),
        out / "score_distribution_oot.png",
    )
    plots.save(
        plots.grades(grades_oot, "Default rate by grade, out of time"), out / "grades_oot.png"
    )


def _swap_summary(table: pd.DataFrame) -> dict:
    """Swap-ins and swap-outs of the challenger (the scorecard deciding), with bad rates."""
    rows = table.set_index("group")
    out = {"population": str(table["population"].iloc[0])}
    for group in ("swap-ins", "swap-outs"):
        row = rows.loc[group]
        key = group.replace("-", "_")
        out[key] = int(row["n"])
        rate = row.get("observed_bad_rate")
        out[f"{key}_observed_bad_rate"] = None if rate is None or pd.isna(rate) else float(rate)
    return out


def _write_strategy(
    out: Path, report: StrategyReport, settings: StrategySettings, currency: str
) -> None:
    """Strategy tables (DVC plot data) and their pictures, out of time."""
    write_csv(report.gains, out / "gains.csv")
    write_csv(report.cutoffs, out / "cutoff_curve.csv")
    write_csv(report.choices, out / "cutoff_choices.csv")
    write_csv(report.grades, out / "grade_strategy.csv")
    plots.save(plots.gains(report.gains, "Gains, out of time"), out / "gains_oot.png")
    plots.save(
        plots.tradeoff(
            report.cutoffs,
            report.choices,
            settings.target_bad_rate,
            settings.target_approval_rate,
            "Approval rate vs bad rate by PD cut-off, out of time",
        ),
        out / "approval_vs_bad_rate_oot.png",
    )
    plots.save(
        plots.profit(
            report.cutoffs,
            report.choices,
            settings.break_even_pd,
            currency,
            f"Profit by PD cut-off, out of time (margin {settings.margin:.0%}, "
            f"LGD {settings.lgd:.0%})",
        ),
        out / "profit_by_cutoff_oot.png",
    )
    plots.save(
        plots.grade_strategy(
            report.grades,
            "target_bad_rate",
            settings.target_bad_rate,
            f"Grade decisions for a {settings.target_bad_rate:.1%} target bad rate, out of time",
        ),
        out / "grade_strategy_oot.png",
    )


def _print_strategy(summary: dict, currency: str) -> None:
    names = {
        "max_profit": "max profit",
        "target_bad_rate": "bad rate {:.1%}",
        "target_approval_rate": "approve {:.0%}",
    }
    table = Table(title=f"Strategy, out of time (exposure: {summary['exposure']})")
    for c in ("target", "PD cut-off", "approves", "bad rate", "profit", "approve to", "refer"):
        table.add_column(c, justify="left" if c == "target" else "right")
    for rule, c in summary["cutoffs"].items():
        g = summary["grades"][rule]
        grades = (g["last_approved"] or "none", g["referred"] or "none")
        name = names[rule].format(c["target"])
        if not c["met"]:
            table.add_row(name, "not met", "", "", "", *grades)
            continue
        table.add_row(
            name,
            f"{c['cutoff']:.2%}",
            f"{c['approval_rate']:.1%}",
            f"{c['expected_bad_rate']:.2%}",
            plots.money(c["expected_profit"], currency),
            *grades,
        )
    console.print(table)


def _print(metrics: dict) -> None:
    table = Table(title="Evaluation (AUC / KS / Brier / ECE)")
    table.add_column("model")
    for s in SPLITS:
        table.add_column(s, justify="right")
    for m in (m for m in MODELS if m in metrics):
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
    t = metrics.get("through_the_door")
    if t:
        console.print(
            f"through the door (OOT, {t['n']:,} applicants, {t['declined_by_company']:,} declined "
            f"by the company; true default rate {t['true_default_rate']:.2%} vs accepts "
            f"{t['accepts_default_rate']:.2%}): AUC PD model {t['pd_model']['auc']:.3f} "
            f"(accepts {t['pd_model']['auc_accepts']:.3f}), scorecard "
            f"{t['scorecard']['auc']:.3f}"
            + (f", EBM {t['ebm']['auc']:.3f}" if "ebm" in t else "")
            + f"; mean PD {t['pd_model']['mean_pd']:.2%}; approval "
            f"rate at a {t['target_bad_rate']:.0%} bad rate "
            f"{t['pd_model']['approval_rate_at_target']:.1%}"
        )
    c = o["auc_difference_pd_minus_scorecard"]
    console.print(
        f"AUC(PD model) - AUC(scorecard) on OOT: {c['auc_diff']:+.3f} "
        f"[95% CI {c['ci_low']:+.3f}, {c['ci_high']:+.3f}]; grades monotonic: "
        f"{o['grades_monotonic']}"
    )
    if "auc_difference_ebm_minus_pd" in o:
        for other, key in (("PD model", "pd"), ("scorecard", "scorecard")):
            d = o[f"auc_difference_ebm_minus_{key}"]
            console.print(
                f"AUC(EBM) - AUC({other}) on OOT: {d['auc_diff']:+.3f} "
                f"[95% CI {d['ci_low']:+.3f}, {d['ci_high']:+.3f}]"
            )


if __name__ == "__main__":
    from pipeline.stages import main

    main(run)
