"""evidence: custody log, head, timestamps, preserved items

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-27 21:00:28.499234
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the custody log, its head, the RFC 3161 timestamps and the preserved items."""
    op.create_table(
        "custody_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "custody_log",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("object", sa.String(length=300), nullable=False),
        sa.Column("details", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("details_hash", sa.String(length=64), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("entry_hash"),
    )
    with op.batch_alter_table("custody_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_custody_log_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_custody_log_object"), ["object"], unique=False)

    op.create_table(
        "custody_timestamp",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("tsa_url", sa.String(length=500), nullable=False),
        sa.Column("gen_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("serial", sa.String(length=80), nullable=False),
        sa.Column("policy", sa.String(length=200), nullable=False),
        sa.Column("token", sa.LargeBinary(), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("custody_timestamp", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_custody_timestamp_seq"), ["seq"], unique=False)

    op.create_table(
        "evidence_items",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("captured_by", sa.String(length=200), nullable=False),
        sa.Column("custody_seq", sa.BigInteger(), nullable=False),
        sa.Column("sighting_ids", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("sha256"),
    )


def downgrade() -> None:
    """Drop the evidence tables (the vault's blob files are not touched)."""
    op.drop_table("evidence_items")
    with op.batch_alter_table("custody_timestamp", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_custody_timestamp_seq"))

    op.drop_table("custody_timestamp")
    with op.batch_alter_table("custody_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_custody_log_object"))
        batch_op.drop_index(batch_op.f("ix_custody_log_action"))

    op.drop_table("custody_log")
    op.drop_table("custody_head")
