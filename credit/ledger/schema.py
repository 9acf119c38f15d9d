"""Ledger tables (SQLAlchemy 2 Core). The migrations in ``migrations/versions`` create them.

- ``customers``: one row per customer; a customer may apply more than once.
- ``applications``: application_id (the scored applicant_id), customer, date, request.
- ``feature_schemas``: column names and dtypes of a recorded batch of feature rows.
- ``decisions``: append-only; one per (application, bundle version), with the feature row
  (canonical JSON) and its SHA-256 so the decision can be replayed.
- ``actions``: append-only approvals, declines and overrides of a decision, each with who,
  role, the resulting decision/limit/terms/security and a mandatory reason.
- ``limit_events`` (a view): every decision and action as a (customer, time, limit, terms)
  event; a customer's effective limit as of a date is the latest event up to it.
- ``proposals`` (migration 0002): append-only proposed changes of a customer's limit, terms and
  security (from a review as of a date), with the state they change, the reasons and the least
  role that may approve them; one per (customer, review date, source).
- ``proposal_outcomes``: append-only; at most one per proposal (approve or reject, who, role,
  mandatory reason, time, and the override action an approval recorded). A proposal without
  an outcome is pending.
"""

from __future__ import annotations

import sqlalchemy as sa

DECISIONS = ("approve", "refer", "decline")
ACTION_KINDS = ("approve", "decline", "override")
SECURITY = ("none", "guarantee", "prepayment", "credit_insurance")
PROPOSAL_SOURCE = "review"  # the only source so far: a customer review
OUTCOMES = ("approve", "reject")

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

metadata = sa.MetaData()

customers = sa.Table(
    "customers",
    metadata,
    sa.Column("customer_id", sa.String(64), primary_key=True),
    sa.Column("first_seen", sa.Date, nullable=False),
)

applications = sa.Table(
    "applications",
    metadata,
    sa.Column("application_id", sa.String(64), primary_key=True),
    sa.Column(
        "customer_id",
        sa.String(64),
        sa.ForeignKey("customers.customer_id"),
        nullable=False,
        index=True,
    ),
    sa.Column("application_date", sa.Date, nullable=False),
    sa.Column("requested_limit", sa.Float, nullable=True),
    sa.Column("requested_terms_days", sa.Integer, nullable=True),
)

feature_schemas = sa.Table(
    "feature_schemas",
    metadata,
    sa.Column("schema_hash", sa.String(64), primary_key=True),
    sa.Column("schema", sa.Text, nullable=False),
)

decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column(
        "application_id",
        sa.String(64),
        sa.ForeignKey("applications.application_id"),
        nullable=False,
    ),
    sa.Column("bundle_version", sa.String(128), nullable=False),
    sa.Column("registry_version", sa.String(64), nullable=True),
    sa.Column("decided_at", sa.DateTime, nullable=False),
    sa.Column(
        "feature_schema",
        sa.String(64),
        sa.ForeignKey("feature_schemas.schema_hash"),
        nullable=False,
    ),
    sa.Column("feature_hash", sa.String(64), nullable=False),
    sa.Column("features", sa.Text, nullable=False),
    sa.Column("pd", sa.Float, nullable=True),
    sa.Column("points", sa.Integer, nullable=True),
    sa.Column("grade", sa.String(16), nullable=False),
    sa.Column("decision", sa.String(16), nullable=False),
    sa.Column("knockout_rule", sa.String(64), nullable=True),
    sa.Column("credit_limit", sa.Float, nullable=False),
    sa.Column("limit_rule", sa.String(64), nullable=True),
    sa.Column("payment_terms_days", sa.Integer, nullable=False),
    sa.Column("security", sa.String(16), nullable=True),
    sa.Column("reasons", sa.Text, nullable=False),
    sa.UniqueConstraint("application_id", "bundle_version", name="uq_decisions_application_bundle"),
    sa.CheckConstraint(f"decision IN {DECISIONS!r}", name="ck_decisions_decision"),
)

actions = sa.Table(
    "actions",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("decision_id", ID, sa.ForeignKey("decisions.id"), nullable=False, index=True),
    sa.Column(
        "application_id",
        sa.String(64),
        sa.ForeignKey("applications.application_id"),
        nullable=False,
        index=True,
    ),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("who", sa.String(128), nullable=False),
    sa.Column("role", sa.String(64), nullable=False),
    sa.Column("decision", sa.String(16), nullable=False),
    sa.Column("credit_limit", sa.Float, nullable=False),
    sa.Column("payment_terms_days", sa.Integer, nullable=False),
    sa.Column("security", sa.String(16), nullable=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.CheckConstraint(f"kind IN {ACTION_KINDS!r}", name="ck_actions_kind"),
    sa.CheckConstraint(f"decision IN {DECISIONS!r}", name="ck_actions_decision"),
    sa.CheckConstraint("length(trim(reason)) > 0", name="ck_actions_reason"),
    sa.CheckConstraint("length(trim(who)) > 0", name="ck_actions_who"),
)

proposals = sa.Table(
    "proposals",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column(
        "customer_id",
        sa.String(64),
        sa.ForeignKey("customers.customer_id"),
        nullable=False,
        index=True,
    ),
    sa.Column(
        "application_id",
        sa.String(64),
        sa.ForeignKey("applications.application_id"),
        nullable=False,
    ),
    sa.Column("proposed_at", sa.DateTime, nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("current_decision", sa.String(16), nullable=False),
    sa.Column("current_limit", sa.Float, nullable=False),
    sa.Column("current_terms_days", sa.Integer, nullable=False),
    sa.Column("current_security", sa.String(16), nullable=True),
    sa.Column("proposed_limit", sa.Float, nullable=False),
    sa.Column("proposed_terms_days", sa.Integer, nullable=False),
    sa.Column("proposed_security", sa.String(16), nullable=False),
    sa.Column("reasons", sa.Text, nullable=False),
    sa.Column("required_role", sa.String(64), nullable=False),
    sa.Column("bundle_version", sa.String(128), nullable=False),
    sa.UniqueConstraint("customer_id", "as_of", "source", name="uq_proposals_customer_as_of"),
    sa.CheckConstraint("source = 'review'", name="ck_proposals_source"),
    sa.CheckConstraint(f"current_decision IN {DECISIONS!r}", name="ck_proposals_decision"),
    sa.CheckConstraint("proposed_limit >= 0", name="ck_proposals_limit"),
    sa.CheckConstraint("proposed_terms_days >= 0", name="ck_proposals_terms"),
    sa.CheckConstraint("length(trim(reasons)) > 0", name="ck_proposals_reasons"),
)

proposal_outcomes = sa.Table(
    "proposal_outcomes",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("proposal_id", ID, sa.ForeignKey("proposals.id"), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("who", sa.String(128), nullable=False),
    sa.Column("role", sa.String(64), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("action_id", ID, sa.ForeignKey("actions.id"), nullable=True),
    sa.UniqueConstraint("proposal_id", name="uq_proposal_outcomes_proposal"),
    sa.CheckConstraint(f"outcome IN {OUTCOMES!r}", name="ck_proposal_outcomes_outcome"),
    sa.CheckConstraint(
        "(outcome = 'approve' AND action_id IS NOT NULL) OR "
        "(outcome = 'reject' AND action_id IS NULL)",
        name="ck_proposal_outcomes_action",
    ),
    sa.CheckConstraint("length(trim(reason)) > 0", name="ck_proposal_outcomes_reason"),
    sa.CheckConstraint("length(trim(who)) > 0", name="ck_proposal_outcomes_who"),
)

# The view created by the migration: one event per decision and per action.
LIMIT_EVENTS_SQL = """
SELECT a.customer_id AS customer_id, d.application_id AS application_id,
       d.id AS decision_id, 'decision' AS source, d.id AS source_id, 0 AS source_rank,
       d.decided_at AS at, d.decision AS decision, d.credit_limit AS credit_limit,
       d.payment_terms_days AS payment_terms_days, d.security AS security
FROM decisions d JOIN applications a ON a.application_id = d.application_id
UNION ALL
SELECT a.customer_id, x.application_id, x.decision_id, x.kind, x.id, 1,
       x.at, x.decision, x.credit_limit, x.payment_terms_days, x.security
FROM actions x JOIN applications a ON a.application_id = x.application_id
"""

limit_events = sa.Table(
    "limit_events",
    sa.MetaData(),  # a view: kept out of ``metadata`` (not a table to create)
    sa.Column("customer_id", sa.String),
    sa.Column("application_id", sa.String),
    sa.Column("decision_id", ID),
    sa.Column("source", sa.String),
    sa.Column("source_id", ID),
    sa.Column("source_rank", sa.Integer),
    sa.Column("at", sa.DateTime),
    sa.Column("decision", sa.String),
    sa.Column("credit_limit", sa.Float),
    sa.Column("payment_terms_days", sa.Integer),
    sa.Column("security", sa.String),
)
