"""Stage ``reassess``: re-score the portfolio point-in-time as of a date.

Reads the bundle, the features and the validated tables, calls
:func:`models.reassessment.reassess_portfolio`, and writes the portfolio, warnings, actions,
grade migration and an HTML page; logged to MLflow.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from features.contract.validation import VALIDATION_ORDER
from features.errors import DataError
from models.reassessment import reassess_portfolio
from pipeline import bundles, html, tracking
from pipeline.console import console
from pipeline.io import read_parquet, write_csv, write_json, write_parquet
from pipeline.layout import Layout
from pipeline.params import Params


def run(
    params: Params,
    layout: Layout,
    as_of: str | None = None,
    admitted: pd.DataFrame | None = None,
    out_dir: Path | None = None,
) -> dict:
    """The DVC stage re-assesses what the bundle approves; ``admitted`` (from the decision
    ledger: ``creditrisk reassess --from-ledger``) re-assesses what the business approved,
    written to ``out_dir`` instead of the DVC outputs."""
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
    loaded = bundles.open_bundle(params, layout, bundle)
    tables = {
        t: read_parquet(layout.interim / f"{t}.parquet")
        for t in VALIDATION_ORDER
        if t != "outcomes"
    }
    result = reassess_portfolio(
        loaded.model,
        loaded.schema,
        read_parquet(layout.processed / "features.parquet"),
        tables,
        params.features,
        cfg.warnings,
        when,
        cfg.portfolio_months,
        admitted,
    )
    portfolio, warnings, actions, matrix = (
        result.portfolio,
        result.warnings,
        result.actions,
        result.migration,
    )
    out = out_dir or layout.reports / "monitoring"
    write_parquet(portfolio, out / "portfolio.parquet")
    write_csv(warnings, out / "early_warnings.csv")
    write_csv(actions, out / "actions.csv")
    write_csv(matrix, out / "grade_migration.csv", index=True)
    summary = result.summary
    write_json(summary, out / "reassessment.json")
    _page(summary, matrix, actions, out / "early_warnings.html", cfg.warnings.action_order)
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
        write_csv(pd.DataFrame({"applicant_id": []}), out / name)
    html.write_page(
        out / "early_warnings.html",
        "Portfolio re-assessment",
        "",
        [{"title": "Not applicable", "text": why}],
    )
    write_json(summary, out / "reassessment.json")
    console.print(f"re-assessment not applicable: {why}")
    return summary


SHOWN_PER_ACTION = 500


def _formatted(rows: pd.DataFrame) -> pd.DataFrame:
    """PD as a percentage, limits as whole amounts (the same formats as the applicant pages)."""
    out = rows.copy()
    out["pd_now"] = [f"{p:.2%}" for p in out["pd_now"]]
    for c in ("limit_at_admission", "limit_now"):
        if c in out:
            out[c] = [f"{v:,.0f}" if pd.notna(v) else "-" for v in out[c]]
    return out


def _page(
    summary: dict,
    matrix: pd.DataFrame,
    actions: pd.DataFrame,
    path,
    action_order: tuple[str, ...] = (),
) -> None:
    """Most severe action first (the last of ``action_order``), one anchored section per action
    with its customers by PD (highest first), and a table of contents with the counts."""
    mig = matrix.reset_index().rename(columns={"grade_at_admission": "admission \\ now"})
    mig.columns = [str(c) for c in mig.columns]
    severity = {a: i for i, a in enumerate(action_order)}
    present = sorted(
        actions["action"].dropna().unique(), key=lambda a: (-severity.get(a, -1), str(a))
    )
    by_action = [
        (
            a,
            actions.loc[actions["action"] == a].sort_values(
                ["pd_now", "applicant_id"], ascending=[False, True]
            ),
        )
        for a in present
    ]
    nav = [{"id": f"action-{a}", "text": f"{a}: {len(rows):,} customers"} for a, rows in by_action]
    sections = [
        {
            "title": "Summary",
            "bullets": [
                f"{summary['portfolio']:,} customers approved in the window; "
                f"{summary['downgraded']:,} downgraded, {summary['upgraded']:,} upgraded",
                f"{summary['customers_with_warnings']:,} customers with early warnings, most "
                "severe action first: " + ", ".join(f"{a} {len(rows):,}" for a, rows in by_action),
                "warnings by rule: "
                + ", ".join(f"{k} {v:,}" for k, v in summary["by_rule"].items()),
            ],
        },
    ]
    for a, rows in by_action:
        shown = rows.head(SHOWN_PER_ACTION).drop(columns=["action"])
        same = (
            int((rows["limit_now"] >= rows["limit_at_admission"]).sum())
            if a == "reduce_limit" and {"limit_now", "limit_at_admission"} <= set(rows.columns)
            else 0
        )
        note = "Limits: at admission and what the credit policy gives on today's grade."
        if same:
            note += (
                f" {same:,} of these customers keep their limit under today's grade: "
                "the reduction must be set by hand."
            )
        if len(rows) > SHOWN_PER_ACTION:
            note += f" The {SHOWN_PER_ACTION:,} highest PDs are shown; all are in actions.csv."
        sections.append(
            {
                "id": f"action-{a}",
                "title": f"{a} ({len(rows):,} customers, highest PD first)",
                "text": note,
                "table": html.table(_formatted(shown)),
            }
        )
    sections.append(
        {
            "id": "migration",
            "title": "Grade migration (rows: grade at admission, columns: grade now)",
            "table": html.table(mig),
        }
    )
    html.write_page(
        path,
        f"Portfolio re-assessment as of {summary['as_of']}",
        f"bundle {summary['bundle_version']}",
        sections,
        nav=nav + [{"id": "migration", "text": "Grade migration"}],
    )


if __name__ == "__main__":
    from pipeline.stages import main

    main(run)
