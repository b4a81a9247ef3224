"""Drafting takedown requests: one per location of a case's items that has none in progress,
with the platform that serves it, in each language asked for (see haechi.takedown for the texts
and files). Items flagged as a possible minor are in no draft at all
(store.findings.minor_items), and nothing here sends anything."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from haechi.config import Settings
from haechi.services.cases import case_item_shas, record_in
from haechi.services.takedown import RequestView, case_folder, directory, utc, view
from haechi.store.db import Database
from haechi.store.findings import minor_items
from haechi.store.models import Item, Room, Sighting, SignalRow, Source
from haechi.store.takedown import TakedownRequest
from haechi.takedown.files import files_digest, write_request
from haechi.takedown.platforms import Platform
from haechi.takedown.templates import DraftContext, DraftItem


@dataclass(frozen=True)
class Unlinked:
    """A place where a case item was seen that no request can point to: a basic group's or a
    private chat's message (Telegram gives those no link), a file in a folder. The counsellor
    reports it from inside the app, or names it to the police; it must not vanish from view."""

    sha256: str
    source_kind: str
    room: str | None
    room_name: str | None
    message_id: str | None
    locator: str

    def to_json(self) -> dict[str, Any]:
        """As `takedown draft --json` carries it."""
        return {
            "item": self.sha256,
            "source_kind": self.source_kind,
            "room": self.room,
            "room_name": self.room_name,
            "message_id": self.message_id,
            "locator": self.locator,
        }


@dataclass(frozen=True)
class DraftReport:
    """What drafting for one case did: the requests drafted, the locations passed over and why
    (a request in progress, no location, items withheld as a possible minor) and the platforms
    to refer the victim to."""

    case_id: int
    folder: Path
    drafted: tuple[RequestView, ...]
    # Locations that already have a request still in progress: (location, request id).
    existing: tuple[tuple[str, int], ...]
    # Items left out because they are flagged as a possible minor.
    minors_excluded: int
    # Case items seen nowhere a request can be sent (a local folder, a private chat export).
    without_location: int
    languages: tuple[str, ...] = field(default=())
    referrals: tuple[Platform, ...] = field(default=())
    # Every place of an allowed item that no request can point to, even when the item has a
    # request elsewhere (a photo in a supergroup and in a basic group is two places).
    unlinked: tuple[Unlinked, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """The drafting report as `takedown draft --json` and the API carry it."""
        return {
            "case": self.case_id,
            "folder": str(self.folder),
            "languages": list(self.languages),
            "drafted": [r.to_json() for r in self.drafted],
            "existing": [{"location": loc, "request": rid} for loc, rid in self.existing],
            "minors_excluded": self.minors_excluded,
            "without_location": self.without_location,
            "referrals": [p.id for p in self.referrals],
            "unlinked": [u.to_json() for u in self.unlinked],
        }


def _location(
    url: str | None, kind: str, room_kind: str | None, room: str | None, message_id: str | None
) -> str | None:
    """Where a request can point: a captured or WARC record URL, a Telegram message link; for
    a Telegram export, the link of a channel's or supergroup's message (t.me/c/ID/MSG)."""
    if url and urlsplit(url).scheme in ("http", "https"):
        return url
    if (
        kind == "telegram_export"
        and room
        and room.isdigit()
        and message_id
        and message_id.isdigit()
        and room_kind
        and ("channel" in room_kind or "supergroup" in room_kind)
    ):
        return f"https://t.me/c/{room}/{message_id}"
    return None


def _locations(
    s: Session, shas: Sequence[str]
) -> tuple[dict[str, list[str]], dict[str, str], list[Unlinked]]:
    """Each location with the items seen there, and the source kind that saw it; and the
    places no request can point to."""
    rows = s.execute(
        select(
            Sighting.item_sha256,
            Sighting.url,
            Source.kind,
            Sighting.room,
            Sighting.message_id,
            Room.kind,
            Room.name,
            Sighting.locator,
        )
        .join(Source, Source.id == Sighting.source_id)
        .outerjoin(Room, (Room.source_id == Sighting.source_id) & (Room.room_key == Sighting.room))
        .where(Sighting.item_sha256.in_(list(shas)))
        .order_by(Sighting.id)
    ).all()
    where: dict[str, list[str]] = {}
    kinds: dict[str, str] = {}
    unlinked: list[Unlinked] = []
    for sha, url, kind, room, message_id, room_kind, room_name, locator in rows:
        loc = _location(url, kind, room_kind, room, message_id)
        if loc is None:
            unlinked.append(Unlinked(sha, kind, room, room_name, message_id, locator))
            continue
        held = where.setdefault(loc, [])
        if sha not in held:
            held.append(sha)
        kinds.setdefault(loc, kind)
    return where, kinds, unlinked


def _draft_items(s: Session, shas: Sequence[str]) -> tuple[DraftItem, ...]:
    pdq: dict[str, str] = {}
    for sha, payload in s.execute(
        select(SignalRow.item_sha256, SignalRow.payload).where(
            SignalRow.item_sha256.in_(list(shas)), SignalRow.analyzer == "pdq"
        )
    ):
        if isinstance(payload, dict) and isinstance(payload.get("pdq"), str):
            pdq[sha] = payload["pdq"]
    items = {i.sha256: i for i in s.scalars(select(Item).where(Item.sha256.in_(list(shas))))}
    return tuple(
        DraftItem(
            sha,
            items[sha].md5,
            pdq.get(sha),
            items[sha].kind,
            items[sha].size,
            (utc(items[sha].first_seen_at) or datetime.now(UTC)).date().isoformat(),
        )
        for sha in shas
    )


def draft(
    db: Database,
    settings: Settings,
    case_id: int,
    languages: Sequence[str],
    actor: str,
    *,
    out_dir: Path | None = None,
) -> DraftReport:
    """A request for every location of the case's items that has none in progress yet."""
    plat = directory(settings)
    shas = case_item_shas(db, case_id)
    folder = out_dir.expanduser().resolve() if out_dir else case_folder(settings, case_id)
    drafted: list[RequestView] = []
    existing: list[tuple[str, int]] = []
    with db.session() as s:
        minors = minor_items(s, shas)
        allowed = [sha for sha in shas if sha not in minors]
        where, kinds, unlinked = _locations(s, allowed)
        located = {sha for held in where.values() for sha in held}
        open_requests = {
            r.location: r.id
            for r in s.scalars(
                select(TakedownRequest).where(
                    TakedownRequest.case_id == case_id, TakedownRequest.state != "reappeared"
                )
            )
        }
        for loc, held in where.items():
            if loc in open_requests:
                existing.append((loc, open_requests[loc]))
                continue
            platform = plat.for_location(loc, kinds.get(loc))
            if platform is None:  # a centre's directory without a generic entry
                continue
            drafted.append(
                _draft_one(s, settings, case_id, platform, loc, held, languages, folder, actor)
            )
    return DraftReport(
        case_id,
        folder,
        tuple(drafted),
        tuple(existing),
        len(minors),
        len(set(allowed) - located),
        tuple(languages),
        plat.referrals,
        tuple(unlinked),
    )


def _draft_one(
    s: Session,
    settings: Settings,
    case_id: int,
    platform: Platform,
    location: str,
    shas: Sequence[str],
    languages: Sequence[str],
    folder: Path,
    actor: str,
) -> RequestView:
    now = datetime.now(UTC)
    req = TakedownRequest(
        case_id=case_id,
        platform=platform.id,
        location=location,
        items=list(shas),
        languages=list(languages),
        state="drafted",
        response_days=platform.response_days,
        verified=platform.verified,
        folder="",
        files=[],
        drafted_at=now,
        history=[{"state": "drafted", "at": now.isoformat(), "by": actor}],
    )
    s.add(req)
    s.flush()
    where = folder / f"{req.id:04d}-{platform.id}"
    ctx = DraftContext(
        request_id=req.id,
        ref=f"HAECHI-{case_id}-{req.id}",
        case_id=case_id,
        platform=platform,
        locations=(location,),
        items=_draft_items(s, shas),
        organisation=settings.takedown.organisation,
        sender=settings.takedown.sender,
    )
    req.files = write_request(where, ctx, languages)
    req.folder = str(where)
    record_in(
        s,
        case_id,
        actor,
        "takedown_drafted",
        location,
        request=req.id,
        platform=platform.id,
        verified=platform.verified,
        languages=list(languages),
        items=list(shas),
        files_sha256=files_digest(where, req.files),
    )
    return view(req, now)
