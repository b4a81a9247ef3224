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
    """Item SHA-256 → masked PDQ (as four 64-bit words), for Hamming distances in one pass."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.row: dict[str, int] = {}
        self.words = np.zeros((0, 4), dtype=np.uint64)
        self.sid = np.zeros(0, dtype=np.int64)  # the signal row each scene was read from
        self.live = np.zeros(0, dtype=bool)
        self.watermark = 0  # highest signal id read

    def __len__(self) -> int:
        return len(self.keys)

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
        now = {(sha, sid) for sid, sha, _ in rows}
        n = len(self.keys)
        for i in np.flatnonzero(self.live[:n] & (self.sid[:n] > low)):
            if (self.keys[i], int(self.sid[i])) not in now:
                self.live[i] = False
        for sid, sha, masked in rows:
            self.watermark = max(self.watermark, sid)
            if masked and len(masked) == 64:
                self._put(sha, masked, sid)

    def _put(self, sha: str, masked: str, sid: int = 0) -> None:
        words = np.frombuffer(bytes.fromhex(masked), dtype=">u8").astype(np.uint64)
        at = self.row.get(sha)
        if at is None:
            at = len(self.keys)
            if at == len(self.words):
                size = len(self.words) + _GROW
                self.words = np.resize(self.words, (size, 4))
                self.sid = np.resize(self.sid, size)
                self.live = np.resize(self.live, size)
            self.keys.append(sha)
            self.row[sha] = at
        self.words[at] = words
        self.sid[at] = sid
        self.live[at] = True

    def nearest(
        self, masked: str, exclude: str, within: int, at_least: int
    ) -> list[tuple[str, int]]:
        """(sha, distance) of every scene within `within` bits of `masked`, and the `at_least`
        closest whatever their distance; closest first, ties by SHA-256 (`exclude` left out)."""
        n = len(self.keys)
        if not n:
            return []
        query = np.frombuffer(bytes.fromhex(masked), dtype=">u8").astype(np.uint64)
        dist = np.bitwise_count(self.words[:n] ^ query).sum(axis=1, dtype=np.int64)
        far = 1 << 20  # more than any distance: what must not be picked
        dist[~self.live[:n]] = far
        skip = self.row.get(exclude)
        if skip is not None:
            dist[skip] = far
        k = min(at_least + 1, n)  # one more: the excluded item may be among them
        bound = max(within, int(np.partition(dist, k - 1)[k - 1]))
        picked = np.flatnonzero(dist <= min(bound, far - 1))
        scored = sorted((int(dist[i]), self.keys[i]) for i in picked)
        return [(key, d) for i, (d, key) in enumerate(scored) if d <= within or i < at_least]


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
