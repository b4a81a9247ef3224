"""Capturing an item: its bytes go into the vault (encrypted), its sightings and hashes into a
`captured` custody entry, in one step that either lands whole or not at all.

The bytes come from a place the item was seen that still holds exactly those bytes. Sources
whose sightings are not plain paths can register their own resolver (`register_resolver`).
Capture never writes plaintext anywhere and never touches the network.

Order matters for `haechi evidence verify`: the bytes are encrypted into a temp file, the
custody entry is committed, and only then is the blob moved to its final name. So a blob under
its final name always has a capture entry (one without is an alert), and an interrupted capture
leaves only a `.tmp` file. The free-text reason is sealed (`haechi.store.notes`) under a key
tied to the persons with findings on the item, which `haechi forget` destroys."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from haechi.config import Settings
from haechi.errors import NotFoundError
from haechi.evidence.context import init_vault
from haechi.store import items as store
from haechi.store.custody import CustodyAction, CustodyEvent, JSONValue, append
from haechi.store.db import Database
from haechi.store.evidence_models import EvidenceItem
from haechi.store.models import Item, Sighting, SignalRow
from haechi.store.notes import persons_of_items, seal
from haechi.store.vault import BlobMismatchError, Opener, StagedBlob, Vault

# kind of source -> (source locator, sighting locator) -> an opener, or None when gone.
Resolver = Callable[[str, str], Opener | None]
_RESOLVERS: dict[str, Resolver] = {}


class NoReadableCopyError(NotFoundError):
    """No place the item was seen still holds its bytes."""


def register_resolver(kind: str, resolver: Resolver) -> None:
    """Let a source kind say how to reopen one of its sightings."""
    _RESOLVERS[kind] = resolver


class _ZipEntryStream:
    """An archive entry open for reading; closes the archive with it."""

    def __init__(self, archive: Path, inner: str) -> None:
        self._zf = zipfile.ZipFile(archive)
        try:
            self._fh: IO[bytes] = self._zf.open(inner)
        except BaseException:
            self._zf.close()
            raise

    def read(self, n: int = -1) -> bytes:
        return self._fh.read(n)

    def __enter__(self) -> _ZipEntryStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._fh.close()
        self._zf.close()


def path_resolver(root: str, locator: str) -> Opener | None:
    """Sightings that are paths under the source root, or `archive.zip!inner` entries (an
    empty archive part means the source itself is the archive)."""
    base = Path(root)
    if "!" in locator:
        # An archive name may itself hold "!": try each split, leftmost archive first.
        parts = locator.split("!")
        for i in range(1, len(parts)):
            rel, inner = "!".join(parts[:i]), "!".join(parts[i:])
            archive = base / rel if rel else base
            if archive.is_file() and zipfile.is_zipfile(archive):
                try:
                    with zipfile.ZipFile(archive) as zf:
                        zf.getinfo(inner)
                except (KeyError, zipfile.BadZipFile, OSError):
                    continue
                return lambda a=archive, n=inner: _ZipEntryStream(a, n)
        return None
    path = base / locator if locator else base
    if not path.is_file():
        return None
    return lambda: path.open("rb")


@dataclass(frozen=True)
class CaptureResult:
    sha256: str
    size: int
    custody_seq: int | None  # None when nothing new had to be recorded
    new_sightings: int
    already_preserved: bool
    vault_created: bool


def capture_item(
    db: Database, settings: Settings, sha256: str, actor: str, reason: str | None = None
) -> CaptureResult:
    """Preserve one item (by SHA-256 or a unique prefix): store its bytes in the vault and log
    a `captured` entry with every sighting. Capturing again records only sightings that are
    new since the last capture; the evidentiary copy itself never changes."""
    vault, created = init_vault(settings)
    with db.session() as s:
        sha = store.get_item(s, sha256).sha256
        item = s.execute(
            select(Item)
            .where(Item.sha256 == sha)
            .options(selectinload(Item.sightings).selectinload(Sighting.source))
        ).scalar_one()
        sightings = list(item.sightings)
        known = s.get(EvidenceItem, sha)
        have_blob = known is not None and vault.has(sha)
        md5, size = item.md5, item.size
    recorded = set(known.sighting_ids) if known is not None else set()
    fresh = [sg for sg in sightings if sg.id not in recorded]
    if known is not None and not fresh and have_blob:
        return CaptureResult(sha, size, None, 0, True, created)
    staged = None if have_blob else _stage_bytes(vault, sha, sightings)
    try:
        seq = _log_capture(db, vault, sha, size, md5, actor, reason, known, fresh, sightings)
    except BaseException:
        if staged is not None:
            staged.discard()
        raise
    if staged is not None:
        staged.commit()
    return CaptureResult(sha, size, seq, len(fresh), known is not None, created)


def _log_capture(
    db: Database,
    vault: Vault,
    sha: str,
    size: int,
    md5: str,
    actor: str,
    reason: str | None,
    known: EvidenceItem | None,
    fresh: list[Sighting],
    sightings: list[Sighting],
) -> int:
    recorded = set(known.sighting_ids) if known is not None else set()
    have_blob = vault.has(sha)
    details: dict[str, JSONValue] = {
        "size": size,
        "md5": md5,
        "sightings": [_sighting_json(sg) for sg in fresh],
        "vault_key_id": vault.key_id.hex(),
    }
    if known is not None and fresh:
        details["additional_sightings"] = True
    if known is not None and not have_blob:
        # The evidentiary copy had gone from the vault; the same bytes are stored again.
        details["restored"] = True
    with db.session() as s:
        details["analyzers"] = _analyzer_versions(s, sha)
        if reason:
            details["reason"] = seal(s, vault, reason, persons_of_items(s, [sha]))
        rec = append(s, CustodyEvent(actor, CustodyAction.CAPTURED, f"item:{sha}", details))
        row = s.get(EvidenceItem, sha)
        if row is None:
            s.add(
                EvidenceItem(
                    sha256=sha,
                    size=size,
                    captured_by=actor,
                    custody_seq=rec.seq,
                    sighting_ids=sorted(sg.id for sg in sightings),
                )
            )
        else:
            row.sighting_ids = sorted(recorded | {sg.id for sg in sightings})
    return rec.seq


def _stage_bytes(vault: Vault, sha: str, sightings: list[Sighting]) -> StagedBlob:
    tried: list[str] = []
    for sg in sightings:
        resolver = _RESOLVERS.get(sg.source.kind, path_resolver)
        where = store.sighting_path(sg.source, sg.locator)
        try:
            opener = resolver(sg.source.locator, sg.locator)
        except OSError:
            opener = None
        if opener is None:
            tried.append(f"{where} (gone)")
            continue
        try:
            return vault.stage_stream(opener, expect=sha)
        except BlobMismatchError:
            tried.append(f"{where} (changed since it was scanned)")
            continue
        except OSError as exc:
            tried.append(f"{where} ({exc.strerror or exc})")
            continue
    places = "; ".join(tried) or "it has no sightings"
    raise NoReadableCopyError(
        f"no readable copy of item {sha} is left; rescan the source (tried: {places})"
    )


def _sighting_json(sg: Sighting) -> dict[str, JSONValue]:
    return {
        "sighting_id": sg.id,
        "source_kind": sg.source.kind,
        "source": sg.source.locator,
        "locator": sg.locator,
        "path": store.sighting_path(sg.source, sg.locator),
        "seen_at": sg.seen_at.isoformat(),
        "posted_at": sg.posted_at.isoformat() if sg.posted_at else None,
        "room": sg.room,
        "message_id": sg.message_id,
        "url": sg.url,
        "poster": sg.poster,
        "forwarded_from": sg.forwarded_from,
    }


def _analyzer_versions(session: Session, sha: str) -> dict[str, JSONValue]:
    rows = session.execute(
        select(SignalRow.analyzer, SignalRow.version).where(SignalRow.item_sha256 == sha)
    )
    out: dict[str, Any] = {}
    for name, version in rows:
        out[name] = version
    return out
