"""live keys: live Telegram sightings keyed as exports key them (room = bare chat id, accounts
"user42"), no longer "title (marked id)", "id 42" and "user:42"

Revision ID: 0012
Revises: 0010
Create Date: 2027-01-20 12:00:00.000000
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0010"  # 0007 on its branch; chained after main's newest at the rebase
branch_labels = None
depends_on = None

_ROOM = re.compile(r"\((-?\d+)\)$")
_POSTER = re.compile(r"(?:^|, )id (-?\d+)(?:,|$)")
_ORIGIN = re.compile(r"^(user|chat|channel):(\d+)$")
_CHANNEL = 1_000_000_000_000


def _bare(marked: int) -> int:
    if marked <= -_CHANNEL:
        return -marked - _CHANNEL
    return -marked if marked < 0 else marked


def _account(marked: int) -> str:
    if marked <= -_CHANNEL:
        return f"channel{_bare(marked)}"
    return f"chat{-marked}" if marked < 0 else f"user{marked}"


def rekey(
    room: str | None, poster: str | None, origin: str | None
) -> tuple[str | None, str | None, str | None]:
    """One old live sighting's room, poster and forward origin in the export's spelling;
    anything not in the old spelling is left as it is."""
    if room and (m := _ROOM.search(room)):
        room = str(_bare(int(m.group(1))))
    if poster and (m := _POSTER.search(poster)):
        poster = _account(int(m.group(1)))
    if origin and (m := _ORIGIN.match(origin)):
        origin = f"{m.group(1)}{m.group(2)}"
    return room, poster, origin


def upgrade() -> None:
    """Rewrite live Telegram sightings' room, poster and forward origin in the export's spelling
    (see rekey); other sources are untouched."""
    conn = op.get_bind()
    sources = sa.table("sources", sa.column("id", sa.Integer), sa.column("kind", sa.String))
    sightings = sa.table(
        "sightings",
        sa.column("id", sa.Integer),
        sa.column("source_id", sa.Integer),
        sa.column("room", sa.String),
        sa.column("poster", sa.String),
        sa.column("forwarded_from_id", sa.String),
    )
    rows = conn.execute(
        sa.select(
            sightings.c.id, sightings.c.room, sightings.c.poster, sightings.c.forwarded_from_id
        )
        .join(sources, sources.c.id == sightings.c.source_id)
        .where(sources.c.kind == "telegram")
    ).all()
    for pk, room, poster, origin in rows:
        new = rekey(room, poster, origin)
        if new != (room, poster, origin):
            conn.execute(
                sa.update(sightings)
                .where(sightings.c.id == pk)
                .values(room=new[0], poster=new[1], forwarded_from_id=new[2])
            )


def downgrade() -> None:
    """Leave the new keys in place: older code reads them as plain strings (its patch for the old
    spelling leaves "user42" as it is), and the chat titles live on in the sources' names."""
