"""Initial ledger: customers, applications, feature schemas, decisions, actions, limit events.

Decisions and actions are append-only: triggers refuse UPDATE and DELETE in the database itself.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
DECISIONS = "('approve', 'refer', 'decline')"
APPEND_ONLY = ("decisions", "actions")

LIMIT_EVENTS = """
CREATE VIEW limit_events AS
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


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("customer_id", sa.String(64), primary_key=True),
        sa.Column("first_seen", sa.Date, nullable=False),
    )
    op.create_table(
        "applications",
        sa.Column("application_id", sa.String(64), primary_key=True),
        sa.Column(
            "customer_id", sa.String(64), sa.ForeignKey("customers.customer_id"), nullable=False
        ),
        sa.Column("application_date", sa.Date, nullable=False),
        sa.Column("requested_limit", sa.Float, nullable=True),
        sa.Column("requested_terms_days", sa.Integer, nullable=True),
    )
    op.create_index("ix_applications_customer_id", "applications", ["customer_id"])
    op.create_table(
        "feature_schemas",
        sa.Column("schema_hash", sa.String(64), primary_key=True),
        sa.Column("schema", sa.Text, nullable=False),
    )
    op.create_table(
        "decisions",
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
        sa.UniqueConstraint(
            "application_id", "bundle_version", name="uq_decisions_application_bundle"
        ),
        sa.CheckConstraint(f"decision IN {DECISIONS}", name="ck_decisions_decision"),
    )
    op.create_table(
        "actions",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("decision_id", ID, sa.ForeignKey("decisions.id"), nullable=False),
        sa.Column(
            "application_id",
            sa.String(64),
            sa.ForeignKey("applications.application_id"),
            nullable=False,
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
        sa.CheckConstraint("kind IN ('approve', 'decline', 'override')", name="ck_actions_kind"),
        sa.CheckConstraint(f"decision IN {DECISIONS}", name="ck_actions_decision"),
        sa.CheckConstraint("length(trim(reason)) > 0", name="ck_actions_reason"),
        sa.CheckConstraint("length(trim(who)) > 0", name="ck_actions_who"),
    )
    op.create_index("ix_actions_decision_id", "actions", ["decision_id"])
    op.create_index("ix_actions_application_id", "actions", ["application_id"])
    op.execute(LIMIT_EVENTS)
    _append_only_triggers()


def _append_only_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for table in APPEND_ONLY:
            for event in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} are append-only'); END"
                )
    elif dialect == "postgresql":
        op.execute("""
            CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '% are append-only', TG_TABLE_NAME
                    USING ERRCODE = 'insufficient_privilege';
            END;
            $$""")
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION ledger_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()"
            )
    else:
        raise NotImplementedError(
            f"append-only triggers are written for sqlite and postgresql, not {dialect}"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.execute("DROP VIEW limit_events")
    op.drop_table("actions")
    op.drop_table("decisions")
    op.drop_table("feature_schemas")
    op.drop_table("applications")
    op.drop_table("customers")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION ledger_append_only()")
