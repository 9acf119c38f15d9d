"""Proposals: changes of limit, terms and security a review recommends, and their outcomes.

Both tables are append-only like decisions and actions (triggers refuse UPDATE and DELETE, and
TRUNCATE on PostgreSQL); a proposal has at most one outcome (a unique constraint).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
DECISIONS = "('approve', 'refer', 'decline')"
APPEND_ONLY = ("proposals", "proposal_outcomes")


def upgrade() -> None:
    op.create_table(
        "proposals",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column(
            "customer_id", sa.String(64), sa.ForeignKey("customers.customer_id"), nullable=False
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
        sa.CheckConstraint(f"current_decision IN {DECISIONS}", name="ck_proposals_decision"),
        sa.CheckConstraint("proposed_limit >= 0", name="ck_proposals_limit"),
        sa.CheckConstraint("proposed_terms_days >= 0", name="ck_proposals_terms"),
        sa.CheckConstraint("length(trim(reasons)) > 0", name="ck_proposals_reasons"),
    )
    op.create_index("ix_proposals_customer_id", "proposals", ["customer_id"])
    op.create_table(
        "proposal_outcomes",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("proposal_id", ID, sa.ForeignKey("proposals.id"), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("who", sa.String(128), nullable=False),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("action_id", ID, sa.ForeignKey("actions.id"), nullable=True),
        sa.UniqueConstraint("proposal_id", name="uq_proposal_outcomes_proposal"),
        sa.CheckConstraint("outcome IN ('approve', 'reject')", name="ck_proposal_outcomes_outcome"),
        sa.CheckConstraint(
            "(outcome = 'approve' AND action_id IS NOT NULL) OR "
            "(outcome = 'reject' AND action_id IS NULL)",
            name="ck_proposal_outcomes_action",
        ),
        sa.CheckConstraint("length(trim(reason)) > 0", name="ck_proposal_outcomes_reason"),
        sa.CheckConstraint("length(trim(who)) > 0", name="ck_proposal_outcomes_who"),
    )
    _append_only_triggers()


def _append_only_triggers() -> None:
    """The same triggers as 0001's (its PostgreSQL function ``ledger_append_only`` is reused)."""
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        if dialect == "sqlite":
            for event in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} are append-only'); END"
                )
        elif dialect == "postgresql":
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
    op.drop_table("proposal_outcomes")  # its triggers go with it
    op.drop_index("ix_proposals_customer_id", "proposals")
    op.drop_table("proposals")
