"""Stage ``reassess``: re-score the portfolio point-in-time as of a date.

Reads the bundle, then runs :func:`models.reassessment.reassess_part` once per bucket of
applicants on the compute engine (each task reads its bucket's validated tables and features
rows where it runs), assembles the parts with :func:`models.reassessment.assemble_reassessment`,
and writes the portfolio, warnings, actions, grade migration and an HTML page (in the language
of params ``report.lang``); logged to the monitoring experiment of MLflow. One file per table is
one bucket.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

import pandas as pd

from features.contract.validation import APPLICATION_TABLES
from features.errors import DataError
from models.policy import LIMIT_STEP
from models.reassessment import PortfolioPart, Rescoring, assemble_reassessment, reassess_part
from pipeline import bundles, html, tracking
from pipeline.buckets import bucket_items, read_bucket
from pipeline.compute import engine
from pipeline.console import console
from pipeline.io import write_csv, write_json, write_parquet
from pipeline.layout import Layout
from pipeline.params import Params
from pipeline.texts import TEXT


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
    lang, currency = params.report.lang, params.report.currency
    if params.generate.source == "tabular":
        return _not_applicable(layout, lang)
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
    items = bucket_items(layout.interim, APPLICATION_TABLES, layout.processed / "features.parquet")
    with engine(params.compute) as compute:
        rescoring = Rescoring(loaded.model, loaded.schema, params.features, cfg.warnings)
        parts = compute.map(
            reassess_bucket,
            items,
            compute.share(rescoring),
            when,
            cfg.portfolio_months,
            None if admitted is None else compute.share(admitted),
            lang,
            label="reassess",
        )
        result = assemble_reassessment(
            parts, loaded.model, cfg.warnings, when, cfg.portfolio_months, admitted is not None
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
    window = cfg.portfolio_months if admitted is None else None
    lineage = html.Lineage(
        bundle=summary["bundle_version"],
        as_of=summary["as_of"],
        windows=html.windows_of(loaded.manifest.get("data_window"), ("train", "oot"))
        + html.window_of("portfolio", portfolio["application_date"]),
    )
    page = _page(summary, matrix, actions, result.warnings, cfg.warnings, lang, currency)
    html.write_page(out / "early_warnings.html", **page, lineage=lineage)
    with tracking.monitoring_run(
        layout,
        f"reassess-{summary['as_of']}",
        "reassessment",
        {"stage": "reassess", "as_of": summary["as_of"], "bundle_version": lineage.bundle},
        f"Re-assessment of {summary['portfolio']:,} customers as of {summary['as_of']}: "
        f"{summary['downgraded']:,} downgraded, {summary['customers_with_warnings']:,} with "
        "early warnings.",
    ) as mlflow:
        tracking.log_metrics(
            mlflow,
            {
                **{k: v for k, v in summary.items() if isinstance(v, int)},
                "action": summary["by_action"],
            },
        )
        tracking.log_params(
            mlflow,
            {
                "portfolio_months": window if window is not None else "ledger",
                "warnings": asdict(cfg.warnings),
            },
        )
        for name in (
            "reassessment.json",
            "early_warnings.csv",
            "actions.csv",
            "grade_migration.csv",
        ):
            mlflow.log_artifact(str(out / name), "monitoring")
        stamped = replace(lineage, **tracking.run_lineage(mlflow, layout, "reassessment"))
        tracking.log_written(
            mlflow,
            "early_warnings.html",
            "monitoring",
            lambda path: html.write_page(path, **page, lineage=stamped),
        )
    console.print(
        f"re-assessed {summary['portfolio']:,} customers as of {summary['as_of']}: "
        f"{summary['downgraded']:,} downgraded, {summary['customers_with_warnings']:,} "
        f"with early warnings {summary['by_action']} -> "
        f"{(out / 'early_warnings.html').relative_to(layout.root)}"
    )
    return summary


def reassess_bucket(
    item: tuple[dict[str, Path], Path, int, int], rescoring: Rescoring, *args
) -> PortfolioPart:
    """One bucket re-assessed where it runs (``args``: those of
    :func:`models.reassessment.reassess_part` after the tables)."""
    features, tables = read_bucket(item)
    return reassess_part(rescoring, features, tables, *args)


def _not_applicable(layout: Layout, lang: str) -> dict:
    t = TEXT[lang]
    out = layout.reports / "monitoring"
    why = TEXT["en"]["ew_tabular"]
    summary = {"status": "not_applicable", "reason": why}
    write_parquet(
        pd.DataFrame({"applicant_id": pd.Series([], dtype="str")}), out / "portfolio.parquet"
    )
    for name in ("early_warnings.csv", "actions.csv", "grade_migration.csv"):
        write_csv(pd.DataFrame({"applicant_id": []}), out / name)
    html.write_page(
        out / "early_warnings.html",
        t["ew_title_plain"],
        "",
        [{"title": t["not_applicable"], "text": t["ew_tabular"]}],
        t=t,
        lang=lang,
        lineage=html.Lineage(bundle=tracking.bundle_version(layout) or "-"),
    )
    write_json(summary, out / "reassessment.json")
    console.print(f"re-assessment not applicable: {why}")
    return summary


SHOWN_PER_ACTION = 500
LIMITS = ("limit_at_admission", "limit_now", "limit_recommended")


def _formatted(rows: pd.DataFrame, currency: str) -> pd.DataFrame:
    """PD as a percentage, limits as whole amounts in the currency (the applicant pages'
    formats)."""
    out = rows.copy()
    out["pd_now"] = [f"{p:.2%}" for p in out["pd_now"]]
    for c in LIMITS:
        if c in out:
            out[c] = [f"{currency} {v:,.0f}" if pd.notna(v) else "-" for v in out[c]]
    return out


def _rule_text(rule, t: dict) -> str:
    """What a warning rule checks, in the page's language."""
    threshold = f"{rule.threshold:.0%}" if rule.kind == "pd_above" else f"{rule.threshold:g}"
    event = t["events"].get(rule.event_type or "", rule.event_type or "")
    return t["rule_kinds"][rule.kind].format(threshold=threshold, event=event)


def _page(
    summary: dict,
    matrix: pd.DataFrame,
    actions: pd.DataFrame,
    warnings: pd.DataFrame,
    policy,
    lang: str = "en",
    currency: str = "EUR",
) -> dict:
    """Most severe action first (the last of the policy's ``action_order``), one anchored
    section per action with its customers by PD (highest first), and a table of contents
    with the counts; the rules and the grade migration after them (``html.write_page``
    arguments)."""
    t = TEXT[lang]
    cols, names = t["columns"], t["actions"]
    mig = matrix.reset_index().rename(columns={"grade_at_admission": "migration"})
    mig.columns = [str(c) for c in mig.columns]
    severity = {a: i for i, a in enumerate(policy.action_order)}
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
    nav = [
        {"id": f"action-{a}", "text": t["ew_nav"].format(action=names.get(a, a), n=f"{len(r):,}")}
        for a, r in by_action
    ]
    counts = warnings["rule"].value_counts() if len(warnings) else pd.Series(dtype="int64")
    rules = pd.DataFrame(
        {
            "rule": [r.name for r in policy.rules],
            "condition": [_rule_text(r, t) for r in policy.rules],
            "action": [names.get(r.action, r.action) for r in policy.rules],
            "warnings": [int(counts.get(r.name, 0)) for r in policy.rules],
        }
    )
    sections = [
        {
            "title": t["ew_summary"],
            "bullets": [
                t["ew_portfolio"].format(
                    portfolio=f"{summary['portfolio']:,}",
                    downgraded=f"{summary['downgraded']:,}",
                    upgraded=f"{summary['upgraded']:,}",
                ),
                t["ew_with_warnings"].format(
                    n=f"{summary['customers_with_warnings']:,}",
                    actions=", ".join(f"{names.get(a, a)} {len(r):,}" for a, r in by_action),
                ),
            ],
        },
    ]
    for a, rows in by_action:
        shown = rows.head(SHOWN_PER_ACTION).drop(columns=["action"])
        note = t["ew_limits_note"] + " "
        if a == "reduce_limit":
            note += t["ew_reduce_note"].format(
                share=f"{policy.reduce_factor:.0%}", step=f"{LIMIT_STEP:,.0f}"
            )
        else:
            note += t["ew_keep_note"]
        section = {
            "id": f"action-{a}",
            "title": t["ew_section"].format(action=names.get(a, a), n=f"{len(rows):,}"),
            "text": note,
            "table": html.table(
                _formatted(shown, currency), headers=cols, code=("applicant_id", "rules")
            ),
        }
        if len(rows) > SHOWN_PER_ACTION:
            section["more"] = {
                "text": t["ew_shown"].format(n=f"{SHOWN_PER_ACTION:,}"),
                "code": "actions.csv",
            }
        sections.append(section)
    sections.append(
        {
            "id": "rules",
            "title": t["ew_rules"],
            "table": html.table(rules, headers=cols, code=("rule",)),
        }
    )
    sections.append(
        {
            "id": "migration",
            "title": t["ew_migration"],
            "table": html.table(mig, headers=cols),
        }
    )
    return {
        "title": t["ew_title"].format(as_of=summary["as_of"]),
        "subtitle": "",
        "sections": sections,
        "nav": nav
        + [
            {"id": "rules", "text": t["ew_rules"]},
            {"id": "migration", "text": t["ew_migration_nav"]},
        ],
        "t": t,
        "lang": lang,
    }


if __name__ == "__main__":
    from pipeline.stages import main

    main(run)
