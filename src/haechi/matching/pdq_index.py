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
"""

from __future__ import annotations

import itertools
import json
import math
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from haechi.errors import InputError
from haechi.i18n import _
from haechi.matching.thresholds import PDQ_MAX_DISTANCE

HASH_BYTES = 32
# (first bit, width) of each chunk: 3 x 24 + 8 x 23 = 256 bits.
CHUNKS: tuple[tuple[int, int], ...] = (
    (0, 24),
    (24, 24),
    (48, 24),
    *((72 + 23 * i, 23) for i in range(8)),
)
SEAL_AT = 4096  # tail rows before they become a segment (a brute-force scan stays cheap below)
BRUTE_MAX = 4096  # segments smaller than this are scanned whole: probing costs more there
MERGE_FANOUT = 4  # merge when this many segments sit in one size tier
BATCH = 64  # queries handled together (bounds the temporary candidate arrays, kept in cache)

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]


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


def chunk_keys(data: U8, first: int, width: int) -> npt.NDArray[np.uint32]:
    """The `width` bits starting at bit `first` (bit 0 = the hex string's first bit) of every
    row, as integers."""
    b0 = first // 8
    b1 = (first + width - 1) // 8 + 1
    acc = np.zeros(len(data), dtype=np.uint64)
    for b in range(b0, b1):
        acc = (acc << np.uint64(8)) | data[:, b].astype(np.uint64)
    right = b1 * 8 - (first + width)
    mask = np.uint64((1 << width) - 1)
    return ((acc >> np.uint64(right)) & mask).astype(np.uint32)


def _flip_masks(width: int, radius: int) -> npt.NDArray[np.uint32]:
    masks = [0]
    for k in range(1, radius + 1):
        for bits in itertools.combinations(range(width), k):
            masks.append(sum(1 << b for b in bits))
    return np.array(masks, dtype=np.uint32)


def radius_for(max_distance: int) -> int:
    """The bit flips to probe per chunk so that every hash within `max_distance` is found
    (pigeonhole over the 11 chunks; 2 for 31)."""
    return max(0, math.ceil((max_distance + 1) / len(CHUNKS)) - 1)


def distances(a: U8, b: U8) -> npt.NDArray[np.int64]:
    """Row-wise Hamming distance of two uint8[N, 32] arrays."""
    x = np.ascontiguousarray(a).view(np.uint64) ^ np.ascontiguousarray(b).view(np.uint64)
    return _popcount(x)


@dataclass(frozen=True)
class Hit:
    """One hash within the asked distance: its external id and Hamming distance in bits."""

    id: int
    distance: int


class Segment:
    """One sealed, immutable set of hashes and its chunk tables."""

    def __init__(self, data: U8, ids: I64, tables: list[tuple[np.ndarray, np.ndarray, int]]):
        self.data = data
        self.data64 = data.view(np.uint64) if len(data) else data.reshape(0, 4).view(np.uint64)
        self.ids = ids
        self.tables = tables  # per chunk: (perm uint32, offsets uint32, table bits t)
        self.name: str | None = None  # its folder, once saved
        self._probe_cache: dict[tuple[int, int], npt.NDArray[np.uint32]] = {}

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def build(cls, data: U8, ids: I64) -> Segment:
        """A segment of these hashes and ids; its chunk tables are built only from BRUTE_MAX rows up
        (smaller segments are scanned whole)."""
        n = len(data)
        tables = []
        if n >= BRUTE_MAX:
            for first, width in CHUNKS:
                t = min(width, max(1, math.ceil(math.log2(n))))
                buckets = chunk_keys(data, first, width) >> np.uint32(width - t)
                perm = np.argsort(buckets, kind="stable").astype(np.uint32)
                counts = np.bincount(buckets, minlength=1 << t)
                offsets = np.zeros((1 << t) + 1, dtype=np.uint32)
                np.cumsum(counts, out=offsets[1:])
                tables.append((perm, offsets, t))
        return cls(data, ids, tables)

    def save(self, folder: Path) -> None:
        """Write the segment's arrays as .npy files into a new folder (raises FileExistsError if it
        exists)."""
        folder.mkdir(parents=True)
        np.save(folder / "data.npy", self.data)
        np.save(folder / "ids.npy", self.ids)
        for j, (perm, offsets, t) in enumerate(self.tables):
            np.save(folder / f"perm{j}.npy", perm)
            np.save(folder / f"offsets{j}_{t}.npy", offsets)

    @classmethod
    def load(cls, folder: Path) -> Segment:
        """A saved segment, its arrays memory-mapped read-only (opening reads only the headers)."""
        data = np.load(folder / "data.npy", mmap_mode="r")
        ids = np.load(folder / "ids.npy", mmap_mode="r")
        tables: list[tuple[np.ndarray, np.ndarray, int]] = []
        for j in range(len(CHUNKS)):
            perm_file = folder / f"perm{j}.npy"
            if not perm_file.exists():
                break
            (off,) = folder.glob(f"offsets{j}_*.npy")
            t = int(off.stem.split("_")[1])
            tables.append((np.load(perm_file, mmap_mode="r"), np.load(off, mmap_mode="r"), t))
        seg = cls(data, ids, tables)
        seg.name = folder.name
        return seg

    def _bucket_masks(self, j: int, radius: int) -> npt.NDArray[np.uint32]:
        key = (j, radius)
        got = self._probe_cache.get(key)
        if got is None:
            width = CHUNKS[j][1]
            shift = width - self.tables[j][2]
            got = np.unique(_flip_masks(width, radius) >> np.uint32(shift))
            self._probe_cache[key] = got
        return got

    def search(self, q: U8, max_distance: int) -> tuple[I64, I64, I64]:
        """(query index, id, distance) of every row within `max_distance` of a query."""
        if not len(self):
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        if not self.tables or max_distance > 32:  # small, or beyond what the chunks guarantee
            return _brute(q, self.data64, self.ids, max_distance)
        radius = radius_for(max_distance)
        qi_parts, row_parts = [], []
        for j, (first, width) in enumerate(CHUNKS):
            perm, offsets, t = self.tables[j]
            qb = chunk_keys(q, first, width) >> np.uint32(width - t)
            buckets = (qb[:, None] ^ self._bucket_masks(j, radius)[None, :]).ravel()
            starts = np.take(offsets, buckets).astype(np.int64)
            lens = np.take(offsets, buckets + 1).astype(np.int64) - starts
            total = int(lens.sum())
            if not total:
                continue
            per_query = buckets.size // len(q)
            # The positions start..start+len-1 of every probed bucket, end to end: one repeat
            # of the probe number gives both the position and the query it belongs to.
            probe = np.repeat(np.arange(buckets.size), lens)
            first = starts - (np.cumsum(lens) - lens)
            pos = np.arange(total, dtype=np.int64) + np.take(first, probe)
            qi_parts.append(probe // per_query)
            row_parts.append(np.take(perm, pos))
        if not qi_parts:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        qi = np.concatenate(qi_parts)
        rows = np.concatenate(row_parts).astype(np.int64)
        d = _popcount(np.take(self.data64, rows, axis=0) ^ np.take(q.view(np.uint64), qi, axis=0))
        keep = d <= max_distance
        qi, rows, d = qi[keep], rows[keep], d[keep]
        # A near hash is found through several chunks: report it once.
        _, first_seen = np.unique(qi * len(self) + rows, return_index=True)
        return qi[first_seen], np.asarray(self.ids[rows[first_seen]], np.int64), d[first_seen]


def _popcount(x: npt.NDArray[np.uint64]) -> I64:
    """Bits set per row of uint64[N, 4] (numpy's reduce over axis 1 is slow; four adds are not)."""
    c = np.bitwise_count(x).astype(np.uint16)
    return (c[:, 0] + c[:, 1] + c[:, 2] + c[:, 3]).astype(np.int64)


def _brute(q: U8, data64: np.ndarray, ids: np.ndarray, max_distance: int) -> tuple[I64, I64, I64]:
    q64 = q.view(np.uint64)
    qis, rows, ds = [], [], []
    step = max(1, 262_144 // max(1, len(data64)))  # temporaries of at most 8 MB
    for s in range(0, len(q64), step):
        x = q64[s : s + step, None, :] ^ data64[None, :, :]
        d = _popcount(x.reshape(-1, 4)).reshape(x.shape[:2])
        a, b = np.nonzero(d <= max_distance)
        qis.append(a + s)
        rows.append(b)
        ds.append(d[a, b])
    r = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    return (
        np.concatenate(qis).astype(np.int64) if qis else r,
        np.asarray(ids, dtype=np.int64)[r],
        np.concatenate(ds) if ds else r,
    )


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
                found.append(_brute(qb, data.view(np.uint64), ids, max_distance))
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
