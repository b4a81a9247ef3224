"""Discovery for the CLI, the web app and the API: variants of search terms, a deliberate public
Telegram search whose results become leads, and capturing a lead's public web preview as
evidence. Leads read from scanned messages and pages are in services/leads.py."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update

from haechi.analyzers.chat_text import ChatTextAnalyzer
from haechi.config import Settings
from haechi.discover.links import TelegramRef, parse_lead
from haechi.discover.search import FoundRoom, SearchClient, SearchRun, search_public
from haechi.discover.variants import TermVariants, VariantMaker
from haechi.errors import InputError
from haechi.i18n import _
from haechi.services.leads import Harvest, harvest_leads
from haechi.store import leads as store
from haechi.store.db import Database
from haechi.store.leads import Lead

if TYPE_CHECKING:
    import httpx

    from haechi.capture import Capture
    from haechi.scan.progress import ScanSummary

# The variant rules worth a directory search: spellings a room's title or name really uses.
SEARCH_RULES = ("spelling", "hand", "choseong")
PREVIEW = "https://t.me/s/{name}"


def term_variants(settings: Settings, terms: Sequence[str]) -> list[TermVariants]:
    """The evasive spellings of each term (see discover.variants), with the settings'
    lexicon; raises InputError when no term is given."""
    if not terms:
        raise InputError(_("give at least one term"))
    return VariantMaker.from_settings(settings).variants(terms)


def search_queries(
    settings: Settings, terms: Sequence[str], *, variants: bool, max_queries: int
) -> list[str]:
    """The queries a search makes: each term, then (with `variants`) its evasive spellings,
    at most `max_queries` in all."""
    queries: list[str] = []
    for t in terms:
        if t.strip() and t.strip() not in queries:
            queries.append(t.strip())
    if variants:
        for tv in term_variants(settings, terms):
            for v in tv.variants:
                if v.rule in SEARCH_RULES and v.text not in queries:
                    queries.append(v.text)
    return queries[: max(1, max_queries)]


@dataclass(frozen=True)
class SearchOutcome:
    """What one directory search gave: the run (queries, rooms, problems), how many leads
    were new, and each room found with the risk of its own title and description."""

    run: SearchRun
    new_leads: int
    rooms: tuple[tuple[FoundRoom, float], ...]  # each room found, with its own risk


def search_telegram(
    db: Database,
    settings: Settings,
    client: SearchClient,
    queries: Sequence[str],
    *,
    limit: int = 20,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    log: Callable[[str], None] = lambda _m: None,
) -> SearchOutcome:
    """Search Telegram's public directory with the user's client and keep what it finds as
    leads, each scored on its own title and description."""
    run = asyncio.run(
        search_public(
            client,
            queries,
            limit=limit,
            max_wait=float(settings.telegram.max_flood_wait_seconds),
            sleep=sleep,
            log=log,
        )
    )
    return record_found(db, settings, run)


def record_found(db: Database, settings: Settings, run: SearchRun) -> SearchOutcome:
    """Keep a search's rooms as leads (created or updated, each with a sighting naming the
    query) and score each on its title and description; the search itself made no write."""
    analyzer = ChatTextAnalyzer(settings)
    now = datetime.now(UTC)
    scored: list[tuple[FoundRoom, float]] = []
    with db.session() as s:
        before = s.execute(select(func.count(Lead.id))).scalar_one()
        for room in run.found:
            risk = analyzer.analyze("\n".join([room.title, *room.description])).score
            scored.append((room, risk))
            pk = store.lead_pk(s, room.ref, now)
            s.execute(
                update(Lead)
                .where(Lead.id == pk)
                .values(
                    title=room.title,
                    members=room.members,
                    description="\n".join(room.description),
                    telegram_id=room.telegram_id,
                    own_risk=risk,
                )
            )
            store.add_sighting(
                s,
                pk,
                f"search:{room.query}",
                {
                    "kind": "search",
                    "room": f"search {room.query}",
                    "posted_at": now,
                    "url": room.ref.url,
                    "excerpt": " / ".join([room.title, *room.description])[:300],
                    "risk": risk,
                },
            )
        new = int(s.execute(select(func.count(Lead.id))).scalar_one()) - before
    return SearchOutcome(run, new, tuple(scored))


@dataclass(frozen=True)
class LeadCapture:
    """A lead's captured web preview: the lead, the capture (its WARC), the scan of that WARC
    and the leads its posts named."""

    ref: TelegramRef
    capture: Capture
    scan: ScanSummary
    harvest: Harvest


def preview_url(ref: TelegramRef) -> str:
    """The t.me/s/ web preview address of a public channel; raises InputError for an invite
    link or a private room, which have none."""
    if ref.username is None:
        raise InputError(
            _(
                "{url}: only a public channel has a web preview; an invite link or a private "
                "room can only be read by a person who joins it (see `haechi discover capture "
                "--join`)"
            ).format(url=ref.url)
        )
    return PREVIEW.format(name=ref.username)


def capture_lead(
    db: Database,
    settings: Settings,
    lead: str,
    *,
    transport: httpx.BaseTransport | None = None,
) -> LeadCapture:
    """Capture a public channel's web preview (t.me/s/NAME) through `capture` and its guard,
    scan the WARC like any other, and read the leads its posts name."""
    from haechi.capture import capture_page
    from haechi.scan import scan_paths

    ref = parse_lead(lead)
    url = preview_url(ref)
    cap = capture_page(settings, url, transport=transport)
    (summary,) = scan_paths(db, settings, [cap.warc], source_kind="warc")
    with db.session() as s:
        pk = store.lead_pk(s, ref, cap.finished_at)
        s.execute(
            update(Lead)
            .where(Lead.id == pk)
            .values(captured_warc=str(cap.warc), captured_at=cap.finished_at)
        )
    harvest = harvest_leads(db, settings)
    return LeadCapture(ref, cap, summary, harvest)


def join_handoff(settings: Settings, lead: str) -> dict[str, Any]:
    """How a person who decides to join a lead's room hands it to `watch telegram`: haechi
    never joins a room itself."""
    ref = parse_lead(lead)
    chat = f"@{ref.username}" if ref.username else None
    return {
        "lead": ref.key,
        "url": ref.url,
        "join_yourself": ref.kind != "public",
        "watch": f"haechi watch telegram --chat {chat or '<chat id after joining>'} --once",
        "session": str(settings.telegram_session),
    }
