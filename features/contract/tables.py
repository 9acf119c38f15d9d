"""The raw source tables: names, columns, types and allowed values (the data contract).

This is the contract a user's own exports must meet (see ``docs/data.md``); validation schemas,
the generator and the readers all take their column lists from here.
"""

from __future__ import annotations

from dataclasses import dataclass

INDUSTRIES: tuple[str, ...] = (
    "agriculture",
    "manufacturing",
    "construction",
    "wholesale",
    "retail",
    "transport",
    "accommodation_food",
    "information_technology",
    "professional_services",
    "real_estate",
    "health_social",
    "energy_utilities",
)
REGIONS: tuple[str, ...] = (
    "north",
    "south",
    "east",
    "west",
    "central",
    "coastal",
    "capital",
    "mountain",
)
LEGAL_FORMS: tuple[str, ...] = ("sole_proprietorship", "partnership", "limited", "joint_stock")
EVENT_TYPES: tuple[str, ...] = (
    "litigation",
    "tax_arrears",
    "penalty",
    "sanctions_hit",
    "insolvency_filing",
)
SEVERITIES: tuple[str, ...] = ("low", "medium", "high")
SECURITY_TYPES: tuple[str, ...] = ("none", "guarantee", "prepayment", "credit_insurance")
ORDER_STATUSES: tuple[str, ...] = ("open", "invoiced", "held", "cancelled")
DOCUMENT_TYPES: tuple[str, ...] = ("invoice", "credit_note")
PAST_DECISIONS: tuple[str, ...] = ("approve", "decline")


@dataclass(frozen=True)
class Column:
    """One column of a source table. ``kind`` is one of str, int, float, date."""

    name: str
    kind: str
    required: bool = True
    description: str = ""


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    description: str

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def _c(name: str, kind: str, required: bool = True, description: str = "") -> Column:
    return Column(name, kind, required, description)


_MONEY = "currency units"
FINANCIAL_AMOUNTS: tuple[str, ...] = (
    "revenue",
    "cost_of_sales",
    "operating_expenses",
    "ebit",
    "interest_expense",
    "net_income",
    "depreciation",
    "cash",
    "receivables",
    "inventory",
    "current_assets",
    "total_assets",
    "current_liabilities",
    "long_term_debt",
    "total_liabilities",
    "equity",
    "operating_cash_flow",
)
INCOME_STATEMENT: tuple[str, ...] = (
    "revenue",
    "cost_of_sales",
    "operating_expenses",
    "ebit",
    "interest_expense",
    "net_income",
    "depreciation",
    "operating_cash_flow",
)

TABLES: dict[str, TableSpec] = {
    "applicants": TableSpec(
        "applicants",
        (
            _c("applicant_id", "str", description="Unique applicant (firm) identifier."),
            _c("company_name", "str", False, "Registered name as supplied by the applicant."),
            _c(
                "application_date",
                "date",
                description="Date of the credit application (as-of date of every feature).",
            ),
            _c("requested_limit", "float", description=f"Credit limit requested, {_MONEY}."),
            _c("requested_terms_days", "int", description="Payment terms requested, days."),
            _c("industry", "str", description="Sector, one of: " + ", ".join(INDUSTRIES) + "."),
            _c("region", "str", description="Region, one of: " + ", ".join(REGIONS) + "."),
            _c(
                "legal_form",
                "str",
                description="Legal form, one of: " + ", ".join(LEGAL_FORMS) + ".",
            ),
            _c("founding_date", "date", description="Date the firm was founded/registered."),
            _c("employees", "int", description="Number of employees at application."),
            _c(
                "registered_capital",
                "float",
                description=f"Registered capital, {_MONEY} (0 for sole proprietorships).",
            ),
            _c(
                "past_decision",
                "str",
                False,
                "What the company decided at the time: approve or decline (empty = approved or "
                "unknown). A declined applicant has no outcome; reject inference uses them.",
            ),
        ),
        ("applicant_id",),
        "One row per credit application (firmographics and the request).",
    ),
    "financial_statements": TableSpec(
        "financial_statements",
        (
            _c("applicant_id", "str", description="Applicant the statement belongs to."),
            _c("fiscal_year", "int", description="Fiscal year (calendar year ending 31 Dec)."),
            _c("period_end", "date", description="Balance-sheet date (fiscal year end)."),
            _c(
                "filing_date",
                "date",
                False,
                "Date the statement became available; when empty, "
                "period end plus the reporting lag from params is assumed.",
            ),
            *(
                _c(
                    a,
                    "float",
                    a not in INCOME_STATEMENT,
                    f"{a.replace('_', ' ').capitalize()}, {_MONEY}"
                    + (" (empty in balance-sheet-only filings)." if a in INCOME_STATEMENT else "."),
                )
                for a in FINANCIAL_AMOUNTS
            ),
        ),
        ("applicant_id", "fiscal_year"),
        "Annual statements (balance sheet, income statement, cash flow), 0-3 years per applicant.",
    ),
    "invoices": TableSpec(
        "invoices",
        (
            _c("invoice_id", "int", description="Unique invoice identifier."),
            _c("applicant_id", "str", description="Applicant who owes the invoice."),
            _c("issue_date", "date", description="Invoice date."),
            _c("due_date", "date", description="Due date (issue date plus terms)."),
            _c("paid_date", "date", False, "Date paid; empty while unpaid at data extraction."),
            _c("amount", "float", description=f"Invoice amount, {_MONEY}."),
        ),
        ("invoice_id",),
        "Trade invoices owed by the applicant to suppliers: payment behaviour.",
    ),
    "compliance_events": TableSpec(
        "compliance_events",
        (
            _c("event_id", "int", description="Unique event identifier."),
            _c("applicant_id", "str", description="Applicant concerned."),
            _c("event_date", "date", description="Date the event was recorded."),
            _c("event_type", "str", description="One of: " + ", ".join(EVENT_TYPES) + "."),
            _c("severity", "str", description="One of: " + ", ".join(SEVERITIES) + "."),
            _c(
                "amount",
                "float",
                False,
                f"Amount at stake, {_MONEY} (empty for sanctions and insolvency filings).",
            ),
            _c("resolved_date", "date", False, "Date closed; empty while open at extraction."),
        ),
        ("event_id",),
        "Litigation as defendant, tax arrears, penalties, sanctions/watch-list hits, insolvency.",
    ),
    "external_ratings": TableSpec(
        "external_ratings",
        (
            _c("applicant_id", "str", description="Applicant rated."),
            _c("rating_date", "date", description="Date the scores were pulled."),
            _c(
                "bureau_score",
                "float",
                False,
                "External bureau score 1-100, higher is better; empty when the bureau has no file.",
            ),
            _c(
                "esg_score",
                "float",
                False,
                "ESG score 0-100, higher is better; often empty for small firms.",
            ),
        ),
        ("applicant_id", "rating_date"),
        "External bureau and ESG scores, pulled at one or more dates.",
    ),
    "outcomes": TableSpec(
        "outcomes",
        (
            _c("applicant_id", "str", description="Applicant."),
            _c(
                "default_12m",
                "int",
                False,
                "1 if 90+ days past due or insolvent within 12 "
                "months after the application date, 0 if not, empty when the 12-month window "
                "is not complete at the data cut-off (unlabelled).",
            ),
            _c("default_date", "date", False, "Date of default, when defaulted."),
        ),
        ("applicant_id",),
        "Observed 12-month outcome per accepted applicant (the label); declined applicants "
        "have none.",
    ),
    # The company's own trade with its customers after admission (optional tables: the
    # model needs none of them; exposure, reviews and customer value do).
    "customers": TableSpec(
        "customers",
        (
            _c("customer_id", "str", description="Customer account identifier (the CRM/ERP id)."),
            _c(
                "applicant_id",
                "str",
                False,
                "The application that admitted the customer (links to applicants); empty for "
                "customers taken on before this product.",
            ),
            _c("company_name", "str", False, "Customer name on the account."),
            _c(
                "account_owner",
                "str",
                False,
                "Salesperson responsible for the customer (views by account owner).",
            ),
            _c("country", "str", False, "ISO 3166-1 alpha-2 country of the customer."),
            _c(
                "country_risk_grade",
                "int",
                False,
                "Country risk grade 0 (lowest) to 7 (highest), OECD-style; empty = 0 "
                "(home market).",
            ),
            _c("customer_since", "date", description="Date the account was opened."),
            _c(
                "credit_limit",
                "float",
                description=f"Credit limit in force at extraction, {_MONEY} (the decision "
                "ledger, when used, gives the limit on any date).",
            ),
            _c("payment_terms_days", "int", description="Payment terms in force, days."),
            _c(
                "security",
                "str",
                False,
                "Security held, one of: " + ", ".join(SECURITY_TYPES) + " (empty = none).",
            ),
        ),
        ("customer_id",),
        "One row per customer account after admission (the customer master).",
    ),
    "sales_orders": TableSpec(
        "sales_orders",
        (
            _c("order_id", "str", description="Unique sales order identifier."),
            _c("customer_id", "str", description="Customer who placed the order."),
            _c("order_date", "date", description="Date the order was placed."),
            _c("amount", "float", description=f"Order value, {_MONEY}."),
            _c(
                "status",
                "str",
                description="One of: " + ", ".join(ORDER_STATUSES) + " (held: stopped by "
                "credit control, e.g. beyond the open limit or overdue).",
            ),
            _c(
                "status_date",
                "date",
                False,
                "Date the order reached its status (invoiced, held, cancelled); empty while open.",
            ),
        ),
        ("order_id",),
        "Sales orders of the company's customers, with what credit control did with them.",
    ),
    "sales_invoices": TableSpec(
        "sales_invoices",
        (
            _c("invoice_id", "str", description="Unique invoice or credit note identifier."),
            _c("customer_id", "str", description="Customer who owes the invoice."),
            _c("order_id", "str", False, "Sales order invoiced, when known."),
            _c(
                "document_type",
                "str",
                description="One of: " + ", ".join(DOCUMENT_TYPES) + ".",
            ),
            _c("issue_date", "date", description="Date issued."),
            _c(
                "due_date",
                "date",
                False,
                "Due date of an invoice (issue date plus the terms); empty for credit notes.",
            ),
            _c("amount", "float", description=f"Gross amount, {_MONEY} (> 0 for both types)."),
            _c(
                "reference_invoice_id",
                "str",
                False,
                "Credit notes: the invoice they reduce; empty = against the oldest open items.",
            ),
        ),
        ("invoice_id",),
        "The company's invoices and credit notes to its customers (the receivables ledger).",
    ),
    "payments": TableSpec(
        "payments",
        (
            _c("payment_id", "str", description="Unique payment identifier."),
            _c("customer_id", "str", description="Customer who paid."),
            _c(
                "invoice_id",
                "str",
                False,
                "Invoice the payment settles; empty = applied to the oldest open invoices.",
            ),
            _c("payment_date", "date", description="Date the money was received."),
            _c("amount", "float", description=f"Amount received, {_MONEY}."),
        ),
        ("payment_id",),
        "Customer payments received (cash applied to the receivables ledger).",
    ),
}

# The tables of the company's own trade: optional for bring-your-own data.
TRADE_TABLES: tuple[str, ...] = ("customers", "sales_orders", "sales_invoices", "payments")

# Leading columns of every features file (synthetic or single-table), before the features.
META_COLUMNS = [
    "applicant_id",
    "application_date",
    "default_12m",
    "past_decision",
    "company_name",
    "requested_limit",
    "requested_terms_days",
]
