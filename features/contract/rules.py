"""Pandera schemas of the raw tables: every row-level rule, named and explained.

Each rule has a stable id (``<column>.<rule>``) that appears in the rejects files and the
validation report, and a message template that says what was expected and what was found.
Schemas are built per validation run because referential integrity depends on which applicants
were valid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from features.config import settings
from features.contract.tables import (
    DOCUMENT_TYPES,
    EVENT_TYPES,
    INDUSTRIES,
    LEGAL_FORMS,
    ORDER_STATUSES,
    PAST_DECISIONS,
    REGIONS,
    SECURITY_TYPES,
    SEVERITIES,
    TRADE_TABLES,
)

if TYPE_CHECKING:
    import pandera.pandas as pa


@settings
class ValidationConfig:
    """Limits used by the rules; built from ``params.yaml`` (section ``validate``)."""

    earliest_date: str = "1980-01-01"
    latest_date: str = "2025-06-30"
    founding_earliest_date: str = "1800-01-01"
    identity_tolerance: float = 0.01
    max_terms_days: int = 365

    def __post_init__(self) -> None:
        earliest = _date("earliest_date", self.earliest_date)
        latest = _date("latest_date", self.latest_date)
        founding = _date("founding_earliest_date", self.founding_earliest_date)
        if earliest >= latest:
            raise ValueError(
                "earliest_date must be before latest_date; got "
                f"{self.earliest_date} >= {self.latest_date}"
            )
        if founding > earliest:
            raise ValueError(
                "founding_earliest_date must be on or before earliest_date; got "
                f"{self.founding_earliest_date} > {self.earliest_date}"
            )
        if not 0 <= self.identity_tolerance < 0.5:
            raise ValueError(
                f"identity_tolerance must be in [0, 0.5); got {self.identity_tolerance}"
            )
        if not 1 <= self.max_terms_days <= 3650:
            raise ValueError(
                f"max_terms_days must be between 1 and 3650; got {self.max_terms_days}"
            )


def _date(name: str, value: str) -> pd.Timestamp:
    """A settings date, or ValueError naming the key (NaT and pandas' range refused)."""
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        stamp = pd.NaT
    if stamp is pd.NaT or not pd.Timestamp.min <= stamp <= pd.Timestamp.max:
        raise ValueError(
            f"{name} must be a date YYYY-MM-DD between 1677-09-22 and 2262-04-11; got {value!r}"
        )
    return stamp


@dataclass(frozen=True)
class Rule:
    """A named row rule. ``check`` gets the column (or the frame when ``column`` is None)."""

    id: str
    column: str | None
    message: str
    check: Callable[[pd.Series | pd.DataFrame], pd.Series | bool]
    columns: tuple[str, ...] = ()
    missing_passes: bool = True  # wide rules: a row with an input missing passes


@dataclass(frozen=True)
class KeyRule:
    """Uniqueness of one or several columns; the first occurrence is kept."""

    id: str
    columns: tuple[str, ...]
    message: str


def _col(rule_id: str, message: str, check: Callable[[pd.Series], pd.Series]) -> Rule:
    return Rule(rule_id, rule_id.split(".", 1)[0], message, check)


def _wide(
    rule_id: str,
    columns: tuple[str, ...],
    message: str,
    check: Callable[[pd.DataFrame], pd.Series],
    missing_passes: bool = True,
) -> Rule:
    return Rule(rule_id, None, message, check, columns, missing_passes)


def _allowed(column: str, values: tuple[str, ...]) -> Rule:
    return _col(
        f"{column}.allowed",
        f"{column} must be one of {', '.join(values)}; got {{value}}",
        lambda s: s.isin(values),
    )


def _in_dates(column: str, lo: str, hi: str) -> Rule:
    lo_ts, hi_ts = pd.Timestamp(lo), pd.Timestamp(hi)
    return _col(
        f"{column}.in_range",
        f"{column} must be between {lo} and {hi}; got {{value}}",
        lambda s: (s >= lo_ts) & (s <= hi_ts),
    )


def _non_negative(column: str) -> Rule:
    return _col(f"{column}.non_negative", f"{column} must be >= 0; got {{value}}", lambda s: s >= 0)


def _not_before(column: str, other: str) -> Rule:
    return _wide(
        f"{column}.not_before_{other.split('_')[0]}",
        (column, other),
        f"{column} must not be before {other}; got {{value}}",
        lambda d: ~(d[column] < d[other]),
    )


def _parent_rules(
    valid_ids: pd.Index,
    rejected_ids: pd.Index,
    column: str = "applicant_id",
    parent: str = "applicants",
    optional: bool = False,
) -> list[Rule]:
    """A child row must point at a known parent row, and not at one the parent's rules rejected.

    ``optional`` references (e.g. a credit note's invoice) pass when empty."""
    return [
        _col(
            f"{column}.parent_rejected",
            f"{column} {{value}} belongs to a row rejected in {parent}",
            lambda s: ~s.isin(rejected_ids),
        ),
        _col(
            f"{column}.known",
            f"{column} {{value}} is not in {parent}",
            (lambda s: s.isin(valid_ids) | s.isin(rejected_ids) | s.isna())
            if optional
            else (lambda s: s.isin(valid_ids) | s.isin(rejected_ids)),
        ),
    ]


def _ref(
    refs: dict[str, tuple[pd.Index, pd.Index]] | None,
    column: str,
    parent: str,
    optional: bool = False,
) -> list[Rule]:
    """Parent rules for ``column``: checked against ``refs[column]``; none when the parent
    table was not supplied (``column`` not in ``refs``); all shown when ``refs`` is None."""
    if refs is None:
        return _parent_rules(pd.Index([]), pd.Index([]), column, parent, optional)
    if column not in refs:
        return []
    valid, rejected = refs[column]
    return _parent_rules(valid, rejected, column, parent, optional)


def _unique(column: str) -> KeyRule:
    return KeyRule(
        f"{column}.unique",
        (column,),
        f"{column} {{value}} appears more than once (first occurrence kept)",
    )


def _close(a: pd.Series, b: pd.Series, tol: float) -> pd.Series:
    scale = np.maximum(np.maximum(a.abs(), b.abs()), 1.0)
    return ~((a - b).abs() > tol * scale)


def table_rules(
    table: str,
    cfg: ValidationConfig,
    valid_ids: pd.Index | None = None,
    rejected_ids: pd.Index | None = None,
    refs: dict[str, tuple[pd.Index, pd.Index]] | None = None,
) -> tuple[list[KeyRule], list[Rule]]:
    """Key rules and row rules of ``table``, in the order they are reported.

    ``valid_ids``/``rejected_ids`` are the applicants'; ``refs`` maps the key columns of the
    trade tables (``customer_id``, ``order_id``, ``invoice_id``) to their parents' valid and
    rejected ids."""
    lo, hi, tol = cfg.earliest_date, cfg.latest_date, cfg.identity_tolerance
    if table in TRADE_RULES:
        return TRADE_RULES[table](cfg, refs, valid_ids, rejected_ids)
    parents = (
        []
        if table == "applicants"
        else _parent_rules(
            valid_ids if valid_ids is not None else pd.Index([]),
            rejected_ids if rejected_ids is not None else pd.Index([]),
        )
    )
    if table == "applicants":
        keys = [
            KeyRule(
                "applicant_id.unique",
                ("applicant_id",),
                "applicant_id {value} appears more than once (first occurrence kept)",
            )
        ]
        rules = [
            _in_dates("application_date", lo, hi),
            _in_dates("founding_date", cfg.founding_earliest_date, hi),
            _wide(
                "founding_date.before_application",
                ("founding_date", "application_date"),
                "founding_date must be on or before application_date; got {value}",
                lambda d: ~(d["founding_date"] > d["application_date"]),
            ),
            _col(
                "requested_limit.positive",
                "requested_limit must be > 0; got {value}",
                lambda s: s > 0,
            ),
            _col(
                "requested_terms_days.in_range",
                f"requested_terms_days must be between 0 and {cfg.max_terms_days}; got {{value}}",
                lambda s: (s >= 0) & (s <= cfg.max_terms_days),
            ),
            _allowed("industry", INDUSTRIES),
            _allowed("region", REGIONS),
            _allowed("legal_form", LEGAL_FORMS),
            _allowed("past_decision", PAST_DECISIONS),
            _non_negative("employees"),
            _non_negative("registered_capital"),
        ]
    elif table == "financial_statements":
        keys = [
            KeyRule(
                "fiscal_year.unique_per_applicant",
                ("applicant_id", "fiscal_year"),
                "statement for (applicant_id, fiscal_year) {value} appears more than "
                "once (first occurrence kept)",
            )
        ]
        amounts = (
            "revenue",
            "cost_of_sales",
            "operating_expenses",
            "interest_expense",
            "depreciation",
            "cash",
            "receivables",
            "inventory",
            "current_assets",
            "total_assets",
            "current_liabilities",
            "long_term_debt",
            "total_liabilities",
        )
        rules = [
            *parents,
            _in_dates("period_end", lo, hi),
            _wide(
                "period_end.matches_fiscal_year",
                ("period_end", "fiscal_year"),
                "period_end must fall in fiscal_year (or the first months after it); got {value}",
                lambda d: (d["period_end"].dt.year - d["fiscal_year"]).between(0, 1),
            ),
            _wide(
                "filing_date.after_period_end",
                ("filing_date", "period_end"),
                "filing_date must be after period_end; got {value}",
                lambda d: ~(d["filing_date"] <= d["period_end"]),
            ),
            *(_non_negative(a) for a in amounts),
            _wide(
                "balance_sheet.identity",
                ("total_assets", "total_liabilities", "equity"),
                f"total_assets must equal total_liabilities + equity (tolerance {tol:.0%}); "
                "got {value}",
                lambda d: _close(d["total_assets"], d["total_liabilities"] + d["equity"], tol),
            ),
            _wide(
                "current_assets.le_total_assets",
                ("current_assets", "total_assets"),
                "current_assets must not exceed total_assets; got {value}",
                lambda d: ~(d["current_assets"] > d["total_assets"] * (1 + tol)),
            ),
            _wide(
                "current_assets.components",
                ("cash", "receivables", "inventory", "current_assets"),
                "cash + receivables + inventory must not exceed current_assets; got {value}",
                lambda d: (
                    ~(
                        d["cash"] + d["receivables"] + d["inventory"]
                        > d["current_assets"] * (1 + tol)
                    )
                ),
            ),
            _wide(
                "current_liabilities.le_total_liabilities",
                ("current_liabilities", "total_liabilities"),
                "current_liabilities must not exceed total_liabilities; got {value}",
                lambda d: ~(d["current_liabilities"] > d["total_liabilities"] * (1 + tol)),
            ),
            _wide(
                "ebit.identity",
                ("ebit", "revenue", "cost_of_sales", "operating_expenses"),
                f"ebit must equal revenue - cost_of_sales - operating_expenses (tolerance "
                f"{tol:.0%} of revenue); got {{value}}",
                lambda d: (
                    ~(
                        (
                            d["ebit"]
                            - (d["revenue"] - d["cost_of_sales"] - d["operating_expenses"])
                        ).abs()
                        > tol * np.maximum(d["revenue"].abs(), 1.0)
                    )
                ),
            ),
        ]
    elif table == "invoices":
        keys = [
            KeyRule(
                "invoice_id.unique",
                ("invoice_id",),
                "invoice_id {value} appears more than once (first occurrence kept)",
            )
        ]
        rules = [
            *parents,
            _in_dates("issue_date", lo, hi),
            _not_before("due_date", "issue_date"),
            _wide(
                "due_date.within_terms_limit",
                ("due_date", "issue_date"),
                f"due_date must be at most {cfg.max_terms_days} days after issue_date; got "
                "{value}",
                lambda d: ~((d["due_date"] - d["issue_date"]).dt.days > cfg.max_terms_days),
            ),
            _not_before("paid_date", "issue_date"),
            _in_dates("paid_date", lo, hi),
            _col("amount.positive", "amount must be > 0; got {value}", lambda s: s > 0),
        ]
    elif table == "compliance_events":
        keys = [
            KeyRule(
                "event_id.unique",
                ("event_id",),
                "event_id {value} appears more than once (first occurrence kept)",
            )
        ]
        rules = [
            *parents,
            _in_dates("event_date", lo, hi),
            _allowed("event_type", EVENT_TYPES),
            _allowed("severity", SEVERITIES),
            _non_negative("amount"),
            _not_before("resolved_date", "event_date"),
            _in_dates("resolved_date", lo, hi),
        ]
    elif table == "external_ratings":
        keys = [
            KeyRule(
                "rating_date.unique_per_applicant",
                ("applicant_id", "rating_date"),
                "rating for (applicant_id, rating_date) {value} appears more than once "
                "(first occurrence kept)",
            )
        ]
        rules = [
            *parents,
            _in_dates("rating_date", lo, hi),
            _col(
                "bureau_score.in_range",
                "bureau_score must be between 1 and 100; got {value}",
                lambda s: (s >= 1) & (s <= 100),
            ),
            _col(
                "esg_score.in_range",
                "esg_score must be between 0 and 100; got {value}",
                lambda s: (s >= 0) & (s <= 100),
            ),
        ]
    elif table == "outcomes":
        keys = [
            KeyRule(
                "applicant_id.unique",
                ("applicant_id",),
                "applicant_id {value} appears more than once (first occurrence kept)",
            )
        ]
        rules = [
            *parents,
            _col(
                "default_12m.allowed",
                "default_12m must be 0, 1 or empty; got {value}",
                lambda s: s.isin([0, 1]),
            ),
            _in_dates("default_date", lo, hi),
        ]
    else:
        raise ValueError(f"unknown table {table!r}")
    return keys, rules


def _customer_rules(
    cfg: ValidationConfig,
    refs: dict[str, tuple[pd.Index, pd.Index]] | None,
    valid_ids: pd.Index | None,
    rejected_ids: pd.Index | None,
) -> tuple[list[KeyRule], list[Rule]]:
    applicant = (
        _parent_rules(
            valid_ids, rejected_ids if rejected_ids is not None else pd.Index([]), optional=True
        )
        if valid_ids is not None
        else []
    )
    return [_unique("customer_id")], [
        *applicant,
        _in_dates("customer_since", cfg.earliest_date, cfg.latest_date),
        _non_negative("credit_limit"),
        _col(
            "payment_terms_days.in_range",
            f"payment_terms_days must be between 0 and {cfg.max_terms_days}; got {{value}}",
            lambda s: (s >= 0) & (s <= cfg.max_terms_days),
        ),
        _allowed("security", SECURITY_TYPES),
        _col(
            "country_risk_grade.in_range",
            "country_risk_grade must be between 0 and 7; got {value}",
            lambda s: (s >= 0) & (s <= 7),
        ),
        _col(
            "country.iso_code",
            "country must be a two-letter ISO 3166-1 code such as DE or CN; got {value}",
            lambda s: s.str.fullmatch(r"[A-Z]{2}").fillna(False).astype(bool),
        ),
    ]


def _order_rules(
    cfg: ValidationConfig, refs: dict[str, tuple[pd.Index, pd.Index]] | None, *_: object
) -> tuple[list[KeyRule], list[Rule]]:
    return [_unique("order_id")], [
        *_ref(refs, "customer_id", "customers"),
        _in_dates("order_date", cfg.earliest_date, cfg.latest_date),
        _col("amount.positive", "amount must be > 0; got {value}", lambda s: s > 0),
        _allowed("status", ORDER_STATUSES),
        _not_before("status_date", "order_date"),
        _in_dates("status_date", cfg.earliest_date, cfg.latest_date),
    ]


def _invoice_rules(
    cfg: ValidationConfig, refs: dict[str, tuple[pd.Index, pd.Index]] | None, *_: object
) -> tuple[list[KeyRule], list[Rule]]:
    return [_unique("invoice_id")], [
        *_ref(refs, "customer_id", "customers"),
        *_ref(refs, "order_id", "sales_orders", optional=True),
        _allowed("document_type", DOCUMENT_TYPES),
        _in_dates("issue_date", cfg.earliest_date, cfg.latest_date),
        _not_before("due_date", "issue_date"),
        _wide(
            "due_date.within_terms_limit",
            ("due_date", "issue_date"),
            f"due_date must be at most {cfg.max_terms_days} days after issue_date; got {{value}}",
            lambda d: ~((d["due_date"] - d["issue_date"]).dt.days > cfg.max_terms_days),
        ),
        _wide(
            "due_date.required_for_invoices",
            ("document_type", "due_date"),
            "an invoice needs a due_date; got {value}",
            lambda d: ~((d["document_type"] == "invoice") & d["due_date"].isna()),
            missing_passes=False,
        ),
        _col("amount.positive", "amount must be > 0; got {value}", lambda s: s > 0),
        _wide(
            "reference_invoice_id.credit_notes_only",
            ("document_type", "reference_invoice_id"),
            "only a credit note may reference an invoice; got {value}",
            lambda d: ~((d["document_type"] == "invoice") & d["reference_invoice_id"].notna()),
        ),
    ]


def _payment_rules(
    cfg: ValidationConfig, refs: dict[str, tuple[pd.Index, pd.Index]] | None, *_: object
) -> tuple[list[KeyRule], list[Rule]]:
    return [_unique("payment_id")], [
        *_ref(refs, "customer_id", "customers"),
        *_ref(refs, "invoice_id", "sales_invoices", optional=True),
        _in_dates("payment_date", cfg.earliest_date, cfg.latest_date),
        _col("amount.positive", "amount must be > 0; got {value}", lambda s: s > 0),
    ]


TRADE_RULES = {
    "customers": _customer_rules,
    "sales_orders": _order_rules,
    "sales_invoices": _invoice_rules,
    "payments": _payment_rules,
}
assert set(TRADE_RULES) == set(TRADE_TABLES)


def build_schema(
    table: str, columns: list[str], rules: list[Rule], keys: list[KeyRule]
) -> pa.DataFrameSchema:
    """A lazy pandera schema; each check's ``error`` is the rule id reported in failure cases."""
    import pandera.pandas as pa  # slow import: only the stages that validate pay for it

    col_checks: dict[str, list[pa.Check]] = {c: [] for c in columns}
    wide: list[pa.Check] = []
    for rule in rules:
        if rule.column is not None:
            col_checks[rule.column].append(pa.Check(rule.check, error=rule.id))
        else:
            wide.append(pa.Check(_null_safe(rule), error=rule.id, ignore_na=False))
    single = [k for k in keys if len(k.columns) == 1]
    multi = [k for k in keys if len(k.columns) > 1]
    schema_columns = {
        c: pa.Column(
            checks=col_checks[c],
            nullable=True,
            required=True,
            unique=any(k.columns == (c,) for k in single),
            report_duplicates="exclude_first",
        )
        for c in columns
    }
    return pa.DataFrameSchema(
        schema_columns,
        checks=wide,
        unique=list(multi[0].columns) if multi else None,
        report_duplicates="exclude_first",
        name=table,
    )


def _null_safe(rule: Rule) -> Callable[[pd.DataFrame], pd.Series]:
    """Wide rules pass when one of their inputs is missing (missingness has its own rules)."""

    def check(frame: pd.DataFrame) -> pd.Series:
        ok = rule.check(frame).fillna(True).astype(bool)
        if not rule.missing_passes:
            return ok
        return ok | frame[list(rule.columns)].isna().any(axis=1)

    return check
