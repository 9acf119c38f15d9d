"""The customer book as of a date: exposure, ageing, expected loss, value, reviews, limits.

One call assembles what a credit manager looks at after admission. Each customer is re-scored
point-in-time with the bundle (features rebuilt from records dated on or before the as-of date,
:func:`models.reassessment.reassess_portfolio`), so grade, PD, early warnings and the policy's
limit for today's grade are those of that day; the trade tables give what is owed and how it is
paid; params give the actions, limits, LGDs, margin and tiers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from credit.customers.expected_loss import expected_loss
from credit.customers.exposure import concentration, exposure, overdue_actions
from credit.customers.limits import recommend_limits
from credit.customers.reviews import due_reviews, recommend_terms_and_security
from credit.customers.settings import BUCKETS, CustomerSettings
from credit.customers.value import (
    churn_counts,
    lifetime_value,
    risk_band,
    risk_value_matrix,
    value_tier,
)
from credit.ledger.authority import AuthorityConfig
from features.contract.tables import TRADE_TABLES
from features.errors import DataError
from models.reassessment import Rescoring, reassess_part
from models.scoring import conform


@dataclass
class CustomerBook:
    customers: pd.DataFrame  # one row per customer: exposure, risk, EL, value, review
    items: pd.DataFrame  # open items (invoices) behind the exposure
    reviews: pd.DataFrame  # reviews due with their recommendations and approver
    top_exposures: pd.DataFrame
    breaches: pd.DataFrame
    matrix: pd.DataFrame  # risk band x value tier
    by: dict[str, pd.DataFrame]  # exposure and EL by grade, sector, country, account owner
    summary: dict[str, Any]


def assess_customers(
    rescoring: Rescoring,
    features: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    cfg: CustomerSettings,
    authority: AuthorityConfig,
    as_of: pd.Timestamp,
    limits: pd.DataFrame | None = None,
) -> CustomerBook:
    """The book of the customers on ``as_of`` (see the module docstring).

    ``tables``: the validated source tables including the trade tables; ``features``: the
    admission feature rows (the applicants of the customers); ``limits`` (customer_id,
    credit_limit): the limits in force on the date when known (the decision ledger), else
    the customer master's. In memory: :func:`exposure_part` and :func:`rescore_part` on
    everything, then :func:`build_book` (a partitioned run calls the first per bucket of
    customers, the second per bucket of applicants).
    """
    missing = [t for t in TRADE_TABLES if t not in tables]
    if missing:
        raise DataError(
            f"the customer book needs the trade tables; missing {', '.join(missing)} "
            "(see docs/data.md: customers, sales_orders, sales_invoices, payments)"
        )
    part = exposure_part(tables, as_of, limits, cfg.held_window_days)
    expo = on_the_books([part], as_of)
    scored, warnings = rescore_part(
        rescoring, features, tables, linked(expo), as_of, cfg.warning_window_months
    )
    return build_book(
        expo,
        part.items,
        rescored([(scored, warnings)], len(expo), as_of),
        warnings,
        churn_of([part]),
        cfg,
        authority,
        as_of,
        rescoring.model.policy.grades,
        rescoring.model.version,
    )


@dataclass
class ExposurePart:
    """The exposure of one bucket of customers (every record of a customer is in its
    bucket of each trade table): rows per customer and open item, and churn counts."""

    exposure: pd.DataFrame
    items: pd.DataFrame  # open items only
    churn: tuple[int, int]  # (customers lost, customers who ordered in the year before last)


def exposure_part(
    tables: dict[str, pd.DataFrame],
    as_of: pd.Timestamp,
    limits: pd.DataFrame | None = None,
    held_window_days: int = 90,
) -> ExposurePart:
    """:func:`credit.customers.exposure.exposure` of the customers in the trade
    ``tables`` (one bucket, or all), with their open items and churn counts."""
    expo, items = exposure(
        tables["customers"],
        tables["sales_invoices"],
        tables["payments"],
        tables["sales_orders"],
        as_of,
        limits,
        held_window_days,
    )
    items = items.loc[items["open"] > 0].reset_index(drop=True)
    return ExposurePart(expo, items, churn_counts(tables["sales_orders"], as_of))


def _joined(frames: list[pd.DataFrame], empty: pd.DataFrame | None) -> pd.DataFrame | None:
    """The frames with rows, concatenated (a single one as it is); none: ``empty``."""
    kept = [f for f in frames if len(f)]
    if not kept:
        return empty
    return kept[0] if len(kept) == 1 else pd.concat(kept, ignore_index=True)


def on_the_books(parts: list[ExposurePart], as_of: pd.Timestamp) -> pd.DataFrame:
    """The exposure rows of all parts; no customer on the date is an error."""
    expo = _joined([p.exposure for p in parts], None)
    if expo is None:
        raise DataError(f"no customer account was open on {as_of.date()}")
    return expo


def open_items_of(parts: list[ExposurePart]) -> pd.DataFrame:
    return _joined([p.items for p in parts], parts[0].items)


def churn_of(parts: list[ExposurePart]) -> float:
    """The observed churn of all parts (the counts add up: a customer is in one part)."""
    lost = sum(p.churn[0] for p in parts)
    before = sum(p.churn[1] for p in parts)
    return lost / before if before else 0.0


def linked(expo: pd.DataFrame) -> pd.DataFrame:
    """The customers with an admission application: what :func:`rescore_part` needs."""
    return expo.loc[expo["applicant_id"].notna(), ["customer_id", "applicant_id", "credit_limit"]]


def build_book(
    expo: pd.DataFrame,
    items: pd.DataFrame,
    scored: pd.DataFrame,
    warnings: pd.DataFrame,
    churn: float,
    cfg: CustomerSettings,
    authority: AuthorityConfig,
    as_of: pd.Timestamp,
    grade_terms: dict,
    version: str,
) -> CustomerBook:
    """The book from the exposure and the customers' scores of the day (``scored``:
    customer_id, grade_at_admission, grade, pd, notches, policy_cap, main_risk_factor,
    industry, region; ``warnings``: customer_id, rule; ``churn``: the portfolio's observed
    churn). Customers are taken in customer_id order, so totals are the same sums whatever
    order (or partitions) the rows came in."""
    book = expo.merge(scored, on="customer_id", how="inner")
    unscored = len(expo) - len(book)
    if not book["customer_id"].is_monotonic_increasing:
        book = book.sort_values("customer_id", ignore_index=True)
    book["overdue_action"] = overdue_actions(book, cfg.overdue_actions)
    el = expected_loss(
        book["pd"].to_numpy(),
        book["security"],
        book["open_receivables"].to_numpy(),
        book["credit_limit"].to_numpy(),
        cfg.expected_loss,
    )
    book[["ead", "lgd", "expected_loss"]] = el.to_numpy()
    months_active = ((as_of - book["customer_since"]).dt.days / 30.4375).clip(lower=1, upper=12)
    book["margin_per_year"] = cfg.value.gross_margin * book["sales_12m"] * 12 / months_active
    book["clv"] = lifetime_value(
        book["margin_per_year"].to_numpy(),
        book["expected_loss"].to_numpy(),
        book["pd"].to_numpy(),
        churn,
        cfg.value,
    )
    book["value_tier"] = value_tier(book["clv"].to_numpy(), cfg.value)
    book["risk_band"] = risk_band(book["grade"])
    held_per_year = book["orders_held_amount"] * 365.0 / cfg.held_window_days
    rec = recommend_limits(
        book.assign(demand_12m=book["sales_12m"] + held_per_year),
        cfg.value.gross_margin,
        cfg.limit_headroom,
        cfg.reviews.raise_above,
        cfg.reviews.cut_below,
    )
    book = pd.concat([book, rec], axis=1)
    book = pd.concat([book, recommend_terms_and_security(book, grade_terms)], axis=1)
    calendar = due_reviews(
        book[["customer_id", "customer_since", "grade", "value_tier"]],
        warnings,
        cfg.reviews,
        as_of,
    )
    book = book.merge(calendar, on="customer_id", how="left")
    book["approver"] = approver(book, authority, cfg.value.escalate)
    reviews = _reviews(book)
    top, breaches = concentration(book, "ead", cfg.concentration)
    summary = _summary(book, reviews, breaches, as_of, churn, unscored, version)
    return CustomerBook(
        customers=book.sort_values("customer_id", ignore_index=True),
        items=items.loc[items["open"] > 0].reset_index(drop=True),
        reviews=reviews,
        top_exposures=top,
        breaches=breaches,
        matrix=risk_value_matrix(book, cfg.value),
        by={key: _by(book, key) for key in ("grade", "industry", "country", "account_owner")},
        summary=summary,
    )


def rescore_part(
    rescoring: Rescoring,
    features: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    linked: pd.DataFrame,
    as_of: pd.Timestamp,
    watch_months: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Grade and PD at admission and today, the policy limit today, sector and region, and
    the early warnings of the ``linked`` customers (customer_id, applicant_id, credit_limit)
    whose applicants are in ``features`` and ``tables`` (one bucket of applicants, or all)."""
    rows = features.loc[features["applicant_id"].isin(linked["applicant_id"])]
    rows = rows.loc[rows["application_date"] <= as_of].reset_index(drop=True)
    if rows.empty:
        return _SCORED.copy(), _WARNED.copy()
    admission = rescoring.model.score(conform(rows, rescoring.schema), reasons_for=())
    admitted = pd.DataFrame(
        {
            "applicant_id": rows["applicant_id"].to_numpy(),
            "grade": admission["grade"].to_numpy(),
            "pd": admission["pd"].to_numpy(),
        }
    ).merge(linked[["applicant_id", "credit_limit"]], on="applicant_id")
    admitted["watch_from"] = as_of - pd.DateOffset(months=watch_months)
    result = reassess_part(rescoring, features, tables, as_of, 12, admitted)
    port = result.portfolio
    to_customer = linked.set_index("applicant_id")["customer_id"]
    apps = tables["applicants"].set_index("applicant_id")
    scored = pd.DataFrame(
        {
            "customer_id": port["applicant_id"].map(to_customer).to_numpy(),
            "grade_at_admission": port["grade_at_admission"].to_numpy(),
            "grade": port["grade_now"].to_numpy(),
            "pd": port["pd_now"].to_numpy(),
            "notches": port["notches"].to_numpy(),
            "policy_cap": port["limit_now"].to_numpy(),
            "main_risk_factor": port["reason_1_text"].to_numpy(),
            "industry": port["applicant_id"].map(apps["industry"]).to_numpy(),
            "region": port["applicant_id"].map(apps["region"]).to_numpy(),
        }
    )
    fired = result.warnings
    warnings = fired.assign(customer_id=fired["applicant_id"].map(to_customer))[
        ["customer_id", "rule"]
    ]
    return scored, warnings


_SCORED = pd.DataFrame(
    columns=[
        "customer_id",
        "grade_at_admission",
        "grade",
        "pd",
        "notches",
        "policy_cap",
        "main_risk_factor",
        "industry",
        "region",
    ]
)
_WARNED = pd.DataFrame(columns=["customer_id", "rule"])


def rescored(
    parts: list[tuple[pd.DataFrame, pd.DataFrame]], customers: int, as_of: pd.Timestamp
) -> pd.DataFrame:
    """The scored rows of all parts; none scored is an error."""
    scored = _joined([s for s, _ in parts], None)
    if scored is None:
        raise DataError(
            f"none of the {customers:,} customers on {as_of.date()} has an application in the "
            "features: they cannot be scored"
        )
    return scored


def warned(parts: list[tuple[pd.DataFrame, pd.DataFrame]]) -> pd.DataFrame:
    """The warnings (customer_id, rule) of all parts."""
    return _joined([w for _, w in parts], _WARNED.copy())


def approver(book: pd.DataFrame, authority: AuthorityConfig, escalate: dict[str, str]) -> list:
    """Least role allowed to approve the recommended limit, raised to the tier's escalation."""
    names = authority.names
    out = []
    for limit, tier in zip(book["recommended_limit"], book["value_tier"], strict=True):
        rank = next((i for i, r in enumerate(authority.roles) if r.allows(limit)), len(names) - 1)
        if tier in escalate:
            rank = max(rank, authority.rank(escalate[tier]))
        out.append(names[rank])
    return out


REVIEW_COLUMNS = [
    "customer_id",
    "company_name",
    "account_owner",
    "why",
    "next_review",
    "grade_at_admission",
    "grade",
    "pd",
    "value_tier",
    "credit_limit",
    "open_receivables",
    "overdue",
    "recommended_limit",
    "limit_change",
    "limit_rule",
    "payment_terms_days",
    "recommended_terms_days",
    "terms_reason",
    "security",
    "recommended_security",
    "security_reason",
    "approver",
]


def _reviews(book: pd.DataFrame) -> pd.DataFrame:
    due = book.loc[book["due"]].copy()
    due["changes"] = (
        (due["limit_change"] != "keep").astype(int)
        + (due["recommended_terms_days"] != due["payment_terms_days"]).astype(int)
        + (due["recommended_security"] != due["security"].fillna("none")).astype(int)
    )
    due = due.sort_values(["changes", "pd", "customer_id"], ascending=[False, False, True])
    return due[[*REVIEW_COLUMNS, "changes"]].reset_index(drop=True)


def _by(book: pd.DataFrame, key: str) -> pd.DataFrame:
    grouped = book.groupby(key, dropna=False)
    table = grouped.agg(
        customers=("customer_id", "size"),
        credit_limit=("credit_limit", "sum"),
        open_receivables=("open_receivables", "sum"),
        overdue=("overdue", "sum"),
        **{f"bucket_{b}": (b, "sum") for b in BUCKETS[1:]},
        ead=("ead", "sum"),
        expected_loss=("expected_loss", "sum"),
        reviews_due=("due", "sum"),
    )
    table["utilisation"] = np.where(
        table["credit_limit"] > 0, table["open_receivables"] / table["credit_limit"], np.nan
    )
    table["el_rate"] = np.where(table["ead"] > 0, table["expected_loss"] / table["ead"], np.nan)
    return table.reset_index()


def _summary(book, reviews, breaches, as_of, churn, unscored, version) -> dict[str, Any]:
    return {
        "as_of": str(as_of.date()),
        "bundle_version": version,
        "customers": int(len(book)),
        "customers_not_scored": int(unscored),
        "credit_limit": round(float(book["credit_limit"].sum()), 2),
        "open_receivables": round(float(book["open_receivables"].sum()), 2),
        "overdue": round(float(book["overdue"].sum()), 2),
        "overdue_90_plus": round(float(book["90+"].sum()), 2),
        "ead": round(float(book["ead"].sum()), 2),
        "expected_loss": round(float(book["expected_loss"].sum()), 2),
        "observed_churn": round(churn, 4),
        "reviews_due": int(len(reviews)),
        "reviews_by_why": {
            "early warning": int(reviews["why"].str.startswith("early warning").sum()),
            "scheduled": int(reviews["why"].str.startswith("scheduled").sum()),
        },
        "recommendations": {
            k: int(v) for k, v in reviews["limit_change"].value_counts().sort_index().items()
        },
        "overdue_actions": {
            k: int(v) for k, v in book["overdue_action"].value_counts().sort_index().items()
        },
        "value_tiers": {k: int(v) for k, v in book["value_tier"].value_counts().items()},
        "concentration_breaches": int(len(breaches)),
    }
