"""note keys: the custody log's free text is sealed under per-note keys that forget destroys

Revision ID: 0007
Revises: 0006
Create Date: 2027-01-10 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the keys of the custody log's sealed notes and the persons each note is about."""
    op.create_table(
        "note_keys",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "note_key_persons",
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["key_id"], ["note_keys.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("key_id", "person_id"),
    )
    op.create_index(
        op.f("ix_note_key_persons_person_id"), "note_key_persons", ["person_id"], unique=False
    )


def downgrade() -> None:
    """Drop the note keys: every sealed note becomes unreadable for good."""
    op.drop_index(op.f("ix_note_key_persons_person_id"), table_name="note_key_persons")
    op.drop_table("note_key_persons")
    op.drop_table("note_keys")
