"""Leads from what haechi already read: every Telegram link, invite and @name in stored messages
(exports in JSON and HTML, live chats) and on the pages of captured WARCs becomes a lead with
the places it was named; `rank_leads` orders them by the risk of those places.

Reading is incremental and repeatable: messages past the last one read, WARCs whose size or
mtime changed; a place already recorded is never recorded twice. `refresh` reads everything
again (after a lexicon change nothing needs it: risks are read when ranking). No network."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from haechi.analyzers.chat_text import ChatTextAnalyzer
from haechi.config import Settings
from haechi.discover.links import TelegramRef, read_page, ref_from_url, refs_in
from haechi.discover.pages import CapturedPage, PageProblem, pages_in
from haechi.discover.rank import LeadFacts, Naming, RankedLead, rank_all
from haechi.network.rooms import Line, RankedRoom, rank_rooms, score_room
from haechi.sources.tme_preview import preview_channel
from haechi.sources.warc import WARC_SUFFIXES
from haechi.store import leads as store
from haechi.store.db import Database
from haechi.store.leads import Lead, LeadSighting
from haechi.store.models import Message, Room, Source

BATCH = 2000
PAGE_LINES = 2000  # lines of one page scored for its risk
EXCERPT = 300


@dataclass
class Harvest:
    """What one reading added."""

    messages: int = 0
    pages: int = 0
    warcs: int = 0
    new_leads: int = 0
    new_places: int = 0
    problems: list[str] = field(default_factory=list)


def harvest_leads(db: Database, settings: Settings, *, refresh: bool = False) -> Harvest:
    """Read leads from stored messages and captured WARCs not read yet (all when `refresh`)."""
    done = Harvest()
    if refresh:
        with db.session() as s:
            store.forget_cursors(s)
    with db.session() as s:
        before = _lead_count(s)
    _from_messages(db, done)
    analyzer = ChatTextAnalyzer(settings)
    scanned = _scanned_warcs(db)
    for warc in _warcs(db, settings):
        _from_warc(db, settings, analyzer, warc, done, scanned=str(warc) in scanned)
    with db.session() as s:
        done.new_leads = _lead_count(s) - before
    return done


def _lead_count(s: Session) -> int:
    return int(s.execute(select(func.count(Lead.id))).scalar_one())


def _from_messages(db: Database, done: Harvest) -> None:
    while True:
        with db.session() as s:
            cursor = int(store.harvest_cursor(s, "messages") or 0)
            rows = s.execute(
                select(
                    Message.id,
                    Message.room_id,
                    Message.message_id,
                    Message.posted_at,
                    Message.author_name,
                    Message.author_id,
                    Message.text,
                    Message.links,
                    Room.name,
                    Room.room_key,
                    Room.kind,
                    Source.kind,
                )
                .join(Room, Room.id == Message.room_id)
                .join(Source, Source.id == Room.source_id)
                .where(Message.id > cursor)
                .order_by(Message.id)
                .limit(BATCH)
            ).all()
            if not rows:
                return
            seen: dict[str, tuple[TelegramRef, datetime]] = {}
            places: list[tuple[str, dict[str, Any]]] = []
            for row_ in rows:
                _pk, room_pk, mid, posted, author, author_id, text, links, name, key = row_[:10]
                room_kind, source_kind = row_[10:]
                done.messages += 1
                refs = refs_in(text or "", links or ())
                if not refs:
                    continue
                at = _aware(posted)
                by = " ".join(x for x in (author, f"({author_id})" if author_id else "") if x)
                for ref in refs:
                    if ref.key not in seen or seen[ref.key][1] < at:
                        seen[ref.key] = (ref, at)
                    row = {
                        "place": f"message:{room_pk}:{mid}",
                        "kind": "message",
                        "room_pk": room_pk,
                        "room": name or key,
                        "message_id": mid,
                        "posted_at": at,
                        "url": _message_url(source_kind, room_kind, key, mid),
                        "author": by or None,
                        "excerpt": (text or "")[:EXCERPT],
                        "risk": None,
                        "seen_at": datetime.now(UTC),
                    }
                    places.append((ref.key, row))
            pks = store.lead_pks(s, seen)
            done.new_places += store.add_sightings(
                s, [{"lead_id": pks[key], **row} for key, row in places]
            )
            store.set_harvest_cursor(s, "messages", str(rows[-1][0]))


def _message_url(source_kind: str, room_kind: str, key: str, message_id: int) -> str | None:
    """A link a member can open, for a live channel or supergroup: stored by its bare id (or,
    in databases from before, by its marked id -100…)."""
    if key.startswith("@"):  # a public channel read from its web preview (sources/warc.py)
        return f"https://t.me/{key[1:]}/{message_id}"
    if source_kind != "telegram":
        return None
    bare = key[4:] if key.startswith("-100") else key
    if bare.isdigit() and (key.startswith("-100") or room_kind.endswith(("channel", "supergroup"))):
        return f"https://t.me/c/{bare}/{message_id}"
    return None


def _scanned_warcs(db: Database) -> set[str]:
    with db.session() as s:
        return {
            str(Path(loc))
            for (loc,) in s.execute(select(Source.locator).where(Source.kind == "warc"))
        }


def _warcs(db: Database, settings: Settings) -> list[Path]:
    """The WARCs already scanned (warc sources) and every WARC in the captures folder."""
    found: dict[str, Path] = {}
    with db.session() as s:
        for (loc,) in s.execute(select(Source.locator).where(Source.kind == "warc")):
            found.setdefault(str(Path(loc)), Path(loc))
    folder = settings.captures_dir
    if folder.is_dir():
        for p in sorted(folder.iterdir()):
            if p.name.endswith(WARC_SUFFIXES) and p.is_file():
                found.setdefault(str(p.resolve()), p.resolve())
    return [found[k] for k in sorted(found)]


def _from_warc(
    db: Database,
    settings: Settings,
    analyzer: ChatTextAnalyzer,
    warc: Path,
    done: Harvest,
    *,
    scanned: bool,
) -> None:
    """The pages of one WARC. A scanned WARC's channel previews were stored as messages by the
    scan: they are read there, not here, so that no post is counted twice."""
    what = f"warc:{warc}"
    try:
        st = warc.stat()
    except OSError as exc:
        done.problems.append(f"{warc}: cannot read: {exc.strerror or exc}")
        return
    stamp = f"{st.st_size}:{st.st_mtime_ns}"
    with db.session() as s:
        if store.harvest_cursor(s, what) == stamp:
            return
    done.warcs += 1
    for page in pages_in(
        warc,
        max_page_bytes=settings.capture.max_page_bytes,
        max_header=settings.limits.max_warc_header_bytes,
    ):
        if isinstance(page, PageProblem):
            done.problems.append(f"{page.warc}#{page.record}: {page.reason}")
            continue
        if scanned and preview_channel(page.url) is not None:
            continue
        done.pages += 1
        with db.session() as s:
            done.new_places += _record_page(s, analyzer, page)
    with db.session() as s:
        store.set_harvest_cursor(s, what, stamp)


def _record_page(s: Session, analyzer: ChatTextAnalyzer, page: CapturedPage) -> int:
    text = read_page(page.html)
    if not text.refs:
        return 0
    lines = [
        Line(i, line, analyzer.analyze(line).evidence())
        for i, line in enumerate(text.lines[:PAGE_LINES], start=1)
    ]
    risk = score_room(lines, analyzer.categories).score
    own = ref_from_url(page.url)
    at = page.captured_at or datetime.now(UTC)
    added = 0
    for pr in text.refs:
        channel = pr.post.split("/", 1)[0].lower() if pr.post else None
        if own is not None and pr.ref.key == own.key:
            continue  # a preview page names its own channel everywhere
        if channel is not None and pr.ref.key == "@" + channel:
            continue
        lead = store.lead_pk(s, pr.ref, at)
        post_id = pr.post.split("/", 1)[1] if pr.post and "/" in pr.post else None
        added += store.add_sighting(
            s,
            lead,
            f"page:{page.warc}#{page.record}" + (f"/{pr.post}" if pr.post else ""),
            {
                "kind": "page",
                "room": text.title or page.url,
                "message_id": int(post_id) if post_id and post_id.isdigit() else None,
                "posted_at": at,
                "url": f"https://t.me/{pr.post}" if pr.post else page.url,
                "author": pr.post.split("/", 1)[0] if pr.post else None,
                "excerpt": pr.excerpt[:EXCERPT],
                "risk": risk,
            },
        )
    return added


def rank_leads(db: Database, settings: Settings) -> list[RankedLead]:
    """Every stored lead, the most urgent first, with the places it was named."""
    rooms = {(r.source, r.id): r for r in rank_rooms(db, settings)}
    watched = {w.lower().lstrip("@") for w in settings.telegram.chats}
    with db.session() as s:
        room_of = {
            pk: (loc, key, name)
            for pk, key, name, loc in s.execute(
                select(Room.id, Room.room_key, Room.name, Source.locator).join(
                    Source, Source.id == Room.source_id
                )
            )
        }
        held_ids = {key.removeprefix("-100"): name or key for _l, key, name in room_of.values()}
        by_lead: dict[int, list[LeadSighting]] = {}
        for sg in s.scalars(select(LeadSighting).order_by(LeadSighting.id)):
            by_lead.setdefault(sg.lead_id, []).append(sg)
        facts = [
            _facts(lead, by_lead.get(lead.id, []), rooms, room_of, held_ids, watched)
            for lead in s.scalars(select(Lead).order_by(Lead.id))
        ]
    return rank_all(facts)


def _facts(
    lead: Lead,
    sightings: list[LeadSighting],
    rooms: dict[tuple[str, str], RankedRoom],
    room_of: dict[int, tuple[str, str, str]],
    held_ids: dict[str, str],
    watched: set[str],
) -> LeadFacts:
    namings: list[Naming] = []
    for sg in sightings:
        risk, flagged = sg.risk or 0.0, False
        if sg.kind == "message" and sg.room_pk in room_of:
            loc, key, _name = room_of[sg.room_pk]
            ranked = rooms.get((loc, key))
            if ranked is not None:
                risk, flagged = ranked.risk, ranked.flagged
        namings.append(_naming(sg, risk, flagged))
    return LeadFacts(
        key=lead.key,
        kind=lead.kind,
        url=lead.url,
        title=lead.title,
        members=lead.members,
        description=lead.description,
        own_risk=lead.own_risk,
        held_by=_held_by(lead, held_ids, watched),
        namings=tuple(namings),
    )


def _naming(sg: LeadSighting, risk: float, flagged: bool) -> Naming:
    return Naming(
        kind=sg.kind,
        room=sg.room,
        message_id=sg.message_id,
        posted_at=_aware(sg.posted_at) if sg.posted_at else None,
        url=sg.url,
        author=sg.author,
        excerpt=sg.excerpt,
        risk=round(risk, 4),
        flagged=flagged or (sg.kind == "page" and risk >= 0.5),
    )


def _held_by(lead: Lead, held_ids: dict[str, str], watched: set[str]) -> str | None:
    """Whether haechi already holds the room: watched, captured, or stored under its id."""
    if lead.kind == "public" and lead.key[1:] in watched:
        return "watch telegram"
    if lead.captured_warc:
        return f"captured preview {lead.captured_warc}"
    ids = []
    if lead.telegram_id is not None:
        ids.append(str(lead.telegram_id))
    if lead.kind == "private":
        ids.append(lead.key[2:])
    for i in ids:
        if i in held_ids:
            return f"room {held_ids[i]!r}"
    return None


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
