"""leads: rooms named in scanned messages and captured pages or found by a public search, the
places they were named, and how far each was read

Revision ID: 0011
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0012"  # after main's newest (live keys) at the rebase
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create leads, the places each was named, and the harvest cursors."""
    op.create_table(
        "leads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=256), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("url", sa.String(length=512), nullable=False),
        sa.Column("title", sa.String(length=512), nullable=False),
        sa.Column("members", sa.Integer(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("telegram_id", sa.BigInteger(), nullable=True),
        sa.Column("own_risk", sa.Float(), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("captured_warc", sa.String(length=2048), nullable=True),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_table(
        "lead_sightings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("place", sa.String(length=2048), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("room_pk", sa.Integer(), nullable=True),
        sa.Column("room", sa.String(length=512), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("url", sa.String(length=4096), nullable=True),
        sa.Column("author", sa.String(length=512), nullable=True),
        sa.Column("excerpt", sa.Text(), nullable=False),
        sa.Column("risk", sa.Float(), nullable=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["room_pk"], ["rooms.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("lead_id", "place", name="uq_lead_sightings_place"),
    )
    with op.batch_alter_table("lead_sightings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lead_sightings_lead_id"), ["lead_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_lead_sightings_room_pk"), ["room_pk"], unique=False)
    op.create_table(
        "lead_harvests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("what", sa.String(length=2048), nullable=False),
        sa.Column("cursor", sa.String(length=256), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("what"),
    )


def downgrade() -> None:
    """Drop the lead tables."""
    op.drop_table("lead_harvests")
    op.drop_table("lead_sightings")
    op.drop_table("leads")
