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
    lifetime_value,
    observed_churn,
    risk_band,
    risk_value_matrix,
    value_tier,
)
from credit.ledger.authority import AuthorityConfig
from features.assemble import FeatureConfig
from features.contract.tables import TRADE_TABLES
from features.errors import DataError
from models.monitoring import WarningPolicy
from models.reassessment import reassess_portfolio
from models.scoring import ScoringModel, conform


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
    model: ScoringModel,
    schema: dict,
    features: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    feature_cfg: FeatureConfig,
    warning_policy: WarningPolicy,
    cfg: CustomerSettings,
    authority: AuthorityConfig,
    as_of: pd.Timestamp,
    limits: pd.DataFrame | None = None,
) -> CustomerBook:
    """The book of the customers on ``as_of`` (see the module docstring).

    ``tables``: the validated source tables including the trade tables; ``features``: the
    admission feature rows (the applicants of the customers); ``limits`` (customer_id,
    credit_limit): the limits in force on the date when known (the decision ledger), else
    the customer master's.
    """
    missing = [t for t in TRADE_TABLES if t not in tables]
    if missing:
        raise DataError(
            f"the customer book needs the trade tables; missing {', '.join(missing)} "
            "(see docs/data.md: customers, sales_orders, sales_invoices, payments)"
        )
    customers = tables["customers"]
    on_book = customers.loc[customers["customer_since"] <= as_of]
    if on_book.empty:
        raise DataError(f"no customer account was open on {as_of.date()}")
    expo, items = exposure(
        customers,
        tables["sales_invoices"],
        tables["payments"],
        tables["sales_orders"],
        as_of,
        limits,
        cfg.held_window_days,
    )
    scored, warnings = _rescore(
        model,
        schema,
        features,
        tables,
        feature_cfg,
        warning_policy,
        expo,
        as_of,
        cfg.warning_window_months,
    )
    return build_book(
        expo,
        items,
        scored,
        warnings,
        tables,
        cfg,
        authority,
        as_of,
        model.policy.grades,
        model.version,
    )


def build_book(
    expo: pd.DataFrame,
    items: pd.DataFrame,
    scored: pd.DataFrame,
    warnings: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    cfg: CustomerSettings,
    authority: AuthorityConfig,
    as_of: pd.Timestamp,
    grade_terms: dict,
    version: str,
) -> CustomerBook:
    """The book from the exposure and the customers' scores of the day (``scored``:
    customer_id, grade_at_admission, grade, pd, notches, policy_cap, main_risk_factor;
    ``warnings``: customer_id, rule)."""
    book = expo.merge(scored, on="customer_id", how="inner")
    unscored = len(expo) - len(book)
    apps = tables["applicants"].set_index("applicant_id")
    book["industry"] = book["applicant_id"].map(apps["industry"])
    book["region"] = book["applicant_id"].map(apps["region"])
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
    churn = observed_churn(tables["sales_orders"], as_of)
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


def _rescore(
    model, schema, features, tables, feature_cfg, warning_policy, expo, as_of, watch_months
):
    """Grade and PD at admission and today, the early warnings, the policy limit today."""
    linked = expo.dropna(subset=["applicant_id"])
    rows = features.loc[features["applicant_id"].isin(linked["applicant_id"])]
    rows = rows.loc[rows["application_date"] <= as_of].reset_index(drop=True)
    if rows.empty:
        raise DataError(
            f"none of the {len(expo):,} customers on {as_of.date()} has an application in the "
            "features: they cannot be scored"
        )
    admission = model.score(conform(rows, schema), reasons_for=())
    admitted = pd.DataFrame(
        {
            "applicant_id": rows["applicant_id"].to_numpy(),
            "grade": admission["grade"].to_numpy(),
            "pd": admission["pd"].to_numpy(),
        }
    ).merge(linked[["applicant_id", "credit_limit"]], on="applicant_id")
    admitted["watch_from"] = as_of - pd.DateOffset(months=watch_months)
    result = reassess_portfolio(
        model, schema, features, tables, feature_cfg, warning_policy, as_of, 12, admitted
    )
    port = result.portfolio
    to_customer = linked.set_index("applicant_id")["customer_id"]
    scored = pd.DataFrame(
        {
            "customer_id": port["applicant_id"].map(to_customer).to_numpy(),
            "grade_at_admission": port["grade_at_admission"].to_numpy(),
            "grade": port["grade_now"].to_numpy(),
            "pd": port["pd_now"].to_numpy(),
            "notches": port["notches"].to_numpy(),
            "policy_cap": port["limit_now"].to_numpy(),
            "main_risk_factor": port["reason_1_text"].to_numpy(),
        }
    )
    warnings = result.warnings.assign(customer_id=result.warnings["applicant_id"].map(to_customer))[
        ["customer_id", "rule"]
    ]
    return scored, warnings


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
