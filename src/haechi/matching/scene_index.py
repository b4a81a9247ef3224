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
from haechi.store.models import SignalRow

_REREAD: Final[int] = 1024  # signal ids read again on every refresh (a batch is 32 items)
_GROW: Final[int] = 4096  # rows added to the array at a time


class SceneIndex:
    """Stored scenes as arrays (73 bytes each, no Python object per scene): the item's SHA-256,
    its masked PDQ as four 64-bit words for Hamming distances in one pass, the signal row it
    was read from, and whether that row still stands."""

    def __init__(self) -> None:
        self.n = 0
        self.keys = np.zeros((0, 32), dtype=np.uint8)
        self.words = np.zeros((0, 4), dtype=np.uint64)
        self.sid = np.zeros(0, dtype=np.int64)
        self.live = np.zeros(0, dtype=bool)
        self.watermark = 0  # highest signal id read

    def __len__(self) -> int:
        return int(self.live[: self.n].sum())

    def refresh(self, session: Session) -> None:
        """Read the faces signals written since the last refresh (and the last few before);
        forget those of the re-read stretch that are gone (rolled back)."""
        low = self.watermark - _REREAD
        path = SignalRow.payload["scene"]["masked_pdq"].as_string()
        rows = session.execute(
            select(SignalRow.id, SignalRow.item_sha256, path)
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
        for sid, sha, masked in rows:
            self.watermark = max(self.watermark, sid)
            key = bytes.fromhex(sha)
            if held.pop((key, sid), None) is None and masked and len(masked) == 64:
                self.add(key, masked, sid)
        for i in held.values():  # read before, gone now: its batch was rolled back
            self.live[i] = False

    def add(self, key: bytes, masked: str, sid: int = 0) -> None:
        """One scene: item digest `key` (32 bytes), its masked PDQ in hex, its signal row."""
        if self.n == len(self.words):
            size = self.n + _GROW
            self.keys = np.resize(self.keys, (size, 32))
            self.words = np.resize(self.words, (size, 4))
            self.sid = np.resize(self.sid, size)
            self.live = np.resize(self.live, size)
        at = self.n
        self.keys[at] = np.frombuffer(key, dtype=np.uint8)
        self.words[at] = np.frombuffer(bytes.fromhex(masked), dtype=">u8").astype(np.uint64)
        self.sid[at] = sid
        self.live[at] = True
        self.n += 1

    def nearest(
        self, masked: str, exclude: str, within: int, at_least: int
    ) -> list[tuple[str, int]]:
        """(sha, distance) of every scene within `within` bits of `masked`, and the `at_least`
        closest whatever their distance; closest first, ties by SHA-256 (`exclude` left out;
        an item stored twice counts at its closer scene)."""
        n = self.n
        if not n:
            return []
        query = np.frombuffer(bytes.fromhex(masked), dtype=">u8").astype(np.uint64)
        dist = np.bitwise_count(self.words[:n] ^ query).sum(axis=1, dtype=np.int64)
        far = 1 << 20  # more than any distance: what must not be picked
        dist[~self.live[:n]] = far
        mine = np.frombuffer(bytes.fromhex(exclude), dtype=np.uint8) if _is_sha(exclude) else None
        if mine is not None:
            dist[(self.keys[:n] == mine).all(axis=1)] = far
        k = min(at_least, n)
        bound = within if k == 0 else max(within, int(np.partition(dist, k - 1)[k - 1]))
        picked = np.flatnonzero(dist <= min(bound, far - 1))
        best: dict[str, int] = {}
        for i in picked:
            sha, d = self.keys[i].tobytes().hex(), int(dist[i])
            best[sha] = min(d, best.get(sha, d))
        scored = sorted((d, sha) for sha, d in best.items())
        return [(sha, d) for i, (d, sha) in enumerate(scored) if d <= within or i < at_least]


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
