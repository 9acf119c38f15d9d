"""Stage ``customers``: the customer book as of ``customers.as_of``.

Reads the bundle; on the compute engine, runs :func:`credit.customers.book.exposure_part` once
per bucket of customers (the trade tables, partitioned by customer) and
:func:`credit.customers.book.rescore_part` once per bucket of applicants, each task reading
its own bucket's files where it runs; then :func:`credit.customers.book.build_book` on the
one-row-per-customer frames. Writes the tables (Parquet + CSV) and a self-contained portfolio
page; logged to MLflow with the monitoring runs. One file per table is one bucket.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from credit.customers.book import (
    CustomerBook,
    ExposurePart,
    build_book,
    churn_of,
    exposure_part,
    linked,
    on_the_books,
    open_items_of,
    rescore_part,
    rescored,
    warned,
)
from credit.customers.settings import BUCKETS
from features.contract.tables import TRADE_TABLES
from features.contract.validation import APPLICATION_TABLES
from features.errors import DataError
from models.reassessment import Rescoring
from pipeline import bundles, html, plots, tracking
from pipeline.buckets import bucket_items, read_bucket
from pipeline.compute import engine
from pipeline.console import console
from pipeline.io import aligned_parts, has_raw, read_parquet, write_csv, write_json, write_parquet
from pipeline.layout import Layout
from pipeline.params import Params
from pipeline.texts import TEXT


def run(
    params: Params,
    layout: Layout,
    as_of: str | None = None,
    limits: pd.DataFrame | None = None,
    out_dir: Path | None = None,
) -> dict:
    """The DVC stage uses the customer master's limits; ``limits`` (the decision ledger's
    limit, terms and security in force on the date) and ``out_dir`` serve ``creditrisk
    reviews`` outside the DVC outputs."""
    cfg = params.customers
    out = out_dir or layout.data / "customers"
    page = (out_dir or layout.reports) / "portfolio.html"
    present = [t for t in TRADE_TABLES if has_raw(layout.interim, t)]
    if params.generate.source == "tabular" or len(present) < len(TRADE_TABLES):
        why = (
            "a single-table data set has no trade with customers"
            if params.generate.source == "tabular"
            else "the trade tables (customers, sales_orders, sales_invoices, payments) were "
            "not supplied"
        )
        return _not_applicable(out, page, why)
    when = review_date(as_of or cfg.as_of, params.validate.latest_date)
    loaded = bundles.open_bundle(params, layout, layout.models / "bundle")
    features = layout.processed / "features.parquet"
    applicant_items = bucket_items(layout.interim, APPLICATION_TABLES, features)
    with engine(params.compute) as compute:
        parts = list(
            compute.map(
                exposure_bucket,
                aligned_parts(layout.interim, TRADE_TABLES),
                when,
                None if limits is None else compute.share(limits),
                cfg.held_window_days,
                label="exposure",
            )
        )
        expo = on_the_books(parts, when)
        rescoring = Rescoring(loaded.model, loaded.schema, params.features, params.monitor.warnings)
        scores = list(
            compute.map(
                rescore_bucket,
                applicant_items,
                compute.share(rescoring),
                compute.share(linked(expo)),
                when,
                cfg.warning_window_months,
                label="rescore",
            )
        )
    book = build_book(
        expo,
        open_items_of(parts),
        rescored(scores, len(expo), when),
        warned(scores),
        churn_of(parts),
        cfg,
        params.ledger.authority_config(),
        when,
        loaded.model.policy.grades,
        loaded.model.version,
    )
    _write(book, out)
    currency = params.report.currency
    _page(book, page, currency)
    write_json(book.summary, out / "summary.json")
    summary = book.summary
    with tracking.monitoring_run(
        layout,
        f"customers-{summary['as_of']}",
        "customers",
        {
            "stage": "customers",
            "as_of": summary["as_of"],
            "bundle_version": summary["bundle_version"],
        },
        f"Customer book as of {summary['as_of']}: {summary['customers']:,} customers, "
        f"{summary['reviews_due']:,} reviews due, expected loss {summary['expected_loss']:,.0f}.",
    ) as mlflow:
        tracking.log_metrics(
            mlflow, {k: v for k, v in summary.items() if isinstance(v, int | float)}
        )
        mlflow.log_artifact(str(page), "customers")
        mlflow.log_artifact(str(out / "reviews.csv"), "customers")
    s = book.summary
    console.print(
        f"customer book as of {s['as_of']}: {s['customers']:,} customers, open "
        f"{s['open_receivables']:,.0f} {currency} ({s['overdue']:,.0f} overdue), EL "
        f"{s['expected_loss']:,.0f}; {s['reviews_due']:,} reviews due -> "
        f"{page.relative_to(layout.root) if page.is_relative_to(layout.root) else page}"
    )
    return s


def exposure_bucket(paths: dict[str, Path], *args) -> ExposurePart:
    """The exposure of one bucket of customers, its trade tables read where it runs
    (``args``: those of :func:`credit.customers.book.exposure_part` after the tables)."""
    return exposure_part({t: read_parquet(p) for t, p in paths.items()}, *args)


def rescore_bucket(
    item: tuple[dict[str, Path], Path, int, int], rescoring: Rescoring, *args
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The customers of one bucket of applicants re-scored where it runs (``args``: those of
    :func:`credit.customers.book.rescore_part` after the tables)."""
    features, tables = read_bucket(item)
    return rescore_part(rescoring, features, tables, *args)


def review_date(value: str, latest: str) -> pd.Timestamp:
    """The book's date, refused when after the data extraction date."""
    try:
        when = pd.Timestamp(value)
    except ValueError:
        raise DataError(f"--as-of must be a date YYYY-MM-DD; got {value!r}") from None
    if when > pd.Timestamp(latest):
        raise DataError(
            f"--as-of {when.date()} is after the data extraction date {latest} "
            "(validate.latest_date): nothing is known after it"
        )
    return when


def _write(book: CustomerBook, out: Path) -> None:
    write_parquet(book.customers, out / "customers.parquet")
    write_csv(book.customers, out / "customers.csv")
    write_parquet(book.items, out / "open_items.parquet")
    write_csv(book.reviews, out / "reviews.csv")
    write_parquet(book.reviews, out / "reviews.parquet")  # typed, for `reviews --propose`
    write_csv(book.top_exposures, out / "top_exposures.csv")
    write_csv(book.breaches, out / "concentration_breaches.csv")
    write_csv(book.matrix, out / "risk_value_matrix.csv")
    for key, table in book.by.items():
        write_csv(table, out / f"by_{key}.csv")


def _not_applicable(out: Path, page: Path, why: str) -> dict:
    summary = {"status": "not_applicable", "reason": why}
    empty = pd.DataFrame({"customer_id": pd.Series([], dtype="str")})
    write_parquet(empty, out / "customers.parquet")
    write_parquet(empty, out / "open_items.parquet")
    write_parquet(empty, out / "reviews.parquet")
    for name in (
        "customers",
        "reviews",
        "top_exposures",
        "concentration_breaches",
        "risk_value_matrix",
        "by_grade",
        "by_industry",
        "by_country",
        "by_account_owner",
    ):
        write_csv(empty, out / f"{name}.csv")
    write_json(summary, out / "summary.json")
    html.write_page(
        page,
        "Customer book",
        "",
        [{"title": "Not applicable", "text": why}],
        t=TEXT["en"],
        lineage=html.Lineage(bundle="-"),
    )
    console.print(f"customer book not applicable: {why}")
    return summary


SHOWN = 300


def _money(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    out = frame.copy()
    for c in columns:
        if c in out:
            out[c] = [f"{v:,.0f}" if pd.notna(v) else "-" for v in out[c]]
    return out


def _pct(frame: pd.DataFrame, columns: list[str], digits: int = 1) -> pd.DataFrame:
    out = frame.copy()
    for c in columns:
        if c in out:
            out[c] = [f"{v:.{digits}%}" if pd.notna(v) else "-" for v in out[c]]
    return out


def _page(book: CustomerBook, path: Path, currency: str) -> None:
    s = book.summary
    c = book.customers
    money = [
        "credit_limit",
        "open_receivables",
        "overdue",
        *[f"bucket_{b}" for b in BUCKETS[1:]],
        "ead",
        "expected_loss",
        "recommended_limit",
        "exposure",
    ]
    by_grade = _pct(_money(book.by["grade"], money), ["utilisation", "el_rate"], 2)
    by_owner = _pct(_money(book.by["account_owner"], money), ["utilisation", "el_rate"], 2)
    by_country = _pct(_money(book.by["country"], money), ["utilisation", "el_rate"], 2)
    by_sector = _pct(_money(book.by["industry"], money), ["utilisation", "el_rate"], 2)
    reviews = book.reviews.head(SHOWN).copy()
    reviews["pd"] = [f"{p:.2%}" for p in reviews["pd"]]
    reviews["next_review"] = pd.to_datetime(reviews["next_review"]).dt.strftime("%Y-%m-%d")
    reviews = _money(
        reviews, ["credit_limit", "open_receivables", "overdue", "recommended_limit"]
    ).drop(columns=["changes"])
    proposals = book.reviews.loc[book.reviews["changes"] > 0]
    overdue = c.loc[c["overdue_action"].notna()].sort_values(
        ["max_days_past_due", "overdue"], ascending=False
    )
    overdue_view = _money(
        overdue.head(SHOWN)[
            [
                "customer_id",
                "company_name",
                "account_owner",
                "overdue_action",
                "max_days_past_due",
                "overdue",
                *BUCKETS[1:],
                "credit_limit",
                "orders_held",
            ]
        ],
        ["overdue", *BUCKETS[1:], "credit_limit"],
    )
    top = _pct(_money(book.top_exposures, ["ead"]), ["share"], 2)
    breaches = _pct(_money(book.breaches, ["exposure"]), ["share", "limit"], 1)
    bullets = [
        f"{s['customers']:,} customers on the books on {s['as_of']}; limits "
        f"{s['credit_limit']:,.0f} {currency}, open receivables {s['open_receivables']:,.0f} "
        f"{currency}, of which overdue {s['overdue']:,.0f} (90+ days: "
        f"{s['overdue_90_plus']:,.0f})",
        f"exposure at default {s['ead']:,.0f} {currency}; expected loss (one year) "
        f"{s['expected_loss']:,.0f} {currency}",
        f"{s['reviews_due']:,} reviews due within the look-ahead "
        f"({s['reviews_by_why']['early warning']:,} triggered by early warnings); "
        f"{len(proposals):,} recommend a change and await approval: "
        + ", ".join(f"{k} {v:,}" for k, v in s["recommendations"].items()),
        "overdue handling: "
        + (", ".join(f"{k} {v:,}" for k, v in s["overdue_actions"].items()) or "none"),
        f"{s['concentration_breaches']:,} concentration limits breached; observed churn "
        f"{s['observed_churn']:.1%} a year",
    ]
    if s["customers_not_scored"]:
        bullets.append(
            f"{s['customers_not_scored']:,} customers have no application to score and are left out"
        )
    nav = [
        ("summary", "Summary"),
        ("matrix", "Risk x value"),
        ("reviews", "Reviews due"),
        ("overdue", "Overdue and actions"),
        ("grade", "Exposure and EL by grade"),
        ("concentration", "Concentration"),
        ("owner", "By account owner"),
    ]
    sections = [
        {"id": "summary", "title": "Summary", "bullets": bullets},
        {
            "id": "matrix",
            "title": "Risk x value: customers (and EAD) by risk band and value tier",
            "text": "Value tiers from the customer lifetime value (margin net of expected "
            "loss, retention from PD and churn, discounted). Strategic customers go to a more "
            "senior approver and are reviewed at least as often as params say.",
            "images": [plots.data_uri(_heatmap(book.matrix, currency))],
        },
        {
            "id": "reviews",
            "title": f"Reviews due ({len(book.reviews):,}; most changes and highest PD first)",
            "text": "Each review re-scores the customer as of the date and recommends limit, "
            "terms and security with the rule behind it; the approver is the least role "
            "allowed to approve the recommended limit (raised for valuable tiers). "
            + (
                f"The first {SHOWN} are shown; all are in reviews.csv."
                if len(book.reviews) > SHOWN
                else ""
            ),
            "table": html.table(reviews),
        },
        {
            "id": "overdue",
            "title": f"Overdue and actions ({len(overdue):,} customers; oldest arrears first)",
            "images": [plots.data_uri(_ageing(book.by["grade"], currency))],
            "table": html.table(overdue_view),
        },
        {
            "id": "grade",
            "title": "Exposure, ageing and expected loss by grade (grade today)",
            "table": html.table(by_grade),
        },
        {
            "id": "concentration",
            "title": "Concentration: largest exposures and limit breaches",
            "table": html.table(top),
        },
        {
            "title": "Breaches of the concentration limits",
            "text": "none" if book.breaches.empty else "",
            "table": html.table(breaches) if not book.breaches.empty else None,
        },
        {"title": "By sector", "table": html.table(by_sector)},
        {"title": "By country", "table": html.table(by_country)},
        {"id": "owner", "title": "By account owner", "table": html.table(by_owner)},
    ]
    html.write_page(
        path,
        f"Customer book as of {s['as_of']}",
        f"bundle {s['bundle_version']} · amounts in {currency}",
        sections,
        nav=[{"id": i, "text": t} for i, t in nav],
        t=TEXT["en"],  # the customer book is in English for now
        lineage=html.Lineage(bundle=s["bundle_version"], as_of=s["as_of"]),
    )


def _heatmap(matrix: pd.DataFrame, currency: str):
    import numpy as np

    bands = list(dict.fromkeys(matrix["risk_band"].astype(str)))
    tiers = list(dict.fromkeys(matrix["tier"].astype(str)))
    counts = matrix.pivot(index="risk_band", columns="tier", values="customers")
    ead = matrix.pivot(index="risk_band", columns="tier", values="exposure")
    counts = counts.reindex(index=bands, columns=tiers).fillna(0).to_numpy()
    ead = ead.reindex(index=bands, columns=tiers).fillna(0).to_numpy()
    fig, ax = plots.plt.subplots(figsize=(6.5, 3.6))
    ax.imshow(np.log1p(ead), cmap="YlOrRd", aspect="auto")
    for i in range(len(bands)):
        for j in range(len(tiers)):
            ax.text(
                j,
                i,
                f"{int(counts[i, j]):,}\n{ead[i, j] / 1e6:,.1f}M",
                ha="center",
                va="center",
                fontsize=8,
            )
    ax.set_xticks(range(len(tiers)), tiers)
    ax.set_yticks(range(len(bands)), bands)
    ax.set(xlabel="value tier", ylabel="risk band (grade today)")
    ax.set_title(f"customers and EAD ({currency}) per cell; colour: EAD", fontsize=9)
    return fig


def _ageing(by_grade: pd.DataFrame, currency: str):
    fig, ax = plots.plt.subplots(figsize=(6.5, 3.2))
    bottom = None
    labels = by_grade["grade"].astype(str)
    colours = ("#f6d55c", "#ed8936", "#e15759", "#8b1e3f")
    for b, colour in zip(BUCKETS[1:], colours, strict=True):
        values = by_grade[f"bucket_{b}"] / 1e6
        ax.bar(labels, values, bottom=bottom, label=f"{b} days", color=colour)
        bottom = values if bottom is None else bottom + values
    ax.set(xlabel="grade today", ylabel=f"overdue, million {currency}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax.set_title("Overdue receivables by ageing bucket and grade", fontsize=9)
    return fig


if __name__ == "__main__":
    from pipeline.stages import main

    main(run)
