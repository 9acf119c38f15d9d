"""Portfolio re-assessment: re-score approved customers point-in-time as of a later date.

The portfolio is the applicants approved at admission in the months before the as-of date.
Each is scored twice with the same scoring model: on its admission features and on features
rebuilt as of the date from the source tables (nothing dated later is read). The result is the
grade migration, the early warnings of the rules in params with a recommended action, and the
limit the policy would give today.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.assemble import FeatureConfig, build_features
from features.changes import changes_since_admission
from features.errors import DataError
from models.monitoring import (
    WarningPolicy,
    early_warnings,
    migration_matrix,
    recommended_actions,
    recommended_limits,
)
from models.scoring import ScoringModel, conform

ACTION_COLUMNS = [
    "applicant_id",
    "grade_at_admission",
    "grade_now",
    "pd_now",
    "limit_at_admission",
    "limit_now",
    "limit_recommended",
    "reason_1_text",
]


@dataclass(frozen=True)
class Rescoring:
    """What re-scoring customers as of a date needs: the scoring model with its input schema,
    the feature settings that rebuild features point-in-time, and the early-warning rules."""

    model: ScoringModel
    schema: dict
    feature_cfg: FeatureConfig
    warning_policy: WarningPolicy


@dataclass
class Reassessment:
    portfolio: pd.DataFrame  # one row per customer: admission vs now, changes, notches
    warnings: pd.DataFrame  # one row per (customer, rule) that fired
    actions: pd.DataFrame  # the most severe action per customer
    migration: pd.DataFrame  # grade at admission x grade now
    summary: dict


def reassess_portfolio(
    rescoring: Rescoring,
    features: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    when: pd.Timestamp,
    portfolio_months: int,
    admitted: pd.DataFrame | None = None,
    lang: str = "en",
) -> Reassessment:
    """Re-assess the customers approved in the ``portfolio_months`` before ``when``.

    Without ``admitted`` the portfolio is what the scoring model approves among those
    applications. With it (columns ``applicant_id``, ``grade``, ``pd``, ``credit_limit``: what
    the business actually decided and the limit in force, e.g. from the decision ledger) the
    portfolio is exactly those customers, whenever they applied; an optional ``watch_from``
    date limits the early-warning events and late payments to those after it (e.g. the last
    review) rather than since admission. ``lang`` is the language of the reason texts (``en``
    or ``zh``). In memory: :func:`reassess_part` on everything, then
    :func:`assemble_reassessment` (a partitioned run calls the first once per bucket).
    """
    part = reassess_part(rescoring, features, tables, when, portfolio_months, admitted, lang)
    return assemble_reassessment(
        [part],
        rescoring.model,
        rescoring.warning_policy,
        when,
        portfolio_months,
        admitted is not None,
    )


@dataclass
class PortfolioPart:
    """One bucket of applicants re-assessed: per-customer rows only (nothing global), so
    buckets can run anywhere and be concatenated in any order."""

    portfolio: pd.DataFrame | None  # None: no approved customer in the bucket
    warnings: pd.DataFrame | None
    applications: int  # applications in the window (or admitted customers who applied)


def reassess_part(
    rescoring: Rescoring,
    features: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    when: pd.Timestamp,
    portfolio_months: int,
    admitted: pd.DataFrame | None = None,
    lang: str = "en",
) -> PortfolioPart:
    """The portfolio rows and early warnings of the applicants in ``features`` and
    ``tables`` (one hash bucket, or all of them): see :func:`reassess_portfolio`."""
    model, schema = rescoring.model, rescoring.schema
    dates = features["application_date"]
    if admitted is None:
        start = when - pd.DateOffset(months=portfolio_months)
        window = features.loc[(dates > start) & (dates <= when)].reset_index(drop=True)
        if window.empty:
            return PortfolioPart(None, None, 0)
        admission = model.score(conform(window, schema), reasons_for=())
        accepted = (admission["decision"] == "approve").to_numpy()
        book = window.loc[accepted].reset_index(drop=True)
        before = admission.loc[accepted].reset_index(drop=True)
    else:
        window = features.loc[features["applicant_id"].isin(admitted["applicant_id"])]
        window = window.loc[window["application_date"] <= when].reset_index(drop=True)
        if window.empty:
            return PortfolioPart(None, None, 0)
        book = window
        before = (
            admitted.drop_duplicates("applicant_id")
            .set_index("applicant_id")
            .loc[book["applicant_id"], ["grade", "pd", "credit_limit"]]
            .reset_index(drop=True)
        )
    if book.empty:
        return PortfolioPart(None, None, len(window))
    spine = pd.DataFrame({"applicant_id": book["applicant_id"], "as_of": when})
    now_features = build_features(tables, rescoring.feature_cfg, spine)
    current = now_features.drop(columns=["as_of"]).assign(
        requested_limit=book["requested_limit"].to_numpy(),
        requested_terms_days=book["requested_terms_days"].to_numpy(),
    )
    now = model.score(
        conform(current, schema), reasons_for=("approve", "refer", "decline"), lang=lang
    )
    rank = {g: i for i, g in enumerate(_labels(model))}
    watched = book
    if admitted is not None and "watch_from" in admitted.columns:
        start = book["applicant_id"].map(
            admitted.drop_duplicates("applicant_id").set_index("applicant_id")["watch_from"]
        )
        watched = book.assign(application_date=np.maximum(book["application_date"], start))
    changes = changes_since_admission(
        watched, tables["compliance_events"], tables["invoices"], when
    )
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
    warnings = early_warnings(portfolio, rescoring.warning_policy)
    return PortfolioPart(portfolio, warnings, len(window))


def _labels(model: ScoringModel) -> list[str]:
    return [*model.scale.labels, model.scale.default_label]


def assemble_reassessment(
    parts: Iterable[PortfolioPart],
    model: ScoringModel,
    warning_policy: WarningPolicy,
    when: pd.Timestamp,
    portfolio_months: int,
    from_ledger: bool = False,
) -> Reassessment:
    """The actions, grade migration and summary of the concatenated parts (in any order of
    buckets: the warnings are put back in the order one run over everything gives)."""
    parts = list(parts)
    applications = sum(p.applications for p in parts)
    filled = [p for p in parts if p.portfolio is not None]
    if not filled:
        if from_ledger:
            raise DataError(f"no admitted customer applied by {when.date()}: nothing to re-assess")
        start = when - pd.DateOffset(months=portfolio_months)
        if applications == 0:
            raise DataError(
                f"no application between {start.date()} and {when.date()}: nothing to re-assess"
            )
        raise DataError(
            f"none of the {applications:,} applications between {start.date()} and "
            f"{when.date()} is approved: nothing to re-assess"
        )
    portfolio = pd.concat([p.portfolio for p in filled], ignore_index=True)
    fired = [p.warnings for p in filled if len(p.warnings)]
    if len(fired) > 1:
        warnings = pd.concat(fired, ignore_index=True).sort_values(
            ["severity", "applicant_id"], ascending=[False, True], ignore_index=True
        )
    else:
        warnings = fired[0] if fired else filled[0].warnings
    actions = recommended_actions(warnings).merge(
        portfolio[[c for c in ACTION_COLUMNS if c in portfolio]], on="applicant_id"
    )
    actions.insert(
        actions.columns.get_loc("limit_now") + 1,
        "limit_recommended",
        recommended_limits(actions, warning_policy.reduce_factor),
    )
    matrix = migration_matrix(
        portfolio["grade_at_admission"], portfolio["grade_now"], _labels(model)
    )
    summary = {
        "as_of": str(when.date()),
        "portfolio": int(len(portfolio)),
        "applications_in_window": int(applications),
        "downgraded": int((portfolio["notches"] > 0).sum()),
        "upgraded": int((portfolio["notches"] < 0).sum()),
        "warnings": int(len(warnings)),
        "customers_with_warnings": int(actions["applicant_id"].nunique()),
        "by_rule": warnings["rule"].value_counts().to_dict(),
        "by_action": actions["action"].value_counts().to_dict(),
        "bundle_version": model.version,
    }
    return Reassessment(portfolio, warnings, actions, matrix, summary)
