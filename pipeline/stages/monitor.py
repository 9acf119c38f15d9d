"""Stage ``monitor``: drift of the scored batch against the development (train) population.

Score PSI with the usual bands (< 0.10 stable, 0.10-0.25 watch, >= 0.25 act), per-feature CSI,
missing-rate shifts, the scorecard's characteristic analysis (mean points shift), and observed
vs expected default rate per grade when the batch has outcomes. JSON, an HTML page with plots
(in the language of params ``report.lang``), and a run in the monitoring experiment of MLflow.
"""

from __future__ import annotations

from dataclasses import asdict, replace
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
from pipeline.texts import TEXT

SCORED_BATCH = "data/scores/scores.parquet"
CSI_SHOWN = 15


def _scores(model, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    pd_ = model.pd_model.predict_proba(frame[model.features])[:, 1]
    points = model.scorecard.points_breakdown(frame[model.scorecard.names])
    return pd_, points.sum(axis=1).to_numpy(dtype=float), points


def _dates(frame: pd.DataFrame) -> pd.Series:
    return frame["application_date"] if "application_date" in frame else pd.Series([], "object")


def run(
    params: Params,
    layout: Layout,
    batch: Path | None = None,
    ledger_stats: pd.DataFrame | None = None,
    out_dir: Path | None = None,
) -> dict:
    """Drift page and JSON in ``out_dir`` (default ``data/reports/monitoring``).

    ``ledger_stats`` (``Ledger.grade_stats()``, from ``creditrisk monitor --ledger``) adds the
    decisions and overrides by grade; that page lives outside the DVC outputs."""
    cfg = params.monitor.drift
    lang = params.report.lang
    bundle = layout.models / "bundle"
    loaded = bundles.open_bundle(params, layout, bundle)
    model, schema, manifest = loaded.model, loaded.schema, loaded.manifest
    dev = split_frame(layout)
    train = dev.loc[dev["split"] == "train"].reset_index(drop=True)
    expected = conform(train, schema)
    if batch is None:
        ids = read_parquet(layout.scores / "scores.parquet", columns=["applicant_id"])
        actual = dev.loc[dev["applicant_id"].isin(ids["applicant_id"])]
        source, batch_file = f"scored batch ({SCORED_BATCH})", SCORED_BATCH
    else:
        actual = read_parquet(batch)
        source = batch_file = str(batch)
    actual = conform(actual.reset_index(drop=True), schema)
    out = out_dir or layout.reports / "monitoring"
    batch_window = html.window_of("batch", _dates(actual))
    lineage = html.Lineage(
        bundle=manifest["version"],
        as_of=batch_window[0][2] if batch_window else None,
        windows=html.window_of("development", _dates(train)) + batch_window,
        files=((TEXT[lang]["batch_file"], "", batch_file),),
    )
    if actual.empty:
        return _no_batch(layout, out, source, manifest["version"], lang, lineage)
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
    if ledger_stats is not None:
        report["ledger_by_grade"] = [
            {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
            for row in ledger_stats.to_dict("records")
        ]
    write_json(report, out / "drift.json")
    write_csv(pd.DataFrame(report["features"]), out / "csi.csv")
    page = _page(report, pd_e, pd_a, score_e, score_a, cfg, model.catalogue, lang)
    if ledger_stats is not None:
        page["sections"].append(_ledger_section(ledger_stats, lang))
    html.write_page(out / "drift.html", **page, lineage=lineage)
    with tracking.monitoring_run(
        layout,
        "monitor",
        "monitoring",
        {
            "stage": "monitor",
            "bundle_version": manifest["version"],
            "drift_status": report["status"],
        },
        f"Drift of {source} against the development sample: **{report['status']}**, "
        f"{len(report['alerts'])} alert(s).",
    ) as mlflow:
        tracking.log_metrics(
            mlflow,
            {
                "psi": {k: tracking.significant(v["psi"]) for k, v in report["scores"].items()},
                "n_alerts": len(report["alerts"]),
            },
        )
        tracking.log_params(mlflow, {"drift": asdict(cfg), "batch": source})
        for name in ("drift.json", "csi.csv"):
            mlflow.log_artifact(str(out / name), "monitoring")
        stamped = replace(lineage, **tracking.run_lineage(mlflow, layout, "monitoring"))
        tracking.log_written(
            mlflow,
            "drift.html",
            "monitoring",
            lambda path: html.write_page(path, **page, lineage=stamped),
        )
    style = {"stable": "green", "watch": "yellow", "act": "red"}[report["status"]]
    console.print(
        f"drift: [{style}]{report['status']}[/] - score PSI "
        + ", ".join(f"{k} {v['psi']:.3f}" for k, v in report["scores"].items())
        + f"; {len(report['alerts'])} alert(s) -> {out.relative_to(layout.root)}"
    )
    for alert in report["alerts"][:10]:
        console.print(f"  - {alert}")
    return report


def _no_batch(
    layout: Layout, out: Path, source: str, version: str, lang: str, lineage: html.Lineage
) -> dict:
    """Nothing to compare (e.g. a public data set where every row has an outcome)."""
    t = TEXT[lang]
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
        t["drift_title"],
        "",
        [{"title": t["no_batch_title"], "text": t["no_batch_text"]}],
        t=t,
        lang=lang,
        lineage=lineage,
    )
    console.print(f"drift: no batch to compare ({source})")
    return report


def _ledger_section(stats: pd.DataFrame, lang: str) -> dict:
    """Decisions and overrides by grade from the ledger, with the override rate plotted."""
    t = TEXT[lang]
    if stats.empty:
        return {"title": t["ledger_title"], "text": t["ledger_none"]}

    def shown(column: str, value: object) -> str:
        if column == "override_rate":
            return f"{value:.1%}" if np.isfinite(value) else "-"
        return f"{value:,}" if isinstance(value, (int, np.integer)) else html.cell(value)

    with plots.language(lang) as fits:
        p = t if fits else TEXT["en"]
        rate = stats["override_rate"].fillna(0.0)
        image = plots.data_uri(
            plots.hbars(
                [str(g) for g in stats["grade"]],
                rate.tolist(),
                p["override_rate_by_grade"],
                p["columns"]["override_rate"],
            )
        )
    return {
        "title": t["ledger_title"],
        "text": t["ledger_note"],
        "table": html.table(stats, None, t["columns"], shown),
        "images": [image],
    }


def _alert(alert: dict, lang: str, catalogue) -> str:
    """One drift alert in the page's language."""
    t = TEXT[lang]
    name = t["score_names"].get(alert["name"]) or _feature(alert["name"], catalogue, lang)
    if alert["kind"] == "missing":
        return t["alert_missing"].format(
            name=name, before=f"{alert['before']:.0%}", after=f"{alert['after']:.0%}"
        )
    key = "alert_score" if alert["kind"] == "score" else "alert_feature"
    return t[key].format(name=name, value=f"{alert['value']:.3f}", band=t["bands"][alert["band"]])


def _feature(name: str, catalogue, lang: str) -> str:
    """A feature's catalogue description (its code when the catalogue does not know it)."""
    return catalogue[name].description(lang) if name in catalogue else name


def _page(report: dict, pd_e, pd_a, score_e, score_a, cfg, catalogue, lang: str) -> dict:
    """The drift page's title, subtitle and sections (``html.write_page`` arguments)."""
    t = TEXT[lang]
    cols = t["columns"]
    band_css = lambda c, v: v if c in ("band", "status") else ""  # noqa: E731

    def shown(column: str, value: object) -> str:
        if column == "band":
            return t["bands"].get(str(value), str(value))
        if column == "score":
            return t["score_names"].get(str(value), str(value))
        if column.startswith("missing_") or column == "observed_dr" or column == "mean_pd":
            return f"{value:.1%}" if isinstance(value, float) and np.isfinite(value) else "-"
        return html.cell(value)

    scores = pd.DataFrame([{"score": k, **v} for k, v in report["scores"].items()])
    feats = pd.DataFrame(report["features"])
    top = feats.head(CSI_SHOWN).copy()
    top.insert(1, "description", [_feature(f, catalogue, lang) for f in top["feature"]])
    status = report["status"]
    with plots.language(lang) as fits:
        p = t if fits else TEXT["en"]  # plot labels: English without a CJK font
        names = (p["development"], p["batch"])
        images = [
            plots.data_uri(
                plots.distributions(
                    np.log(pd_e / (1 - pd_e)),
                    np.log(pd_a / (1 - pd_a)),
                    p["log_odds_label"],
                    names,
                    p["density"],
                    p["versus"].format(label=p["log_odds_label"], a=names[0], b=names[1]),
                )
            ),
            plots.data_uri(
                plots.distributions(
                    score_e,
                    score_a,
                    p["points_label"],
                    names,
                    p["density"],
                    p["versus"].format(label=p["points_label"], a=names[0], b=names[1]),
                )
            ),
        ]
        csi_plot = plots.data_uri(
            plots.hbars(
                top["feature"].tolist(),
                top["csi"].tolist(),
                p["csi_by_feature"],
                "CSI",
                (cfg.watch, cfg.act),
                (
                    p["watch_from"].format(value=f"{cfg.watch:.2f}"),
                    p["act_from"].format(value=f"{cfg.act:.2f}"),
                ),
            )
        )
    sections = [
        {
            "title": t["status"],
            "status": status,
            "status_text": t["drift_status"].format(
                status=t["bands"].get(status, status).upper(), n=len(report["alerts"])
            ),
            "bullets": [_alert(a, lang, catalogue) for a in report.get("alert_details", [])]
            or [t["no_alert"]],
        },
        {
            "title": t["score_stability"].format(watch=f"{cfg.watch:.2f}", act=f"{cfg.act:.2f}"),
            "table": html.table(scores.round(4), band_css, cols, shown),
            "images": images,
        },
        {
            "title": t["csi_title"].format(n=len(top)),
            "table": html.table(
                top[
                    [
                        "feature",
                        "description",
                        "csi",
                        "band",
                        "missing_expected",
                        "missing_actual",
                        "missing_shift",
                    ]
                ],
                band_css,
                cols,
                shown,
                code=("feature",),
            ),
            "images": [csi_plot],
        },
    ]
    if "characteristics" in report:
        chars = pd.DataFrame(report["characteristics"])
        sections.append(
            {
                "title": t["characteristics_title"],
                "text": t["characteristics_note"],
                "table": html.table(chars, headers=cols, code=("characteristic",)),
            }
        )
    if "grades_actual_vs_expected" in report:
        sections.append(
            {
                "title": t["grades_title"],
                "table": html.table(
                    pd.DataFrame(report["grades_actual_vs_expected"]), None, cols, shown
                ),
            }
        )
    return {
        "title": t["drift_title"],
        "subtitle": t["drift_subtitle"].format(
            n_actual=f"{report['n_actual']:,}", n_expected=f"{report['n_expected']:,}"
        ),
        "sections": sections,
        "t": t,
        "lang": lang,
    }


if __name__ == "__main__":
    from pipeline.stages import main

    main(run)
