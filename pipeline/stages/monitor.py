"""Stage ``monitor``: drift of the scored batch against the development (train) population.

Score PSI with the usual bands (< 0.10 stable, 0.10-0.25 watch, >= 0.25 act), per-feature CSI,
missing-rate shifts, the scorecard's characteristic analysis (mean points shift), and observed
vs expected default rate per grade when the batch has outcomes. JSON, an HTML page with plots,
and an MLflow run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from models.metrics import grade_table
from models.monitoring import drift_report
from models.scoring import conform
from pipeline import bundles, html, plots, tracking
from pipeline.artifacts import split_frame
from pipeline.console import console
from pipeline.io import read_parquet, write_csv, write_json
from pipeline.layout import Layout
from pipeline.params import Params


def _scores(model, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    pd_ = model.pd_model.predict_proba(frame[model.features])[:, 1]
    points = model.scorecard.points_breakdown(frame[model.scorecard.names])
    return pd_, points.sum(axis=1).to_numpy(dtype=float), points


def run(params: Params, layout: Layout, batch: Path | None = None) -> dict:
    cfg = params.monitor.drift
    bundle = layout.models / "bundle"
    loaded = bundles.open_bundle(params, layout, bundle)
    model, schema, manifest = loaded.model, loaded.schema, loaded.manifest
    dev = split_frame(layout)
    expected = conform(dev.loc[dev["split"] == "train"].reset_index(drop=True), schema)
    if batch is None:
        ids = read_parquet(layout.scores / "scores.parquet", columns=["applicant_id"])
        actual = dev.loc[dev["applicant_id"].isin(ids["applicant_id"])]
        source = "scored batch (data/scores/scores.parquet)"
    else:
        actual = read_parquet(batch)
        source = str(batch)
    actual = conform(actual.reset_index(drop=True), schema)
    out = layout.reports / "monitoring"
    if actual.empty:
        return _no_batch(out, source, manifest["version"])
    pd_e, score_e, pts_e = _scores(model, expected)
    pd_a, score_a, pts_a = _scores(model, actual)
    report = drift_report(
        expected,
        actual,
        model.features,
        {"pd": (pd_e, pd_a), "scorecard_score": (score_e, score_a)},
        (pts_e, pts_a),
        cfg,
    )
    labelled = actual["default_12m"].notna() if "default_12m" in actual else None
    if labelled is not None and labelled.sum() >= 50:
        table = grade_table(
            actual.loc[labelled, "default_12m"].astype(int).to_numpy(),
            pd_a[labelled.to_numpy()],
            model.scale,
        )
        report["grades_actual_vs_expected"] = table.to_dict("records")
    report.update(
        bundle_version=manifest["version"],
        batch=source,
        drift_scenario=params.generate.synthetic.drift.name,
    )
    write_json(report, out / "drift.json")
    write_csv(pd.DataFrame(report["features"]), out / "csi.csv")
    _page(report, pd_e, pd_a, score_e, score_a, out / "drift.html")
    with tracking.new_run(
        layout,
        "monitor",
        {
            "stage": "monitor",
            "bundle_version": manifest["version"],
            "drift_status": report["status"],
        },
    ) as mlflow:
        tracking.log_metrics(
            mlflow,
            {
                "psi": {k: v["psi"] for k, v in report["scores"].items()},
                "n_alerts": len(report["alerts"]),
            },
        )
        for name in ("drift.json", "drift.html", "csi.csv"):
            mlflow.log_artifact(str(out / name), "monitoring")
    style = {"stable": "green", "watch": "yellow", "act": "red"}[report["status"]]
    console.print(
        f"drift: [{style}]{report['status']}[/] - score PSI "
        + ", ".join(f"{k} {v['psi']:.3f}" for k, v in report["scores"].items())
        + f"; {len(report['alerts'])} alert(s) -> {out.relative_to(layout.root)}"
    )
    for alert in report["alerts"][:10]:
        console.print(f"  - {alert}")
    return report


def _no_batch(out: Path, source: str, version: str) -> dict:
    """Nothing to compare (e.g. a public data set where every row has an outcome)."""
    report = {
        "status": "no_batch",
        "batch": source,
        "n_actual": 0,
        "alerts": [],
        "bundle_version": version,
    }
    write_json(report, out / "drift.json")
    write_csv(pd.DataFrame(columns=["feature", "csi", "band"]), out / "csi.csv")
    html.write_page(
        out / "drift.html",
        "Drift report",
        f"bundle {version}",
        [
            {
                "title": "No batch",
                "text": f"{source} holds no applicant to compare with the development sample.",
            }
        ],
    )
    console.print(f"drift: no batch to compare ({source})")
    return report


def _page(report: dict, pd_e, pd_a, score_e, score_a, path: Path) -> None:
    band_css = lambda c, v: v if c in ("band", "status") else ""  # noqa: E731
    scores = pd.DataFrame([{"score": k, **v} for k, v in report["scores"].items()])
    feats = pd.DataFrame(report["features"])
    top = feats.head(15)
    sections = [
        {
            "title": "Status",
            "status": report["status"],
            "status_text": f"{report['status'].upper()}: {len(report['alerts'])} alert(s)",
            "bullets": report["alerts"] or ["No drift alert."],
        },
        {
            "title": "Score stability (PSI: < 0.10 stable, 0.10-0.25 watch, >= 0.25 act)",
            "table": html.table(scores.round(4), band_css),
            "images": [
                plots.data_uri(
                    plots.distributions(
                        np.log(pd_e / (1 - pd_e)), np.log(pd_a / (1 - pd_a)), "PD model log-odds"
                    )
                ),
                plots.data_uri(plots.distributions(score_e, score_a, "scorecard points")),
            ],
        },
        {
            "title": "Characteristic stability (CSI), top 15",
            "table": html.table(
                top[
                    [
                        "feature",
                        "csi",
                        "band",
                        "missing_expected",
                        "missing_actual",
                        "missing_shift",
                    ]
                ],
                band_css,
            ),
            "images": [
                plots.data_uri(
                    plots.hbars(
                        top["feature"].tolist(),
                        top["csi"].tolist(),
                        "CSI by feature",
                        "CSI",
                        (0.10, 0.25),
                        ("watch from 0.10", "act from 0.25"),
                    )
                )
            ],
        },
    ]
    if "characteristics" in report:
        chars = pd.DataFrame(report["characteristics"])
        sections.append(
            {
                "title": "Characteristic analysis (scorecard points)",
                "text": "Mean points per characteristic in the development sample "
                "and the batch; a negative shift means the batch scores worse "
                "on that characteristic.",
                "table": html.table(chars),
            }
        )
    if "grades_actual_vs_expected" in report:
        sections.append(
            {
                "title": "Observed vs expected default rate by grade",
                "table": html.table(pd.DataFrame(report["grades_actual_vs_expected"])),
            }
        )
    html.write_page(
        path,
        "Drift report",
        f"batch: {report['batch']} ({report['n_actual']:,} "
        f"applicants) vs development ({report['n_expected']:,}); bundle "
        f"{report['bundle_version']}",
        sections,
    )


if __name__ == "__main__":
    from pipeline.stages import main

    main(run)
