"""One sealed segment of the exact PDQ index (`haechi.matching.pdq_index`) and the bit
arithmetic it rests on: the 11 chunks the 256 bits are cut into, the chunk tables (rows sorted
by a chunk's top bits, with each bucket's offsets) that multi-index hashing probes, the probe
radius that keeps the search exact, and the Hamming distances that check each candidate (or, in
a small segment or the index's tail, every row). Kept apart from the index, which holds the
segments, the tail, merging and the saved folder."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import numpy.typing as npt

HASH_BYTES = 32
# (first bit, width) of each chunk: 3 x 24 + 8 x 23 = 256 bits.
CHUNKS: tuple[tuple[int, int], ...] = (
    (0, 24),
    (24, 24),
    (48, 24),
    *((72 + 23 * i, 23) for i in range(8)),
)
BRUTE_MAX = 4096  # segments smaller than this are scanned whole: probing costs more there

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]


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
            return brute_search(q, self.data64, self.ids, max_distance)
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


def brute_search(
    q: U8, data64: np.ndarray, ids: np.ndarray, max_distance: int
) -> tuple[I64, I64, I64]:
    """(query index, id, distance) of every row within `max_distance` of a query, found by
    comparing each query with every row (`data64`: the rows as uint64[N, 4])."""
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
