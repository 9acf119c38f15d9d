"""Stage ``reassess``: re-score the portfolio point-in-time as of a date.

The portfolio is the applicants approved at admission in the ``portfolio_months`` before the
as-of date. Each is scored twice with the exported bundle: on its admission features and on
features rebuilt as of the date from the validated tables (nothing dated later is used). Out
come the grade migration matrix, the early warnings from the params rules with a recommended
action, and the limit the policy would give today.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.assemble import build_features
from features.changes import changes_since_admission
from features.errors import DataError
from features.validation import VALIDATION_ORDER
from models.monitoring import early_warnings, migration_matrix, recommended_actions
from pipeline import html, tracking
from pipeline.bundle import conform, load_bundle
from pipeline.console import console
from pipeline.io import read_json, read_parquet, write_json, write_parquet
from pipeline.layout import Layout
from pipeline.params import Params


def run(params: Params, layout: Layout, as_of: str | None = None) -> dict:
    cfg = params.monitor
    if params.generate.source == "tabular":
        return _not_applicable(
            layout, "a single-table data set has no later records to re-assess customers on"
        )
    try:
        when = pd.Timestamp(as_of or cfg.reassess_as_of)
    except ValueError:
        raise DataError(f"--as-of must be a date YYYY-MM-DD; got {as_of!r}") from None
    latest = pd.Timestamp(params.validate.latest_date)
    if when > latest:
        raise DataError(
            f"--as-of {when.date()} is after the data extraction date "
            f"{latest.date()} (validate.latest_date): nothing is known after it"
        )
    bundle = layout.models / "bundle"
    model, manifest = load_bundle(bundle)
    schema = read_json(bundle / "input_schema.json")
    features = read_parquet(layout.processed / "features.parquet")
    start = when - pd.DateOffset(months=cfg.portfolio_months)
    window = features.loc[
        (features["application_date"] > start) & (features["application_date"] <= when)
    ].reset_index(drop=True)
    if window.empty:
        raise DataError(
            f"no application between {start.date()} and {when.date()}: nothing to re-assess"
        )
    admission = model.score(conform(window, schema), reasons_for=())
    accepted = (admission["decision"] == "approve").to_numpy()
    book = window.loc[accepted].reset_index(drop=True)
    before = admission.loc[accepted].reset_index(drop=True)
    tables = {
        t: read_parquet(layout.interim / f"{t}.parquet")
        for t in VALIDATION_ORDER
        if t != "outcomes"
    }
    spine = pd.DataFrame({"applicant_id": book["applicant_id"], "as_of": when})
    now_features = build_features(tables, params.features, spine)
    current = now_features.drop(columns=["as_of"]).assign(
        requested_limit=book["requested_limit"].to_numpy(),
        requested_terms_days=book["requested_terms_days"].to_numpy(),
    )
    now = model.score(conform(current, schema), reasons_for=("approve", "refer", "decline"))
    labels = [*model.scale.labels, model.scale.default_label]
    rank = {g: i for i, g in enumerate(labels)}
    changes = changes_since_admission(book, tables["compliance_events"], tables["invoices"], when)
    portfolio = pd.DataFrame(
        {
            "applicant_id": book["applicant_id"],
            "application_date": book["application_date"],
            "grade_at_admission": before["grade"].to_numpy(),
            "pd_at_admission": before["pd"].to_numpy(),
            "limit_at_admission": before["credit_limit"].to_numpy(),
            "grade_now": now["grade"].to_numpy(),
            "pd_now": now["pd"].to_numpy(),
            "decision_now": now["decision"].to_numpy(),
            "limit_now": now["credit_limit"].to_numpy(),
            "reason_1": now["reason_1"].to_numpy(),
            "reason_1_text": now["reason_1_text"].to_numpy(),
        }
    )
    portfolio["notches"] = (
        portfolio["grade_now"].map(rank) - portfolio["grade_at_admission"].map(rank)
    ).astype(int)
    portfolio = portfolio.merge(changes, on="applicant_id", how="left")
    warnings = early_warnings(portfolio, cfg.warnings)
    actions = recommended_actions(warnings).merge(
        portfolio[
            [
                "applicant_id",
                "grade_at_admission",
                "grade_now",
                "pd_now",
                "limit_at_admission",
                "limit_now",
                "reason_1_text",
            ]
        ],
        on="applicant_id",
    )
    matrix = migration_matrix(portfolio["grade_at_admission"], portfolio["grade_now"], labels)
    out = layout.reports / "monitoring"
    write_parquet(portfolio, out / "portfolio.parquet")
    warnings.to_csv(out / "early_warnings.csv", index=False)
    actions.to_csv(out / "actions.csv", index=False)
    matrix.to_csv(out / "grade_migration.csv")
    summary = {
        "as_of": str(when.date()),
        "portfolio": int(len(portfolio)),
        "applications_in_window": int(len(window)),
        "downgraded": int((portfolio["notches"] > 0).sum()),
        "upgraded": int((portfolio["notches"] < 0).sum()),
        "warnings": int(len(warnings)),
        "customers_with_warnings": int(actions["applicant_id"].nunique()),
        "by_rule": warnings["rule"].value_counts().to_dict(),
        "by_action": actions["action"].value_counts().to_dict(),
        "bundle_version": manifest["version"],
    }
    write_json(summary, out / "reassessment.json")
    _page(summary, matrix, actions, out / "early_warnings.html")
    with tracking.new_run(
        layout, f"reassess-{summary['as_of']}", {"stage": "reassess", "as_of": summary["as_of"]}
    ) as mlflow:
        tracking.log_metrics(mlflow, {k: v for k, v in summary.items() if isinstance(v, int)})
        for name in (
            "reassessment.json",
            "early_warnings.html",
            "early_warnings.csv",
            "actions.csv",
            "grade_migration.csv",
        ):
            mlflow.log_artifact(str(out / name), "monitoring")
    console.print(
        f"re-assessed {summary['portfolio']:,} customers as of {summary['as_of']}: "
        f"{summary['downgraded']:,} downgraded, {summary['customers_with_warnings']:,} "
        f"with early warnings {summary['by_action']} -> "
        f"{(out / 'early_warnings.html').relative_to(layout.root)}"
    )
    return summary


def _not_applicable(layout: Layout, why: str) -> dict:
    out = layout.reports / "monitoring"
    summary = {"status": "not_applicable", "reason": why}
    write_parquet(
        pd.DataFrame({"applicant_id": pd.Series([], dtype="str")}), out / "portfolio.parquet"
    )
    for name in ("early_warnings.csv", "actions.csv", "grade_migration.csv"):
        pd.DataFrame({"applicant_id": []}).to_csv(out / name, index=False)
    html.write_page(
        out / "early_warnings.html",
        "Portfolio re-assessment",
        "",
        [{"title": "Not applicable", "text": why}],
    )
    write_json(summary, out / "reassessment.json")
    console.print(f"re-assessment not applicable: {why}")
    return summary


def _page(summary: dict, matrix: pd.DataFrame, actions: pd.DataFrame, path) -> None:
    mig = matrix.reset_index().rename(columns={"grade_at_admission": "admission \\ now"})
    mig.columns = [str(c) for c in mig.columns]
    shown = actions.sort_values(["action", "pd_now"], ascending=[True, False]).head(500)
    sections = [
        {
            "title": "Summary",
            "bullets": [
                f"{summary['portfolio']:,} customers approved in the window; "
                f"{summary['downgraded']:,} downgraded, {summary['upgraded']:,} upgraded",
                f"{summary['customers_with_warnings']:,} customers with early warnings: "
                + ", ".join(f"{k} {v:,}" for k, v in summary["by_action"].items()),
                "warnings by rule: "
                + ", ".join(f"{k} {v:,}" for k, v in summary["by_rule"].items()),
            ],
        },
        {
            "title": "Grade migration (rows: grade at admission, columns: grade now)",
            "table": html.table(mig),
        },
        {
            "title": "Early warnings and recommended actions (most severe action per customer)",
            "text": "Limits: at admission and what the credit policy gives on today's grade.",
            "table": html.table(shown.assign(pd_now=np.round(shown["pd_now"], 4))),
        },
    ]
    html.write_page(
        path,
        f"Portfolio re-assessment as of {summary['as_of']}",
        f"bundle {summary['bundle_version']}",
        sections,
    )
