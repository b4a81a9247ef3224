"""Reading and writing items, their signals, sightings and errors."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, insert, select, tuple_
from sqlalchemy.orm import Session, selectinload

from haechi.errors import InputError, NotFoundError
from haechi.i18n import _
from haechi.store.models import Item, ItemError, Sighting, SignalRow, Source
from haechi.store.upsert import insert_ignore, insert_ignore_many, upsert_many

# The kinds of item the scan stores: images and videos are decoded and analysed, audio and
# documents are hashed and sighted only (`haechi.media.sniff.other_kind`).
ITEM_KINDS = ("image", "video", "audio", "document")
NOT_DECODED = ("audio", "document")
_STREAM_ROWS = 10_000  # rows fetched at a time where the database streams (PostgreSQL)


def complete_items(session: Session, versions: Mapping[str, str]) -> Iterator[str]:
    """Items with a signal from every current analyzer, or whose decoding already failed
    (rerunning a known-bad file gives the same answer), or that are never decoded (audio,
    documents: their hashes are all there is). Streamed as the database returns them (an
    item may come more than once): the whole database can be in it."""
    pairs = list(versions.items())
    have_all = (
        select(SignalRow.item_sha256)
        .where(tuple_(SignalRow.analyzer, SignalRow.version).in_(pairs))
        .group_by(SignalRow.item_sha256)
        .having(func.count() == len(pairs))
    )
    broken = select(ItemError.item_sha256).where(
        ItemError.stage == "decode", ItemError.item_sha256.is_not(None)
    )
    never_decoded = select(Item.sha256).where(Item.kind.in_(NOT_DECODED))
    for query in (have_all, broken, never_decoded):
        rows = session.scalars(query.execution_options(yield_per=_STREAM_ROWS))
        yield from (sha for sha in rows if sha is not None)


def known_files(
    session: Session, source_id: int, locators: Collection[str] | None = None
) -> dict[str, tuple[int | None, int | None, str]]:
    """locator → (size, mtime_ns, sha256) of every sighting of this source, or of those at
    `locators` (a scan asks a few hundred at a time: a source's whole list can be huge)."""
    query = select(
        Sighting.locator, Sighting.file_size, Sighting.file_mtime_ns, Sighting.item_sha256
    ).where(Sighting.source_id == source_id)
    if locators is not None:
        query = query.where(Sighting.locator.in_(locators))
    return {loc: (size, mtime, sha) for loc, size, mtime, sha in session.execute(query)}


def has_sightings(session: Session, source_id: int) -> bool:
    """Whether anything of this source is stored (a first scan need not look anything up)."""
    return (
        session.scalar(select(Sighting.id).where(Sighting.source_id == source_id).limit(1))
        is not None
    )


def get_or_create_source(session: Session, kind: str, locator: str, name: str) -> Source:
    """The stored source of this kind and locator, added first if it is new; safe when two scans add
    the same source at once."""
    insert_ignore(
        session,
        Source.__table__,
        {"kind": kind, "locator": locator, "name": name},
        ["kind", "locator"],
    )
    return session.execute(
        select(Source).where(Source.kind == kind, Source.locator == locator)
    ).scalar_one()


MEDIA_FIELDS = ("kind", "format", "width", "height", "duration", "notes")


@dataclass
class Batch:
    """The rows of one writer commit, written with one statement per table: a scan's commits
    then cost a handful of statements, not ten per file."""

    source_id: int
    scan_id: int
    items: dict[str, dict[str, Any]] = field(default_factory=dict)  # sha256 → row; first wins
    signals: list[dict[str, Any]] = field(default_factory=list)
    sightings: list[dict[str, Any]] = field(default_factory=list)
    # Places whose stored errors are replaced by this batch's verdict (possibly none).
    cleared: list[str] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def item(self, sha256: str, md5: str, size: int, media: Mapping[str, Any]) -> None:
        """Add an item row; the first row for a SHA-256 in a batch wins."""
        row = {"sha256": sha256, "md5": md5, "size": size}
        row.update({k: media.get(k) for k in MEDIA_FIELDS})
        self.items.setdefault(sha256, row)

    def signal(self, sha256: str, analyzer: str, version: str, payload: dict[str, Any]) -> None:
        """Add one analyzer's payload for an item, keyed by analyzer and version."""
        self.signals.append(
            {"item_sha256": sha256, "analyzer": analyzer, "version": version, "payload": payload}
        )

    def replace_errors(
        self, locator: str, errors: Iterable[tuple[str, str]], sha256: str | None
    ) -> None:
        """A rescan's verdict on a place replaces the last one: errors that went away go."""
        self.cleared.append(locator)
        self.errors.extend(
            {
                "source_id": self.source_id,
                "scan_id": self.scan_id,
                "locator": locator,
                "item_sha256": sha256,
                "stage": stage,
                "reason": reason,
            }
            for stage, reason in errors
        )


def write_batch(session: Session, batch: Batch) -> set[str]:
    """Store the batch (items before what refers to them); returns the items that are new.
    Every write is an insert-or-ignore or an upsert: a batch replayed after a crash adds
    nothing twice."""
    known = {
        row.sha256: row
        for row in session.scalars(select(Item).where(Item.sha256.in_(list(batch.items))))
    }
    for sha, row in batch.items.items():
        if (existing := known.get(sha)) is not None:
            # Media facts learnt later (a file that failed to decode once) fill the gaps.
            for k in MEDIA_FIELDS:
                if row[k] is not None and getattr(existing, k) is None:
                    setattr(existing, k, row[k])
    new = [row for sha, row in batch.items.items() if sha not in known]
    if new:
        insert_ignore_many(session, Item.__table__, new, ["sha256"])
    if batch.signals:
        insert_ignore_many(
            session, SignalRow.__table__, batch.signals, ["item_sha256", "analyzer", "version"]
        )
    if batch.sightings:
        upsert_many(
            session,
            Sighting.__table__,
            batch.sightings,
            ["source_id", "locator", "item_sha256"],
            ["file_size", "file_mtime_ns", "scan_id"],
        )
    if batch.cleared:
        session.execute(
            delete(ItemError).where(
                ItemError.source_id == batch.source_id, ItemError.locator.in_(batch.cleared)
            )
        )
    if batch.errors:
        session.execute(insert(ItemError), batch.errors)
    return {row["sha256"] for row in new}


@dataclass(frozen=True)
class SightingView:
    """One sighting of an item as people and machines read it: its source, locator, findable path
    and what the source said about the place (times as ISO text)."""

    source_kind: str
    source: str
    locator: str
    path: str
    seen_at: str
    posted_at: str | None
    room: str | None
    message_id: str | None
    url: str | None
    poster: str | None
    forwarded_from: str | None
    forwarded_from_id: str | None = None
    forwarded_message_id: str | None = None
    forwarded_at: str | None = None
    context: str | None = None


@dataclass(frozen=True)
class ItemView:
    """An item as people and machines see it: hashes, media facts, signals, where it was seen.
    Its risk and its JSON line are the service layer's (`haechi.services.items`)."""

    sha256: str
    md5: str
    size: int
    kind: str | None
    format: str | None
    width: int | None
    height: int | None
    duration: float | None
    notes: str | None
    signals: dict[str, dict[str, Any]]
    sightings: tuple[SightingView, ...]
    errors: tuple[str, ...]
    # The strongest finding about an enrolled person (face similarity; 1.0 for the person's
    # own file), or None when no enrolled person was found in it.
    face_match: float | None = None

    @property
    def pdq(self) -> dict[str, Any]:
        """The item's stored PDQ payload, or an empty dict when it has none."""
        return self.signals.get("pdq", {})


def sighting_path(source: Source, locator: str) -> str:
    """A place a person can find again for this source and locator (see sighting_path_for)."""
    return sighting_path_for(source.kind, source.locator, locator)


def sighting_path_for(kind: str, root: str, locator: str) -> str:
    """A place a person can find again: the source root joined with the locator. A locator
    starting with "!" is an entry of the archive that is itself the source."""
    if not locator or locator.startswith("!"):
        return f"{root}{locator}"
    if kind == "folder":
        return f"{root}/{locator}"
    return f"{root}#{locator}"


def _view(item: Item, errors: list[ItemError], face_match: float | None = None) -> ItemView:
    latest: dict[str, SignalRow] = {}
    for s in item.signals:
        if s.analyzer not in latest or s.created_at >= latest[s.analyzer].created_at:
            latest[s.analyzer] = s
    return ItemView(
        sha256=item.sha256,
        md5=item.md5,
        size=item.size,
        kind=item.kind,
        format=item.format,
        width=item.width,
        height=item.height,
        duration=item.duration,
        notes=item.notes,
        signals={k: v.payload for k, v in latest.items()},
        sightings=tuple(
            SightingView(
                source_kind=s.source.kind,
                source=s.source.locator,
                locator=s.locator,
                path=sighting_path(s.source, s.locator),
                seen_at=s.seen_at.isoformat(),
                posted_at=s.posted_at.isoformat() if s.posted_at else None,
                room=s.room,
                message_id=s.message_id,
                url=s.url,
                poster=s.poster,
                forwarded_from=s.forwarded_from,
                forwarded_from_id=s.forwarded_from_id,
                forwarded_message_id=s.forwarded_message_id,
                forwarded_at=s.forwarded_at.isoformat() if s.forwarded_at else None,
                context=s.context,
            )
            for s in item.sightings
        ),
        errors=tuple(f"{e.stage}: {e.reason}" for e in errors),
        face_match=face_match,
    )


def best_matches(session: Session, shas: list[str]) -> dict[str, float]:
    """Per item, its strongest finding about an enrolled person (see ItemView.face_match)."""
    from haechi.store.findings import Finding

    if not shas:
        return {}
    out: dict[str, float] = {}
    rows = session.execute(
        select(Finding.item_sha256, Finding.kind, func.max(Finding.score))
        .where(Finding.item_sha256.in_(shas), Finding.person_id.is_not(None))
        .group_by(Finding.item_sha256, Finding.kind)
    )
    for sha, kind, score in rows:
        value = 1.0 if kind == "own_media_match" else float(score)
        out[sha] = max(out.get(sha, 0.0), min(1.0, value))
    return out


def _errors_by_item(session: Session, shas: list[str]) -> dict[str, list[ItemError]]:
    out: dict[str, list[ItemError]] = {}
    if not shas:
        return out
    for e in session.scalars(select(ItemError).where(ItemError.item_sha256.in_(shas))):
        out.setdefault(e.item_sha256 or "", []).append(e)
    return out


def _loaded() -> Any:
    return (
        selectinload(Item.signals),
        selectinload(Item.sightings).selectinload(Sighting.source),
    )


def get_item(session: Session, ref: str) -> ItemView:
    """An item by SHA-256 or a unique prefix of it (at least 6 hex characters)."""
    ref = ref.lower().strip()
    if len(ref) < 6 or any(c not in "0123456789abcdef" for c in ref):
        raise InputError(
            _("{ref}: give an item's SHA-256 or at least 6 of its first hex digits").format(
                ref=repr(ref)
            )
        )
    matches = list(
        session.scalars(
            select(Item).where(Item.sha256.startswith(ref)).options(*_loaded()).limit(2)
        )
    )
    if not matches:
        raise NotFoundError(_("no item {ref}").format(ref=ref))
    if len(matches) > 1:
        raise InputError(_("{ref} is ambiguous: give more of the SHA-256").format(ref=ref))
    item = matches[0]
    errors = _errors_by_item(session, [item.sha256]).get(item.sha256, [])
    return _view(item, errors, best_matches(session, [item.sha256]).get(item.sha256))


def get_items(session: Session, shas: Iterable[str]) -> dict[str, ItemView]:
    """The stored items among these full SHA-256s, each loaded with a fixed number of queries
    however many there are."""
    wanted = sorted(set(shas))
    if not wanted:
        return {}
    items = list(session.scalars(select(Item).where(Item.sha256.in_(wanted)).options(*_loaded())))
    errs = _errors_by_item(session, wanted)
    matches = best_matches(session, wanted)
    return {it.sha256: _view(it, errs.get(it.sha256, []), matches.get(it.sha256)) for it in items}


def iter_items(
    session: Session, *, kind: str | None = None, errors_only: bool = False, batch: int = 500
) -> Iterator[ItemView]:
    """Every stored item once, in SHA-256 order, loaded in batches."""
    if kind and kind not in ITEM_KINDS:
        raise InputError(
            _("no item kind {kind} (kinds: {kinds})").format(
                kind=repr(kind), kinds=", ".join(ITEM_KINDS)
            )
        )
    after = ""
    while True:
        q = select(Item).where(Item.sha256 > after).order_by(Item.sha256).limit(batch)
        if kind:
            q = q.where(Item.kind == kind)
        if errors_only:
            q = q.where(Item.sha256.in_(select(ItemError.item_sha256)))
        items = list(session.scalars(q.options(*_loaded())))
        if not items:
            return
        errs = _errors_by_item(session, [i.sha256 for i in items])
        matches = best_matches(session, [i.sha256 for i in items])
        for it in items:
            yield _view(it, errs.get(it.sha256, []), matches.get(it.sha256))
        after = items[-1].sha256


def source_errors(session: Session, source_id: int | None = None) -> list[ItemError]:
    """Errors with no item behind them (unreadable files, refused archive entries)."""
    q = select(ItemError).where(ItemError.item_sha256.is_(None)).order_by(ItemError.id)
    if source_id is not None:
        q = q.where(ItemError.source_id == source_id)
    return list(session.scalars(q))
