"""The face-masked PDQ of every stored scene, held in memory for the scan's writer: the candidate
search for "same scene, different face" (haechi.matching.manipulation) asks it for the scenes
near a new one instead of reading every stored scene's signal for every new picture (0.5 s a
picture at 100,000 stored faces, growing with the database: a quadratic scan).

Kept up to date from the database a few rows at a time: each call reads the faces signals
written since the last one, and again the last `_REREAD` of them, so that rows a concurrent
scan committed late (PostgreSQL assigns ids before commit) are not missed, and rows an aborted
batch rolled back (SQLite reuses their ids) leave the index. An item deleted long after it was
read (`forget --delete-evidence`) stays in it; the caller finds no faces for it and passes
over it."""

from __future__ import annotations

import threading
import weakref
from typing import Final

import numpy as np
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from haechi.analyzers.faces import FacesAnalyzer
from haechi.analyzers.scene import NO_WORDS, WORD_POINTS, Scene, Words
from haechi.store.models import SignalRow

_REREAD: Final[int] = 1024  # signal ids read again on every refresh (a batch is 32 items)
_GROW: Final[int] = 4096  # rows added to the array at a time
_KEYS: Final[int] = 2 << 16  # a keypoint word and its table


class SceneIndex:
    """Stored scenes as arrays (~850 bytes each, no Python object per scene): the item's
    SHA-256, its masked PDQ as four 64-bit words for Hamming distances in one pass, its keypoint
    words (two tables of up to WORD_POINTS), the signal row it was read from, and whether that
    row still stands."""

    def __init__(self) -> None:
        self.n = 0
        self.keys = np.zeros((0, 32), dtype=np.uint8)
        self.pdq = np.zeros((0, 4), dtype=np.uint64)
        self.orb = np.zeros((0, 2, WORD_POINTS), dtype=np.uint16)
        self.orb_n = np.zeros((0, 2), dtype=np.uint8)  # distinct words in each table
        self.sid = np.zeros(0, dtype=np.int64)
        self.live = np.zeros(0, dtype=bool)
        self.watermark = 0  # highest signal id read
        # Rows [0, posted) are also in postings: for each key (table << 16 | word) the rows
        # holding it, post_rows[post_at[key] : post_at[key + 1]] (4 bytes a word); later rows
        # are looked at one by one until there are enough to post them.
        self.posted = 0
        self.post_at = np.zeros(_KEYS + 1, dtype=np.int64)
        self.post_rows = np.zeros(0, dtype=np.int32)

    def __len__(self) -> int:
        return int(self.live[: self.n].sum())

    def refresh(self, session: Session) -> None:
        """Read the faces signals written since the last refresh (and the last few before);
        forget those of the re-read stretch that are gone (rolled back)."""
        low = self.watermark - _REREAD
        path = SignalRow.payload["scene"]["masked_pdq"].as_string()
        words = SignalRow.payload["scene"]["words"].as_string()
        rows = session.execute(
            select(SignalRow.id, SignalRow.item_sha256, path, words)
            .where(
                SignalRow.analyzer == FacesAnalyzer.name,
                SignalRow.version == FacesAnalyzer.version,
                SignalRow.id > low,
            )
            .order_by(SignalRow.id)
        ).all()
        held = {
            (self.keys[i].tobytes(), int(self.sid[i])): int(i)
            for i in np.flatnonzero(self.live[: self.n] & (self.sid[: self.n] > low))
        }
        for sid, sha, masked, orb in rows:
            self.watermark = max(self.watermark, sid)
            key = bytes.fromhex(sha)
            if held.pop((key, sid), None) is None and masked and len(masked) == 64:
                self.add(key, masked, sid, Scene.words_of(orb or ""))
        for i in held.values():  # read before, gone now: its batch was rolled back
            self.live[i] = False

    def add(self, key: bytes, masked: str, sid: int = 0, words: Words = NO_WORDS) -> None:
        """One scene: item digest `key` (32 bytes), its masked PDQ in hex, its signal row, its
        keypoint words."""
        if self.n == len(self.pdq):
            size = self.n + _GROW
            self.keys = np.resize(self.keys, (size, 32))
            self.pdq = np.resize(self.pdq, (size, 4))
            self.orb = np.resize(self.orb, (size, 2, WORD_POINTS))
            self.orb_n = np.resize(self.orb_n, (size, 2))
            self.sid = np.resize(self.sid, size)
            self.live = np.resize(self.live, size)
        at = self.n
        self.keys[at] = np.frombuffer(key, dtype=np.uint8)
        self.pdq[at] = np.frombuffer(bytes.fromhex(masked), dtype=">u8").astype(np.uint64)
        self.sid[at] = sid
        self.live[at] = True
        for table in (0, 1):
            distinct = np.unique(words[table])[:WORD_POINTS]
            self.orb[at, table, : len(distinct)] = distinct
            self.orb_n[at, table] = len(distinct)
        self.n += 1

    def nearest(
        self,
        masked: str,
        exclude: str,
        within: int,
        at_least: int,
        words: Words = NO_WORDS,
        shared: int = 0,
        by_words: int = 0,
    ) -> list[tuple[str, int]]:
        """(sha, masked-PDQ distance) of every scene within `within` bits of `masked`, the
        `at_least` closest whatever their distance, and the `by_words` that share most
        keypoint words with `words` when they share at least `shared` (a crop); closest
        first, ties by SHA-256 (`exclude` left out; an item stored twice counts once)."""
        n = self.n
        if not n:
            return []
        query = np.frombuffer(bytes.fromhex(masked), dtype=">u8").astype(np.uint64)
        dist = np.bitwise_count(self.pdq[:n] ^ query).sum(axis=1, dtype=np.int64)
        far = 1 << 20  # more than any distance: what must not be picked
        out = ~self.live[:n]
        mine = np.frombuffer(bytes.fromhex(exclude), dtype=np.uint8) if _is_sha(exclude) else None
        if mine is not None:
            out |= (self.keys[:n] == mine).all(axis=1)
        near = np.where(out, far, dist)
        k = min(at_least, n)
        bound = within if k == 0 else max(within, int(np.partition(near, k - 1)[k - 1]))
        scored = sorted(self._best(np.flatnonzero(near <= min(bound, far - 1)), dist))
        found = {sha: d for i, (d, sha) in enumerate(scored) if d <= within or i < at_least}
        if by_words and shared and len(words[0]):
            common = self._shared(words, n)
            common[out] = 0
            top = np.argsort(-common, kind="stable")[:by_words]
            found.update((sha, d) for d, sha in self._best(top[common[top] >= shared], dist))
        return [(sha, d) for d, sha in sorted((d, sha) for sha, d in found.items())]

    def _best(self, rows: np.ndarray, dist: np.ndarray) -> list[tuple[int, str]]:
        """(distance, sha) of these rows, an item stored twice at its closer scene."""
        best: dict[str, int] = {}
        for i in rows:
            sha, d = self.keys[i].tobytes().hex(), int(dist[i])
            best[sha] = min(d, best.get(sha, d))
        return [(d, sha) for sha, d in best.items()]

    def _shared(self, words: Words, n: int) -> np.ndarray:
        """How many of `words` each stored scene holds, both tables together (each word
        once: stored words are distinct per table). Posted rows through their postings (a
        query's ~128 words reach ~100 rows each), the rest one by one."""
        if n - self.posted > max(_GROW, self.posted // 4):
            self._post(n)
        keys = np.unique(
            np.concatenate([words[t].astype(np.uint32) | np.uint32(t << 16) for t in (0, 1)])
        )
        lo, hi = self.post_at[keys], self.post_at[keys + 1]
        size = hi - lo
        starts = np.repeat(lo - np.cumsum(size) + size, size) + np.arange(int(size.sum()))
        total = np.bincount(self.post_rows[starts], minlength=n).astype(np.int64)[:n]
        for table in (0, 1):
            rest = self.orb[self.posted : n, table]
            valid = np.arange(WORD_POINTS) < self.orb_n[self.posted : n, table, None]
            lut = np.zeros(1 << 16, dtype=bool)
            lut[words[table]] = True
            total[self.posted : n] += (lut[rest] & valid).sum(axis=1)
        return total

    def _post(self, n: int) -> None:
        """Rebuild the postings over rows [0, n)."""
        valid = np.arange(WORD_POINTS) < self.orb_n[:n, :, None]  # (n, 2, WORD_POINTS)
        table = np.broadcast_to(np.array([0, 1], np.uint32)[None, :, None], valid.shape)
        keys = (self.orb[:n].astype(np.uint32) | (table << np.uint32(16)))[valid]
        rows = np.broadcast_to(np.arange(n, dtype=np.int32)[:, None, None], valid.shape)[valid]
        order = np.argsort(keys, kind="stable")
        self.post_at = np.zeros(_KEYS + 1, dtype=np.int64)
        np.cumsum(np.bincount(keys, minlength=_KEYS), out=self.post_at[1:])
        self.post_rows, self.posted = rows[order], n


def _is_sha(value: str) -> bool:
    try:
        return len(bytes.fromhex(value)) == 32
    except ValueError:
        return False


_indexes: weakref.WeakKeyDictionary[Engine, SceneIndex] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def scene_index(session: Session) -> SceneIndex:
    """The index of the database this session is bound to, brought up to date."""
    engine = session.get_bind().engine
    with _lock:
        index = _indexes.get(engine)
        if index is None:
            index = _indexes[engine] = SceneIndex()
        index.refresh(session)
        return index
