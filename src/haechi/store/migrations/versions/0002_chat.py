"""chat: rooms and messages read from chat sources

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the rooms and messages tables of chat sources."""
    op.create_table(
        "rooms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("room_key", sa.String(length=512), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source_id", "room_key", name="uq_rooms_source_key"),
    )
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("scan_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("author_id", sa.String(length=128), nullable=True),
        sa.Column("author_name", sa.String(length=512), nullable=True),
        sa.Column("forwarded_from", sa.String(length=512), nullable=True),
        sa.Column("saved_from", sa.String(length=512), nullable=True),
        sa.Column("reply_to", sa.BigInteger(), nullable=True),
        sa.Column("via_bot", sa.String(length=256), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=True),
        sa.Column("members", sa.JSON(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("links", sa.JSON(), nullable=True),
        sa.Column("media", sa.JSON(), nullable=True),
        sa.Column("media_count", sa.Integer(), nullable=False),
        sa.Column("media_missing", sa.Integer(), nullable=False),
        sa.Column("reactions", sa.Integer(), nullable=False),
        sa.Column("risk", sa.Float(), nullable=True),
        sa.Column("risk_version", sa.String(length=64), nullable=True),
        sa.Column("risk_detail", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["scan_id"], ["scans.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("room_id", "message_id", name="uq_messages_room_message"),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_room_risk", ["room_id", "risk"], unique=False)
        batch_op.create_index(batch_op.f("ix_messages_author_id"), ["author_id"], unique=False)


def downgrade() -> None:
    """Drop rooms and messages."""
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messages_author_id"))
        batch_op.drop_index("ix_messages_room_risk")
    op.drop_table("messages")
    op.drop_table("rooms")
