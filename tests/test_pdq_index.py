"""The PDQ index is exact: every hash within the distance is found (recall 1.0 at 31, checked
against brute force over the whole set) and none beyond it; adds are incremental; a saved index
opens memory-mapped and answers the same."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from haechi.matching import pdq_index, pdq_segment
from haechi.matching.pdq_index import PdqIndex
from haechi.matching.pdq_segment import distances


def _near(rng: np.random.Generator, rows: np.ndarray, ks: np.ndarray) -> np.ndarray:
    """Copies of `rows` with ks[i] random bits flipped in row i."""
    bits = np.unpackbits(rows, axis=1)
    for i, k in enumerate(ks):
        bits[i, rng.choice(256, int(k), replace=False)] ^= 1
    return np.packbits(bits, axis=1)


def _brute(data: np.ndarray, q: np.ndarray, d: int) -> list[set[int]]:
    return [set(np.nonzero(distances(data, np.broadcast_to(x, data.shape)) <= d)[0]) for x in q]


@pytest.fixture(autouse=True)
def small_segments(monkeypatch: pytest.MonkeyPatch) -> None:
    # Small thresholds so a few thousand hashes exercise sealing, merging and the chunk tables.
    monkeypatch.setattr(pdq_index, "SEAL_AT", 500)
    monkeypatch.setattr(pdq_segment, "BRUTE_MAX", 400)
    monkeypatch.setattr(pdq_index, "MERGE_FANOUT", 3)


@pytest.mark.parametrize("max_distance", [31, 12, 0])
def test_exact_against_brute_force(max_distance: int) -> None:
    rng = np.random.default_rng(7)
    data = rng.integers(0, 256, (6000, 32), dtype=np.uint8)
    index = PdqIndex()
    for start in range(0, len(data), 700):  # incremental adds: tail, sealed and merged segments
        index.add(data[start : start + 700], np.arange(start, min(start + 700, len(data))))
    assert len(index) == len(data) and len(index.segments) >= 2
    rows = rng.integers(0, len(data), 300)
    # Planted near-duplicates at every distance up to 40, around the threshold.
    q = _near(rng, data[rows], np.arange(300) % 41)
    got = index.search(q, max_distance)
    want = _brute(data, q, max_distance)
    assert [{h.id for h in hits} for hits in got] == want
    for hits, x in zip(got, q, strict=True):
        for h in hits:
            assert h.distance == int(distances(data[h.id : h.id + 1], x[None, :])[0])
    planted = [i for i in range(300) if i % 41 <= max_distance]
    assert all(int(rows[i]) in {h.id for h in got[i]} for i in planted)  # recall 1.0


def test_a_saved_index_opens_memory_mapped_and_takes_more(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    data = rng.integers(0, 256, (2300, 32), dtype=np.uint8)
    index = PdqIndex()
    index.add(data, np.arange(len(data)) + 1000)
    index.save(tmp_path / "idx")
    opened = PdqIndex.open(tmp_path / "idx")
    assert len(opened) == len(data)
    assert isinstance(opened.segments[0].data, np.memmap)
    q = _near(rng, data[:50], np.full(50, 31))
    assert [[h.id for h in x] for x in opened.search(q)] == [
        [h.id for h in x] for x in index.search(q)
    ]
    more = rng.integers(0, 256, (10, 32), dtype=np.uint8)
    opened.add(more, np.arange(10) + 9000)
    opened.save()
    again = PdqIndex.open(tmp_path / "idx")
    assert len(again) == len(data) + 10
    assert again.search(more[3:4])[0][0].id == 9003
    assert again.search([bytes(more[3]).hex()])[0][0].distance == 0
    before = again.search(q)
    again.compact()
    assert len(again.segments) == 1 and again.search(q) == before
