"""One bad frame per validation rule: the exact rule, column and row are reported."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.contract.rules import ValidationConfig, table_rules
from features.contract.tables import TABLES, TRADE_TABLES
from features.contract.validation import validate_table, validate_tables
from features.errors import DataError

# Tables whose rows go with a rejected parent row (checked by the parent tests below).
DOWNSTREAM = {
    "applicants": tuple(TABLES),
    "customers": ("sales_orders", "sales_invoices", "payments"),
    "sales_orders": ("sales_invoices", "payments"),
    "sales_invoices": ("payments",),
}
R = 3  # the corrupted row (0-based); reported as row R + 1
CFG = ValidationConfig()
D = pd.Timedelta


def _set(table, column, value):
    def mutate(t):
        t[table].loc[R, column] = value

    return mutate


def _shift(table, column, other, days):
    def mutate(t):
        t[table].loc[R, column] = t[table].loc[R, other] + D(days=days)

    return mutate


def _copy_key(table, columns):
    def mutate(t):
        for c in columns:
            t[table].loc[R, c] = t[table].loc[R - 1, c]

    return mutate


def _scale(table, column, factor):
    def mutate(t):
        t[table].loc[R, column] = t[table].loc[R, column] * factor

    return mutate


def _fs_full_row(t):
    """Make row R of the statements a full (income statement present) one."""
    fs = t["financial_statements"]
    full = fs.dropna(subset=["revenue"]).index
    fs.loc[R] = fs.loc[full[full != R][0]]
    fs.loc[R, "fiscal_year"] = 1990  # keep the key unique
    fs.loc[R, "period_end"] = pd.Timestamp("1990-12-31")
    fs.loc[R, "filing_date"] = pd.Timestamp("1991-06-30")


def _then(*fns):
    def mutate(t):
        for fn in fns:
            fn(t)

    return mutate


FS = "financial_statements"
NON_NEG_FS = (
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

CASES = [
    (
        "applicants",
        "applicant_id.unique",
        "applicant_id",
        _copy_key("applicants", ["applicant_id"]),
    ),
    (
        "applicants",
        "application_date.in_range",
        "application_date",
        _set("applicants", "application_date", pd.Timestamp("2031-01-01")),
    ),
    (
        "applicants",
        "founding_date.in_range",
        "founding_date",
        _set("applicants", "founding_date", pd.Timestamp("1700-01-01")),
    ),
    (
        "applicants",
        "founding_date.before_application",
        "founding_date,application_date",
        _shift("applicants", "founding_date", "application_date", 30),
    ),
    (
        "applicants",
        "requested_limit.positive",
        "requested_limit",
        _set("applicants", "requested_limit", 0.0),
    ),
    (
        "applicants",
        "requested_terms_days.in_range",
        "requested_terms_days",
        _set("applicants", "requested_terms_days", 400),
    ),
    ("applicants", "industry.allowed", "industry", _set("applicants", "industry", "piracy")),
    ("applicants", "region.allowed", "region", _set("applicants", "region", "atlantis")),
    ("applicants", "legal_form.allowed", "legal_form", _set("applicants", "legal_form", "trust")),
    ("applicants", "employees.non_negative", "employees", _set("applicants", "employees", -1)),
    (
        "applicants",
        "registered_capital.non_negative",
        "registered_capital",
        _set("applicants", "registered_capital", -5.0),
    ),
    (
        FS,
        "fiscal_year.unique_per_applicant",
        "applicant_id,fiscal_year",
        _copy_key(FS, ["applicant_id", "fiscal_year"]),
    ),
    (FS, "applicant_id.known", "applicant_id", _set(FS, "applicant_id", "NOBODY")),
    (
        FS,
        "period_end.in_range",
        "period_end",
        _then(
            _set(FS, "period_end", pd.Timestamp("1975-12-31")),
            _set(FS, "fiscal_year", 1975),
            _set(FS, "filing_date", pd.Timestamp("1976-06-30")),
        ),
    ),
    (
        FS,
        "period_end.matches_fiscal_year",
        "period_end,fiscal_year",
        _set(FS, "period_end", pd.Timestamp("1999-12-31")),
    ),
    (
        FS,
        "filing_date.after_period_end",
        "filing_date,period_end",
        _shift(FS, "filing_date", "period_end", -1),
    ),
    *((FS, f"{c}.non_negative", c, _then(_fs_full_row, _set(FS, c, -1.0))) for c in NON_NEG_FS),
    (
        FS,
        "balance_sheet.identity",
        "total_assets,total_liabilities,equity",
        _then(_fs_full_row, _scale(FS, "equity", 1.5), _scale(FS, "total_liabilities", 0.5)),
    ),
    (
        FS,
        "current_assets.le_total_assets",
        "current_assets,total_assets",
        _then(
            _fs_full_row,
            lambda t: t[FS].__setitem__(
                "current_assets",
                t[FS].current_assets.where(t[FS].index != R, t[FS].total_assets * 1.2),
            ),
        ),
    ),
    (
        FS,
        "current_assets.components",
        "cash,receivables,inventory,current_assets",
        _then(
            _fs_full_row,
            lambda t: t[FS].__setitem__(
                "cash", t[FS].cash.where(t[FS].index != R, t[FS].current_assets)
            ),
        ),
    ),
    (
        FS,
        "current_liabilities.le_total_liabilities",
        "current_liabilities,total_liabilities",
        _then(
            _fs_full_row,
            lambda t: t[FS].__setitem__(
                "current_liabilities",
                t[FS].current_liabilities.where(t[FS].index != R, t[FS].total_liabilities * 1.5),
            ),
        ),
    ),
    (
        FS,
        "ebit.identity",
        "ebit,revenue,cost_of_sales,operating_expenses",
        _then(
            _fs_full_row,
            lambda t: t[FS].__setitem__("ebit", t[FS].ebit.where(t[FS].index != R, t[FS].revenue)),
        ),
    ),
    ("invoices", "invoice_id.unique", "invoice_id", _copy_key("invoices", ["invoice_id"])),
    ("invoices", "applicant_id.known", "applicant_id", _set("invoices", "applicant_id", "?")),
    (
        "invoices",
        "issue_date.in_range",
        "issue_date",
        _then(
            _set("invoices", "issue_date", pd.Timestamp("1970-01-05")),
            _set("invoices", "due_date", pd.Timestamp("1970-02-05")),
            _set("invoices", "paid_date", pd.Timestamp("1970-02-05")),
        ),
    ),
    (
        "invoices",
        "due_date.not_before_issue",
        "due_date,issue_date",
        _shift("invoices", "due_date", "issue_date", -1),
    ),
    (
        "invoices",
        "due_date.within_terms_limit",
        "due_date,issue_date",
        _then(
            _shift("invoices", "due_date", "issue_date", 400), _set("invoices", "paid_date", pd.NaT)
        ),
    ),
    (
        "invoices",
        "paid_date.not_before_issue",
        "paid_date,issue_date",
        _shift("invoices", "paid_date", "issue_date", -3),
    ),
    (
        "invoices",
        "paid_date.in_range",
        "paid_date",
        _set("invoices", "paid_date", pd.Timestamp("2030-01-01")),
    ),
    ("invoices", "amount.positive", "amount", _set("invoices", "amount", 0.0)),
    (
        "compliance_events",
        "event_id.unique",
        "event_id",
        _copy_key("compliance_events", ["event_id"]),
    ),
    (
        "compliance_events",
        "applicant_id.known",
        "applicant_id",
        _set("compliance_events", "applicant_id", "?"),
    ),
    (
        "compliance_events",
        "event_date.in_range",
        "event_date",
        _then(
            _set("compliance_events", "event_date", pd.Timestamp("1960-01-01")),
            _set("compliance_events", "resolved_date", pd.NaT),
        ),
    ),
    (
        "compliance_events",
        "event_type.allowed",
        "event_type",
        _set("compliance_events", "event_type", "parking"),
    ),
    (
        "compliance_events",
        "severity.allowed",
        "severity",
        _set("compliance_events", "severity", "catastrophic"),
    ),
    (
        "compliance_events",
        "amount.non_negative",
        "amount",
        _set("compliance_events", "amount", -1.0),
    ),
    (
        "compliance_events",
        "resolved_date.not_before_event",
        "resolved_date,event_date",
        _shift("compliance_events", "resolved_date", "event_date", -1),
    ),
    (
        "compliance_events",
        "resolved_date.in_range",
        "resolved_date",
        _set("compliance_events", "resolved_date", pd.Timestamp("2040-01-01")),
    ),
    (
        "external_ratings",
        "rating_date.unique_per_applicant",
        "applicant_id,rating_date",
        _copy_key("external_ratings", ["applicant_id", "rating_date"]),
    ),
    (
        "external_ratings",
        "applicant_id.known",
        "applicant_id",
        _set("external_ratings", "applicant_id", "?"),
    ),
    (
        "external_ratings",
        "rating_date.in_range",
        "rating_date",
        _set("external_ratings", "rating_date", pd.Timestamp("2029-01-01")),
    ),
    (
        "external_ratings",
        "bureau_score.in_range",
        "bureau_score",
        _set("external_ratings", "bureau_score", 0.0),
    ),
    (
        "external_ratings",
        "esg_score.in_range",
        "esg_score",
        _set("external_ratings", "esg_score", 101.0),
    ),
    ("outcomes", "applicant_id.unique", "applicant_id", _copy_key("outcomes", ["applicant_id"])),
    ("outcomes", "applicant_id.known", "applicant_id", _set("outcomes", "applicant_id", "?")),
    ("outcomes", "default_12m.allowed", "default_12m", _set("outcomes", "default_12m", 2)),
    (
        "outcomes",
        "default_date.in_range",
        "default_date",
        _set("outcomes", "default_date", pd.Timestamp("2026-01-01")),
    ),
    (
        "applicants",
        "past_decision.allowed",
        "past_decision",
        _set("applicants", "past_decision", "maybe"),
    ),
    ("customers", "customer_id.unique", "customer_id", _copy_key("customers", ["customer_id"])),
    (
        "customers",
        "customer_since.in_range",
        "customer_since",
        _set("customers", "customer_since", pd.Timestamp("2031-01-01")),
    ),
    (
        "customers",
        "credit_limit.non_negative",
        "credit_limit",
        _set("customers", "credit_limit", -1.0),
    ),
    (
        "customers",
        "payment_terms_days.in_range",
        "payment_terms_days",
        _set("customers", "payment_terms_days", 999),
    ),
    ("customers", "security.allowed", "security", _set("customers", "security", "hope")),
    (
        "customers",
        "country_risk_grade.in_range",
        "country_risk_grade",
        _set("customers", "country_risk_grade", 9),
    ),
    ("customers", "country.iso_code", "country", _set("customers", "country", "Germany")),
    ("sales_orders", "order_id.unique", "order_id", _copy_key("sales_orders", ["order_id"])),
    ("sales_orders", "customer_id.known", "customer_id", _set("sales_orders", "customer_id", "?")),
    (
        "sales_orders",
        "order_date.in_range",
        "order_date",
        _set("sales_orders", "order_date", pd.Timestamp("1970-01-01")),
    ),
    ("sales_orders", "amount.positive", "amount", _set("sales_orders", "amount", 0.0)),
    ("sales_orders", "status.allowed", "status", _set("sales_orders", "status", "shipped?")),
    (
        "sales_orders",
        "status_date.not_before_order",
        "status_date,order_date",
        _shift("sales_orders", "status_date", "order_date", -2),
    ),
    (
        "sales_orders",
        "status_date.in_range",
        "status_date",
        _then(
            _set("sales_orders", "status_date", pd.Timestamp("2030-01-01")),
        ),
    ),
    (
        "sales_invoices",
        "invoice_id.unique",
        "invoice_id",
        _copy_key("sales_invoices", ["invoice_id"]),
    ),
    (
        "sales_invoices",
        "customer_id.known",
        "customer_id",
        _set("sales_invoices", "customer_id", "?"),
    ),
    ("sales_invoices", "order_id.known", "order_id", _set("sales_invoices", "order_id", "?")),
    (
        "sales_invoices",
        "document_type.allowed",
        "document_type",
        _set("sales_invoices", "document_type", "receipt"),
    ),
    (
        "sales_invoices",
        "issue_date.in_range",
        "issue_date",
        _then(
            _set("sales_invoices", "issue_date", pd.Timestamp("2040-01-01")),
            _set("sales_invoices", "due_date", pd.Timestamp("2040-01-31")),
        ),
    ),
    (
        "sales_invoices",
        "due_date.not_before_issue",
        "due_date,issue_date",
        _shift("sales_invoices", "due_date", "issue_date", -1),
    ),
    (
        "sales_invoices",
        "due_date.within_terms_limit",
        "due_date,issue_date",
        _shift("sales_invoices", "due_date", "issue_date", 400),
    ),
    (
        "sales_invoices",
        "due_date.required_for_invoices",
        "document_type,due_date",
        _set("sales_invoices", "due_date", pd.NaT),
    ),
    ("sales_invoices", "amount.positive", "amount", _set("sales_invoices", "amount", -5.0)),
    (
        "sales_invoices",
        "reference_invoice_id.credit_notes_only",
        "document_type,reference_invoice_id",
        _set("sales_invoices", "reference_invoice_id", "INV000000001"),
    ),
    ("payments", "payment_id.unique", "payment_id", _copy_key("payments", ["payment_id"])),
    ("payments", "customer_id.known", "customer_id", _set("payments", "customer_id", "?")),
    ("payments", "invoice_id.known", "invoice_id", _set("payments", "invoice_id", "?")),
    (
        "payments",
        "payment_date.in_range",
        "payment_date",
        _set("payments", "payment_date", pd.Timestamp("2030-01-01")),
    ),
    ("payments", "amount.positive", "amount", _set("payments", "amount", 0.0)),
]


@pytest.mark.parametrize(
    ("table", "rule", "column", "mutate"), CASES, ids=[f"{c[0]}:{c[1]}" for c in CASES]
)
def test_rule_reports_rule_column_and_row(tiny_tables, table, rule, column, mutate):
    mutate(tiny_tables)
    results = validate_tables(tiny_tables, CFG)
    rejects = results[table].rejects
    assert rejects["row"].tolist() == [R + 1], rejects[["row", "rule", "message"]]
    hit = rejects.iloc[0]
    assert hit["rule"] == rule
    assert hit["column"] == column
    assert column.split(",")[0] in hit["message"] and hit["value"] != ""
    for name, result in results.items():
        assert result.balanced
        if name != table and name not in DOWNSTREAM.get(table, ()):
            assert result.n_rejected == 0, (name, result.rejects.head())


def test_every_rule_has_a_case():
    ids = set()
    for table in TABLES:
        keys, rules = table_rules(table, CFG)
        ids |= {(table, k.id) for k in keys} | {(table, r.id) for r in rules}
    covered = {(c[0], c[1]) for c in CASES}
    parent = {
        (t, "applicant_id.parent_rejected")
        for t in TABLES
        if t != "applicants" and t not in TRADE_TABLES
    } | {
        ("sales_orders", "customer_id.parent_rejected"),
        ("sales_invoices", "customer_id.parent_rejected"),
        ("sales_invoices", "order_id.parent_rejected"),
        ("payments", "customer_id.parent_rejected"),
        ("payments", "invoice_id.parent_rejected"),
    }
    assert ids - covered == parent  # covered by the tests of children of rejected parents


def test_children_of_a_rejected_applicant_are_rejected_with_the_reason(tiny_tables):
    apps = tiny_tables["applicants"]
    victim = tiny_tables["invoices"].applicant_id.iloc[0]
    apps.loc[apps.applicant_id == victim, "industry"] = "piracy"
    results = validate_tables(tiny_tables, CFG)
    for table in (
        "financial_statements",
        "invoices",
        "compliance_events",
        "external_ratings",
        "outcomes",
    ):
        n_children = int((tiny_tables[table].applicant_id == victim).sum())
        rejects = results[table].rejects
        assert len(rejects) == n_children
        assert (rejects.rule == "applicant_id.parent_rejected").all()
        assert (rejects.applicant_id == victim).all()


def test_type_and_required_errors_from_text_input(tiny_tables):
    raw = tiny_tables["invoices"].head(10).astype(str).replace({"NaT": "", "nan": ""})
    raw.loc[2, "amount"] = "12,5 EUR"
    raw.loc[4, "due_date"] = "31/02/2021"
    raw.loc[6, "issue_date"] = ""
    raw.loc[8, "invoice_id"] = "7.5"
    res = validate_table(
        raw,
        "invoices",
        CFG,
        "invoices.csv",
        pd.Index(tiny_tables["applicants"].applicant_id),
        pd.Index([]),
    )
    got = res.rejects.set_index("row")[["rule", "column", "value"]]
    assert got.loc[3].tolist() == ["amount.type", "amount", "'12,5 EUR'"]
    assert got.loc[5].tolist() == ["due_date.type", "due_date", "'31/02/2021'"]
    assert got.loc[7, "rule"] == "issue_date.required"
    assert got.loc[9, "rule"] == "invoice_id.type"
    assert res.n_valid == 6 and res.balanced
    assert res.valid["amount"].dtype == np.float64
    assert str(res.valid["issue_date"].dtype) == "datetime64[ns]"


def test_rejects_keep_the_original_row(tiny_tables):
    tiny_tables["applicants"].loc[R, "industry"] = "piracy"
    res = validate_tables(tiny_tables, CFG)["applicants"]
    row = res.rejects.iloc[0]
    original = tiny_tables["applicants"].iloc[R]
    for col in TABLES["applicants"].column_names:
        assert row[col] == original[col]


def test_missing_column_names_the_file_and_column(tiny_tables):
    raw = tiny_tables["invoices"].rename(columns={"due_date": "date_due"})
    with pytest.raises(
        DataError,
        match=r"^invoices.csv: missing required column\(s\) due_date "
        r"\(found: .*date_due",
    ):
        validate_table(raw, "invoices", CFG, "invoices.csv")


def test_optional_columns_may_be_absent(tiny_tables):
    raw = tiny_tables["invoices"].drop(columns=["paid_date"])
    res = validate_table(
        raw,
        "invoices",
        CFG,
        "invoices.csv",
        pd.Index(tiny_tables["applicants"].applicant_id),
        pd.Index([]),
    )
    assert res.n_rejected == 0 and res.valid["paid_date"].isna().all()


def test_empty_applicants_is_a_whole_file_error_other_tables_may_be_empty(tiny_tables):
    """No applicants: nothing to validate. A child table with a header and no rows holds no
    records of its kind (a CRM export has no financial statements)."""
    with pytest.raises(DataError, match="x.parquet: empty file"):
        validate_table(tiny_tables["applicants"].head(0), "applicants", CFG, "x.parquet")
    res = validate_table(tiny_tables["invoices"].head(0), "invoices", CFG, "x.parquet")
    assert (res.n_input, res.n_valid, res.n_rejected) == (0, 0, 0)
    assert list(res.valid.columns) == TABLES["invoices"].column_names


def test_trade_rows_of_a_rejected_parent_are_rejected_with_the_reason(tiny_tables):
    """A rejected customer takes its orders, invoices and payments with it; a rejected invoice
    its payments; counts still add up."""
    customers = tiny_tables["customers"]
    victim = tiny_tables["payments"]["customer_id"].iloc[0]
    customers.loc[customers["customer_id"] == victim, "security"] = "hope"
    invoices = tiny_tables["sales_invoices"]
    other = tiny_tables["payments"].dropna(subset=["invoice_id"])
    other = other.loc[other["customer_id"] != victim].iloc[0]
    invoices.loc[invoices["invoice_id"] == other["invoice_id"], "amount"] = -1.0
    results = validate_tables(tiny_tables, CFG)
    for table in ("sales_orders", "sales_invoices", "payments"):
        rejects = results[table].rejects
        mine = rejects.loc[rejects["customer_id"] == victim]
        assert len(mine) == (tiny_tables[table]["customer_id"] == victim).sum() > 0
        assert set(mine["rule"]) == {"customer_id.parent_rejected"}
        assert results[table].balanced
    pay = results["payments"].rejects
    hit = pay.loc[pay["invoice_id"] == other["invoice_id"]]
    assert hit["rule"].tolist() == ["invoice_id.parent_rejected"]


def test_invoices_reference_orders_only_when_orders_are_supplied(tiny_tables):
    del tiny_tables["sales_orders"]
    tiny_tables["sales_invoices"].loc[R, "order_id"] = "not-an-order"
    results = validate_tables(tiny_tables, CFG)
    assert "sales_orders" not in results
    assert results["sales_invoices"].n_rejected == 0
