"""sightings: structured forward origin (chat or user id, original post id, original date)

Revision ID: 0003
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the structured forward origin (account, original post id and date) to sightings."""
    with op.batch_alter_table("sightings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("forwarded_from_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("forwarded_message_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("forwarded_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Drop the forward-origin columns from sightings."""
    with op.batch_alter_table("sightings", schema=None) as batch_op:
        batch_op.drop_column("forwarded_at")
        batch_op.drop_column("forwarded_message_id")
        batch_op.drop_column("forwarded_from_id")
