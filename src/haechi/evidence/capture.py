"""Capturing an item: its bytes go into the vault (encrypted), its sightings and hashes into a
`captured` custody entry, in one step that either lands whole or not at all.

The bytes come from the content the scan itself held, when the capture happens during the scan
(a new finding), or else from a place the item was seen that still holds exactly those bytes:
each sighting's source reads them again through `Source.open_locator`, found in the sources
registry by the kind the sighting was stored under. The SHA-256 decides whether they are still
the same bytes. Capture never writes plaintext anywhere and never touches the network.

Order matters for `haechi evidence verify`: the bytes are encrypted into a temp file, the
custody entry is committed, and only then is the blob moved to its final name. So a blob under
its final name always has a capture entry (one without is an alert), and an interrupted capture
leaves only a `.tmp` file. The free-text reason is sealed (`haechi.store.notes`) under a key
tied to the persons with findings on the item, which `haechi forget` destroys."""

from __future__ import annotations

import errno
import zipfile
import zlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from haechi import failpoints
from haechi.config import Settings
from haechi.errors import HaechiError, NotFoundError, SourceError
from haechi.evidence.context import init_vault
from haechi.i18n import _
from haechi.media import Content
from haechi.sources.registry import SourceRegistry, load_registry
from haechi.store import items as store
from haechi.store.custody import CustodyAction, CustodyEvent, JSONValue, append
from haechi.store.db import Database
from haechi.store.evidence_models import EvidenceItem
from haechi.store.models import Item, Sighting, SignalRow
from haechi.store.notes import persons_of_items, seal
from haechi.store.vault import BlobMismatchError, Opener, StagedBlob, Vault

# Reading a source again can fail in any of these ways (a changed archive fails its CRC):
# each is that place's failure, and the next place is tried.
_READ_ERRORS = (HaechiError, OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error)
# ...except these, which come from writing the vault copy (tests/test_disk_full.py).
_WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS})


class NoReadableCopyError(NotFoundError):
    """No place the item was seen still holds its bytes."""


@dataclass(frozen=True)
class CaptureResult:
    """What capturing one item did: its SHA-256 and size in bytes, the custody entry written
    (None when nothing was new), how many sightings were added to the record, and whether it
    was in the vault already and whether the vault had to be created."""

    sha256: str
    size: int
    custody_seq: int | None  # None when nothing new had to be recorded
    new_sightings: int
    already_preserved: bool
    vault_created: bool


def capture_item(
    db: Database,
    settings: Settings,
    sha256: str,
    actor: str,
    reason: str | None = None,
    *,
    content: Content | None = None,
) -> CaptureResult:
    """Preserve one item (by SHA-256 or a unique prefix): store its bytes in the vault and log
    a `captured` entry with every sighting. Capturing again records only sightings that are
    new since the last capture; the evidentiary copy itself never changes. `content`: the
    bytes the scan holds right now (a live chat's download exists nowhere else)."""
    vault, created = init_vault(settings, db)
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
    staged = None if have_blob else _stage_bytes(vault, settings, sha, sightings, content)
    try:
        seq = _log_capture(db, vault, sha, size, md5, actor, reason, known, fresh, sightings)
    except BaseException:
        if staged is not None:
            staged.discard()
        raise
    if staged is not None:
        failpoints.hit("after_capture_logged")  # crash trials: logged, not yet in place
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


def _stage_bytes(
    vault: Vault, settings: Settings, sha: str, sightings: list[Sighting], content: Content | None
) -> StagedBlob:
    tried: list[str] = []
    if content is not None:
        staged = _stage(vault, sha, content.open)
        if isinstance(staged, StagedBlob):
            return staged
        failure = staged
        tried.append(f"{content.name} (as scanned: {failure})")
    registry: SourceRegistry | None = None
    for sg in sightings:
        where = store.sighting_path(sg.source, sg.locator)
        if registry is None:
            registry = load_registry()
        try:
            source = registry.reader(sg.source.kind, sg.source.locator, settings)
        except HaechiError as exc:
            tried.append(f"{where} ({exc})")
            continue
        got = _stage(vault, sha, lambda s=source, loc=sg.locator: s.open_locator(loc))
        if isinstance(got, StagedBlob):
            return got
        tried.append(f"{where} ({got})")
    places = "; ".join(tried) or "it has no sightings"
    raise NoReadableCopyError(
        _("no readable copy of item {sha} is left; rescan the source (tried: {places})").format(
            sha=sha, places=places
        )
    )


def _stage(vault: Vault, sha: str, opener: Opener) -> StagedBlob | str:
    """The bytes `opener` gives, encrypted into a temp file, when they are item `sha`; else
    why not."""
    try:
        return vault.stage_stream(opener, expect=sha)
    except BlobMismatchError:
        return "changed since it was scanned"
    except SourceError as exc:
        return exc.reason
    except _READ_ERRORS as exc:
        if isinstance(exc, OSError) and exc.errno in _WRITE_ERRNOS:
            # The vault's disk, not this place: another place would fail the same way, and
            # "rescan the source" would send her after files that are fine.
            raise
        if isinstance(exc, OSError) and exc.strerror:
            return exc.strerror
        return str(exc) or type(exc).__name__


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
