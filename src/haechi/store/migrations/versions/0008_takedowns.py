"""takedown requests

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the takedown requests table."""
    when = sa.DateTime(timezone=True)
    op.create_table(
        "takedown_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=64), nullable=False),
        sa.Column("location", sa.String(length=4096), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("response_days", sa.Integer(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("folder", sa.String(length=4096), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("drafted_at", when, nullable=False),
        sa.Column("approved_at", when, nullable=True),
        sa.Column("approved_by", sa.String(length=200), nullable=True),
        sa.Column("approved_files", sa.JSON(), nullable=True),
        sa.Column("sent_at", when, nullable=True),
        sa.Column("acknowledged_at", when, nullable=True),
        sa.Column("removed_at", when, nullable=True),
        sa.Column("refused_at", when, nullable=True),
        sa.Column("no_answer_at", when, nullable=True),
        sa.Column("reappeared_at", when, nullable=True),
        sa.Column("last_checked_at", when, nullable=True),
        sa.Column("reappeared_finding_id", sa.Integer(), nullable=True),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["reappeared_finding_id"], ["findings.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("takedown_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_takedown_requests_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    """Drop the takedown requests."""
    op.drop_table("takedown_requests")
