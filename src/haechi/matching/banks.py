"""Matching against hash banks: a scanned item's MD5, SHA-256, PDQ and video frames against
every enabled bank, with each bank's own thresholds; a match in a negative bank suppresses the
others; a bank's rollout ratio decides, by a hash of each content, which contents match.

The banks' signals are read once into memory (PDQ hashes into the exact `PdqIndex`) and read
again only when a bank changes. The same `BankIndex` answers the lookup API."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from haechi.analyzers.pdq import VARIANTS, Pdq, PdqFrame
from haechi.config import Settings
from haechi.matching.findings import ScannedItem
from haechi.matching.pdq import compare_frames
from haechi.matching.pdq_index import PdqIndex, parse_hex
from haechi.matching.thresholds import PDQ_MAX_DISTANCE
from haechi.store.banks import Bank, BankContent, BankSignal

KIND = "hash_bank_match"


def in_rollout(key: str, ratio: float) -> bool:
    """Whether a content is in a bank's rollout: a fixed fraction from the content's own hash,
    so raising the ratio only ever adds contents (as HMA's matching_enabled_ratio does)."""
    if ratio >= 1:
        return True
    if ratio <= 0:
        return False
    x = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0x1_0000_0000
    return x < ratio


@dataclass(frozen=True)
class BankInfo:
    """What matching needs of one bank: its id and name, negative or not, whether it is on, its
    rollout share and its thresholds (PDQ bits, vPDQ frame bits and share of frames)."""

    id: int
    name: str
    negative: bool
    enabled: bool
    rollout: float
    pdq: int  # max distance
    vpdq: int  # max frame distance
    vpdq_share: float


@dataclass(frozen=True)
class Entry:
    """One banked content as the index holds it: its bank, id, rollout key, tags and provenance
    (case and source)."""

    bank_id: int
    content_id: int
    key: str  # the content's rollout key
    tags: tuple[str, ...]
    case_id: int | None
    source: str


@dataclass(frozen=True)
class BankHit:
    """One match of a scanned item with a banked content: which bank and content, by which signal,
    at what distance against which threshold, and where in a video."""

    bank: str
    negative: bool
    content_id: int
    signal_type: str
    distance: int
    threshold: float
    tags: tuple[str, ...]
    case_id: int | None
    source: str
    t: float | None = None  # where in the scanned video
    query_share: float | None = None  # vPDQ: share of the query's frames matched
    target_share: float | None = None  # vPDQ: share of the banked video's frames matched
    variant: str | None = None  # PDQ: the dihedral variant of the scanned picture that matched


@dataclass
class BankIndex:
    """Every bank's signals, ready to match. `stamp` says which state of the banks it holds."""

    stamp: tuple[Any, ...]
    banks: dict[int, BankInfo] = field(default_factory=dict)
    exact: dict[tuple[str, str], list[Entry]] = field(default_factory=dict)  # (type, hex)
    pdq: PdqIndex = field(default_factory=PdqIndex)
    pdq_entries: dict[int, Entry] = field(default_factory=dict)  # signal id -> entry
    videos: list[tuple[Entry, tuple[PdqFrame, ...]]] = field(default_factory=list)
    built_at: float = field(default_factory=time.time)

    def __len__(self) -> int:
        return len(self.pdq_entries) + sum(map(len, self.exact.values())) + len(self.videos)

    def active(self, e: Entry, *, include_disabled: bool = False) -> bool:
        """Whether the entry's bank matches it now; `include_disabled` (HMA's raw lookup)
        ignores the bank's switch and rollout."""
        b = self.banks[e.bank_id]
        return include_disabled or (b.enabled and in_rollout(e.key, b.rollout))

    def lookup_pdq(
        self, hashes: Sequence[str], banks: Iterable[str] | None = None, all_banks: bool = False
    ) -> list[list[tuple[BankInfo, Entry, int]]]:
        """For each query hash, (bank, entry, distance) within each bank's PDQ threshold."""
        wanted = set(banks) if banks is not None else None
        limit = max((b.pdq for b in self.banks.values()), default=PDQ_MAX_DISTANCE)
        out: list[list[tuple[BankInfo, Entry, int]]] = []
        for hits in self.pdq.search(list(hashes), max_distance=limit):
            got = []
            for h in hits:
                e = self.pdq_entries[h.id]
                b = self.banks[e.bank_id]
                if wanted is not None and b.name not in wanted:
                    continue
                if h.distance <= b.pdq and self.active(e, include_disabled=all_banks):
                    got.append((b, e, h.distance))
            out.append(got)
        return out

    def lookup_exact(
        self, signal_type: str, value: str, banks: Iterable[str] | None = None
    ) -> list[tuple[BankInfo, Entry]]:
        """The active entries whose MD5 or SHA-256 (`signal_type`) equals `value` (any case),
        optionally only in the named banks."""
        wanted = set(banks) if banks is not None else None
        return [
            (self.banks[e.bank_id], e)
            for e in self.exact.get((signal_type, value.lower()), ())
            if self.active(e) and (wanted is None or self.banks[e.bank_id].name in wanted)
        ]

    def match_item(self, item: ScannedItem, min_quality: int) -> list[BankHit]:
        """Every bank hit of one scanned item, negative banks' hits included."""
        hits: list[BankHit] = []
        for st, value in (("md5", item.md5), ("sha256", item.sha256)):
            for b, e in self.lookup_exact(st, value):
                hits.append(_hit(b, e, st, 0, 0))
        pdq = item.pdq or Pdq(None, None)
        # (hash, t, variant): a still image's rotations and mirrors after its original, so a
        # banked hash of the picture as another platform stored it matches a turned copy.
        queries: list[tuple[str, float | None, str]] = []
        if (pdq.quality or 0) >= min_quality:
            queries.extend((h, None, v) for v, h in pdq.variants())
        frames = tuple(PdqFrame(float(f.t or 0.0), f.pdq, int(f.quality)) for f in pdq.frames)
        queries.extend((f.pdq, f.t, VARIANTS[0]) for f in frames if f.quality >= min_quality)
        if queries and self.pdq_entries:
            best: dict[tuple[int, int], BankHit] = {}
            for (_, t, v), found in zip(
                queries, self.lookup_pdq([q for q, _, _ in queries]), strict=True
            ):
                for b, e, d in found:
                    k = (b.id, e.content_id)
                    if k not in best or d < best[k].distance:
                        best[k] = _hit(b, e, "pdq", d, b.pdq, t=t, variant=v)
            hits.extend(best.values())
        if frames:
            for e, banked in self.videos:
                b = self.banks[e.bank_id]
                if not self.active(e):
                    continue
                vm = compare_frames(frames, banked, max_distance=b.vpdq, min_quality=min_quality)
                # Both directions: a banked clip inside a longer scanned video (its frames all
                # found) and a scanned clip cut from a banked video (the query's frames found).
                if max(vm.query_share, vm.target_share) >= b.vpdq_share:
                    hits.append(
                        _hit(
                            b,
                            e,
                            "vpdq",
                            b.vpdq,
                            b.vpdq_share,
                            query_share=vm.query_share,
                            target_share=vm.target_share,
                        )
                    )
        return hits


def _hit(b: BankInfo, e: Entry, st: str, d: int, thr: float, **kw: Any) -> BankHit:
    return BankHit(b.name, b.negative, e.content_id, st, d, thr, e.tags, e.case_id, e.source, **kw)


def _stamp(s: Session) -> tuple[Any, ...]:
    """What changes whenever the index would: a new signal raises the highest id, and every
    other change to a bank's contents (a deletion, a content switched off) moves the bank's
    `updated_at` (services.banks does so). No count of the signals: at 100,000 it cost ~20 ms
    on every lookup, where the highest id and the few bank rows are read from indexes."""
    top = s.scalar(select(func.max(BankSignal.id)))
    banks = s.execute(select(func.count(Bank.id), func.max(Bank.updated_at))).one()
    return (top, *banks)


def build(s: Session, settings: Settings) -> BankIndex:
    """Every bank and its signals read into a fresh BankIndex, each bank's thresholds defaulting to
    the settings'; reads columns, not ORM objects, so millions of hashes load in seconds."""
    th = settings.thresholds
    index = BankIndex(_stamp(s))
    for b in s.scalars(select(Bank)):
        index.banks[b.id] = BankInfo(
            b.id,
            b.name,
            b.negative,
            b.enabled,
            b.rollout,
            int(b.thresholds.get("pdq", th.pdq_max_distance)),
            int(b.thresholds.get("vpdq", th.pdq_max_distance)),
            float(b.thresholds.get("vpdq_share", th.vpdq_frame_share)),
        )
    # Columns, not ORM objects: a bank of millions of hashes loads in seconds, not minutes.
    contents = {
        cid: (item, tuple(tags or ()), case, source)
        for cid, item, tags, case, source in s.execute(
            select(
                BankContent.id,
                BankContent.item_sha256,
                BankContent.tags,
                BankContent.case_id,
                BankContent.source,
            ).where(BankContent.enabled.is_(True))
        )
    }
    pdq_hex: list[str] = []
    pdq_ids: list[int] = []
    first_value: dict[int, str] = {}
    rows = list(
        s.execute(
            select(
                BankSignal.id,
                BankSignal.content_id,
                BankSignal.bank_id,
                BankSignal.signal_type,
                BankSignal.value,
                BankSignal.frames,
            ).order_by(BankSignal.id)
        )
    )
    for _sid, cid, _bid, _st, value, _frames in rows:
        first_value.setdefault(cid, value)
    for sid, cid, bid, st, value, frames in rows:
        c = contents.get(cid)
        if c is None:
            continue
        item, tags, case, source = c
        e = Entry(bid, cid, item or first_value[cid], tags, case, source)
        if st == "pdq":
            pdq_hex.append(value)
            pdq_ids.append(sid)
            index.pdq_entries[sid] = e
        elif st == "vpdq":
            index.videos.append(
                (e, tuple(PdqFrame(float(f[2]), f[0], int(f[1])) for f in frames or ()))
            )
        else:
            index.exact.setdefault((st, value), []).append(e)
    if pdq_hex:
        index.pdq.add(parse_hex(pdq_hex), np.array(pdq_ids, dtype=np.int64))
    return index


_cache: dict[str, BankIndex] = {}
_lock = threading.Lock()


def current(s: Session, settings: Settings, url: str) -> BankIndex:
    """The bank index for a database, rebuilt only when a bank or its contents changed."""
    stamp = _stamp(s)
    with _lock:
        got = _cache.get(url)
        if got is not None and got.stamp == stamp:
            return got
    index = build(s, settings)
    with _lock:
        _cache[url] = index
    return index


def record_matches(
    session: Session, settings: Settings, url: str, items: Sequence[ScannedItem]
) -> list[int]:
    """Findings for `items` matching enabled banks (inside the caller's transaction); returns
    the ids of new findings. An item found in a negative bank gets none."""
    from haechi.matching.findings import _record

    if not items:
        return []
    index = current(session, settings, url)
    if not len(index):
        return []
    new: list[int] = []
    min_q = settings.thresholds.pdq_min_quality
    for item in items:
        hits = index.match_item(item, min_q)
        if not hits or any(h.negative for h in hits):
            continue  # a known false positive: nothing to look at
        best: dict[str, BankHit] = {}
        for h in hits:
            if h.bank not in best or h.distance < best[h.bank].distance:
                best[h.bank] = h
        for h in best.values():
            fid = _record(
                session,
                item_sha256=item.sha256,
                kind=KIND,
                person_id=None,
                subject=f"bank:{h.bank}",
                locus="",
                score=float(h.distance),
                threshold=float(h.threshold),
                reason=_reason(h),
                details={
                    "bank": h.bank,
                    "bank_content_id": h.content_id,
                    "signal_type": h.signal_type,
                    "distance": h.distance,
                    "t": h.t,
                    "query_share": h.query_share,
                    "target_share": h.target_share,
                    "pdq_variant": h.variant,
                    "tags": list(h.tags),
                    "case": h.case_id,
                    "source": h.source,
                },
            )
            if fid is not None:
                new.append(fid)
    return new


def _reason(h: BankHit) -> str:
    if h.signal_type in ("md5", "sha256"):
        return f"the file's {h.signal_type.upper()} is in bank {h.bank} (content {h.content_id})"
    if h.signal_type == "vpdq":
        return (
            f"video frames match a video in bank {h.bank} (content {h.content_id}): "
            f"{h.query_share:.0%} of this video's frames, {h.target_share:.0%} of the banked one's"
        )
    where = "" if h.t is None else f" at {h.t:.2f} s"
    turned = (
        f" (this picture {h.variant.replace('_', ' ')})"
        if h.variant and h.variant != VARIANTS[0]
        else ""
    )
    return (
        f"PDQ{where} within distance {h.distance} (≤ {int(h.threshold)}) of content "
        f"{h.content_id} in bank {h.bank}{turned}"
    )
