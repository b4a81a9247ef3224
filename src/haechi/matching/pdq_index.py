"""An exact PDQ index for millions of hashes: multi-index hashing over substrings of the hash.

Why it is exact: the 256 bits are cut into 11 chunks (3 of 24 bits, 8 of 23). If two hashes
differ in at most D bits, at least one chunk differs in at most r = ceil((D + 1) / 11) - 1 bits
(pigeonhole: were every chunk to differ in r + 1 or more, the total would be at least
11 (r + 1) > D). So probing, in every chunk, each bucket within r bit flips of the query's chunk
finds every hash within D (for D = 31, r = 2), and each candidate is then checked with its full
Hamming distance. Nothing within D is missed; nothing beyond it is returned.

Layout (one segment): the hashes as uint8[N, 32], external ids int64[N], and per chunk a
permutation of rows sorted by the chunk's top t bits with the offsets of each bucket (a
counting-sort table of 2**t + 1 entries, t = min(chunk width, log2 N)). Every array is a .npy
file loaded memory-mapped, so opening ten million hashes reads only the headers.

Incremental adds go to a tail searched by brute force; a full tail is sealed into a segment,
and segments of similar size are merged (log-structured), so an add never rebuilds the index.
This module holds the index (its segments, tail, merges and folder); a segment, its chunk
tables and the bit arithmetic are `haechi.matching.pdq_segment`.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from haechi.errors import InputError
from haechi.i18n import _
from haechi.matching.pdq_segment import HASH_BYTES, I64, U8, Segment, brute_search
from haechi.matching.thresholds import PDQ_MAX_DISTANCE

SEAL_AT = 4096  # tail rows before they become a segment (a brute-force scan stays cheap below)
MERGE_FANOUT = 4  # merge when this many segments sit in one size tier
BATCH = 64  # queries handled together (bounds the temporary candidate arrays, kept in cache)


def parse_hex(hashes: Iterable[str]) -> U8:
    """64-hex-character PDQ hashes as uint8[N, 32] (the hex string's byte order)."""
    rows = []
    for h in hashes:
        h = h.strip().lower()
        if len(h) != 64:
            raise InputError(_("{h!r}: a PDQ hash is 64 hex characters").format(h=h[:80]))
        try:
            rows.append(bytes.fromhex(h))
        except ValueError:
            raise InputError(_("{h!r}: a PDQ hash is 64 hex characters").format(h=h)) from None
    if not rows:
        return np.zeros((0, HASH_BYTES), dtype=np.uint8)
    return np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(-1, HASH_BYTES).copy()


def to_hex(row: U8) -> str:
    """One 32-byte hash row as 64 hex characters."""
    return bytes(row).hex()


@dataclass(frozen=True)
class Hit:
    """One hash within the asked distance: its external id and Hamming distance in bits."""

    id: int
    distance: int


class PdqIndex:
    """Exact range search over PDQ hashes with incremental adds; in memory, or in a folder
    (`open`/`save`) whose arrays are memory-mapped."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self.segments: list[Segment] = []
        self._tail: list[U8] = []
        self._tail_ids: list[I64] = []
        self._tail_n = 0
        self._next_segment = 0

    def __len__(self) -> int:
        return sum(len(s) for s in self.segments) + self._tail_n

    @classmethod
    def open(cls, folder: Path) -> PdqIndex:
        """Load a saved index (memory-mapped: quick whatever its size)."""
        index = cls(folder)
        manifest = folder / "manifest.json"
        if not manifest.exists():
            return index
        meta = json.loads(manifest.read_text())
        index.segments = [Segment.load(folder / name) for name in meta["segments"]]
        index._next_segment = int(meta["next"])
        tail = folder / "tail.npz"
        if tail.exists():
            with np.load(tail) as z:
                if len(z["ids"]):
                    index._tail = [z["data"]]
                    index._tail_ids = [z["ids"]]
                    index._tail_n = len(z["ids"])
        return index

    @classmethod
    def bulk(cls, data: U8, ids: I64, folder: Path | None = None) -> PdqIndex:
        """An index of many hashes at once: one segment, no tail (a first load, a benchmark)."""
        index = cls(folder)
        index.segments.append(Segment.build(np.ascontiguousarray(data), np.asarray(ids)))
        return index

    def add(self, hashes: U8 | Sequence[str], ids: Sequence[int] | I64) -> None:
        """Add hashes (uint8[N, 32] or hex strings) with their ids to the tail, sealing it into a
        segment at SEAL_AT rows. Raises InputError for a bad hash or a count of ids that does not
        match."""
        data = hashes if isinstance(hashes, np.ndarray) else parse_hex(hashes)
        ids_arr = np.asarray(ids, dtype=np.int64)
        if data.shape != (len(ids_arr), HASH_BYTES):
            raise InputError(_("one id per 32-byte PDQ hash"))
        self._tail.append(np.ascontiguousarray(data, dtype=np.uint8))
        self._tail_ids.append(ids_arr)
        self._tail_n += len(ids_arr)
        if self._tail_n >= SEAL_AT:
            self._seal()

    def _tail_arrays(self) -> tuple[U8, I64]:
        if len(self._tail) > 1:
            self._tail = [np.concatenate(self._tail)]
            self._tail_ids = [np.concatenate(self._tail_ids)]
        if not self._tail:
            return np.zeros((0, HASH_BYTES), np.uint8), np.zeros(0, np.int64)
        return self._tail[0], self._tail_ids[0]

    def _seal(self) -> None:
        data, ids = self._tail_arrays()
        self._tail, self._tail_ids, self._tail_n = [], [], 0
        self.segments.append(Segment.build(data, ids))
        self._merge()

    def _merge(self) -> None:
        """Merge segments of one size tier (powers of MERGE_FANOUT) once there are enough."""
        while True:
            tiers: dict[int, list[int]] = {}
            for i, seg in enumerate(self.segments):
                tiers.setdefault(int(math.log(max(len(seg), 1), MERGE_FANOUT)), []).append(i)
            full = [idx for idx in tiers.values() if len(idx) >= MERGE_FANOUT]
            if not full:
                return
            pick = full[0]
            data = np.concatenate([np.asarray(self.segments[i].data) for i in pick])
            ids = np.concatenate([np.asarray(self.segments[i].ids) for i in pick])
            kept = [s for i, s in enumerate(self.segments) if i not in pick]
            self.segments = [*kept, Segment.build(data, ids)]

    def compact(self) -> None:
        """Merge every segment and the tail into one (each segment costs its own probes: a
        quiet moment after many adds is the time for this)."""
        data, ids = self._tail_arrays()
        parts = [np.asarray(s.data) for s in self.segments] + [data]
        id_parts = [np.asarray(s.ids) for s in self.segments] + [ids]
        self._tail, self._tail_ids, self._tail_n = [], [], 0
        merged = np.concatenate(parts)
        self.segments = [Segment.build(merged, np.concatenate(id_parts))] if len(merged) else []

    def search(
        self, queries: U8 | Sequence[str], max_distance: int = PDQ_MAX_DISTANCE, *, workers: int = 1
    ) -> list[list[Hit]]:
        """Every indexed hash within `max_distance` of each query, nearest first. With
        `workers` > 1, batches of queries run on threads (numpy's gathers release the GIL)."""
        q = queries if isinstance(queries, np.ndarray) else parse_hex(queries)
        q = np.ascontiguousarray(q, dtype=np.uint8)
        out: list[list[Hit]] = [[] for _ in range(len(q))]
        data, ids = self._tail_arrays()

        def batch(start: int) -> tuple[int, list[tuple[I64, I64, I64]]]:
            qb = q[start : start + BATCH]
            found = [seg.search(qb, max_distance) for seg in self.segments]
            if len(ids):
                found.append(brute_search(qb, data.view(np.uint64), ids, max_distance))
            return start, found

        starts = range(0, len(q), BATCH)
        if workers > 1 and len(starts) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(workers) as pool:
                results = list(pool.map(batch, starts))
        else:
            results = [batch(s) for s in starts]
        for start, found in results:
            for qi, hid, d in found:
                for a, b, c in zip(qi.tolist(), hid.tolist(), d.tolist(), strict=True):
                    out[start + a].append(Hit(b, c))
        for hits in out:
            hits.sort(key=lambda h: (h.distance, h.id))
        return out

    def save(self, folder: Path | None = None) -> Path:
        """Write the index to `folder` (new segments only; the manifest last, atomically)."""
        folder = folder or self.folder
        if folder is None:
            raise InputError(_("the index has no folder to save to"))
        folder.mkdir(parents=True, exist_ok=True)
        names = []
        for seg in self.segments:
            if seg.name is None or folder != self.folder or not (folder / seg.name).exists():
                name = f"seg{self._next_segment:06d}"
                self._next_segment += 1
                tmp = folder / f".tmp-{name}"
                if tmp.exists():
                    shutil.rmtree(tmp)
                seg.save(tmp)
                tmp.replace(folder / name)
                seg.name = name
            names.append(seg.name)
        data, ids = self._tail_arrays()
        tmp_tail = folder / ".tail.npz.tmp"
        with tmp_tail.open("wb") as fh:
            np.savez(fh, data=data, ids=ids)
        tmp_tail.replace(folder / "tail.npz")
        tmp = folder / ".manifest.tmp"
        tmp.write_text(json.dumps({"segments": names, "next": self._next_segment}))
        tmp.replace(folder / "manifest.json")
        for stale in folder.glob("seg*"):
            if stale.name not in names:
                shutil.rmtree(stale)
        self.folder = folder
        return folder
