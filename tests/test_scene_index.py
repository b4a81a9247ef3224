"""The in-memory index of stored scenes gives the same candidates as comparing with every stored
scene, and keeps up with the database: new rows, rows a rolled-back batch left behind, rows of
an item stored again."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
from sqlalchemy import delete, insert

from haechi.analyzers.faces import FacesAnalyzer
from haechi.matching.manipulation import NEAREST, SCENE_PDQ_MAX, nearest
from haechi.matching.scene_index import SceneIndex, scene_index
from haechi.store.db import Database
from haechi.store.models import Item, SignalRow


def _flip(h: str, bits: int, rng: random.Random) -> str:
    value = int(h, 16)
    for b in rng.sample(range(256), bits):
        value ^= 1 << b
    return f"{value:064x}"


def _pool(rng: random.Random, n: int) -> list[tuple[str, str]]:
    """Scenes in families (near copies of a few bases) and loners, with repeated distances."""
    bases = [f"{rng.getrandbits(256):064x}" for _ in range(20)]
    pool = []
    for i in range(n):
        if i % 3:
            h = _flip(bases[i % 20], rng.choice([0, 4, 4, 30, 60, 71, 90]), rng)
        else:
            h = f"{rng.getrandbits(256):064x}"
        pool.append((f"{rng.getrandbits(256):064x}", h))
    return pool


def test_the_index_picks_exactly_what_a_full_comparison_picks() -> None:
    rng = random.Random(5)
    pool = _pool(rng, 3000)
    index = SceneIndex()
    for sha, h in pool:
        index.add(bytes.fromhex(sha), h)
    for sha, h in [*pool[:200], ("f" * 64, _flip(pool[7][1], 10, rng))]:
        expected = nearest(h, [(k, v) for k, v in pool if k != sha])
        assert index.nearest(h, sha, SCENE_PDQ_MAX, NEAREST) == expected
    assert index.nearest(pool[0][1], pool[0][0], SCENE_PDQ_MAX, 5)[0][1] >= 0
    assert SceneIndex().nearest(pool[0][1], "x", SCENE_PDQ_MAX, NEAREST) == []


def _rows(items: list[tuple[str, str]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return (
        [{"sha256": sha, "md5": "0" * 32, "size": 1, "kind": "image"} for sha, _ in items],
        [
            {
                "item_sha256": sha,
                "analyzer": FacesAnalyzer.name,
                "version": FacesAnalyzer.version,
                "payload": {"count": 1, "scene": {"masked_pdq": h, "width": 9, "height": 9}},
            }
            for sha, h in items
        ],
    )


def _store(db: Database, items: list[tuple[str, str]], *, commit: bool = True) -> None:
    item_rows, signal_rows = _rows(items)
    with db.session() as s:
        s.execute(insert(Item), item_rows)
        s.execute(insert(SignalRow), signal_rows)
        scene_index(s)  # what the writer does inside its batch
        if not commit:
            s.rollback()


def test_the_index_follows_the_database_through_a_rolled_back_batch(db: Database) -> None:
    rng = random.Random(9)
    first, lost, later = _pool(rng, 50), _pool(rng, 10), _pool(rng, 10)
    _store(db, first)
    _store(db, lost, commit=False)  # ids used, then rolled back (and reused by SQLite)
    _store(db, later)
    with db.session() as s:
        index = scene_index(s)
    wanted = first + later
    for sha, h in wanted[:20]:
        assert index.nearest(h, sha, SCENE_PDQ_MAX, NEAREST) == nearest(
            h, [(k, v) for k, v in wanted if k != sha]
        )
    held = {index.keys[i].tobytes().hex() for i in range(index.n) if index.live[i]}
    assert held == {sha for sha, _ in wanted}  # the rolled-back batch left the index

    # An item deleted and stored again with another scene: the new one counts.
    sha, _ = first[0]
    moved = _flip(later[0][1], 2, rng)
    with db.session() as s:
        s.execute(delete(Item).where(Item.sha256 == sha))
    _store(db, [(sha, moved)])
    with db.session() as s:
        near = scene_index(s).nearest(later[0][1], later[0][0], 10, 0)
    assert (sha, 2) in near


def test_a_crop_is_found_by_its_keypoint_words_where_its_pdq_is_lost_among_others() -> None:
    import importlib
    import sys
    from pathlib import Path

    from conftest import testdata

    from haechi.analyzers.faces import FacesAnalyzer
    from haechi.config import load_settings
    from haechi.matching.manipulation import MIN_SHARED_WORDS, WORD_NEAREST

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    em: Any = importlib.import_module("evaluate_manipulation")
    analyzer = FacesAnalyzer(load_settings(workers=1))
    original = em.load(testdata("faces", "img2.jpg"))
    fake = em.swap(original, em.load(testdata("faces", "img47.jpg")))
    o = analyzer.analyze(em.example_media(original)).scene
    c = analyzer.analyze(em.example_media(em.jpeg(em.crop(fake, 0.06), 85))).scene
    assert o is not None and c is not None
    rng = random.Random(3)
    index = SceneIndex()
    # 200 other scenes nearer the crop's masked PDQ than its original is, with random words.
    for n in range(200):
        words = tuple(np.array([rng.getrandbits(16) for _ in range(64)], np.uint16) for _ in (0, 1))
        index.add(rng.randbytes(32), _flip(c.masked_pdq, 30, rng), n + 1, words)  # type: ignore[arg-type]
    sha = "ab" * 32
    index.add(bytes.fromhex(sha), o.masked_pdq, 999, o.word_sets())
    by_pdq = index.nearest(c.masked_pdq, "x", SCENE_PDQ_MAX, NEAREST)
    assert sha not in {k for k, _ in by_pdq}
    found = index.nearest(
        c.masked_pdq, "x", SCENE_PDQ_MAX, NEAREST, c.word_sets(), MIN_SHARED_WORDS, WORD_NEAREST
    )
    assert sha in {k for k, _ in found}
    assert len(found) <= len(by_pdq) + WORD_NEAREST


def test_shared_words_through_postings_equal_a_direct_count() -> None:
    from haechi.analyzers.scene import shared_words

    rng = np.random.default_rng(11)
    index = SceneIndex()
    stored = []
    query = (
        rng.integers(0, 3000, 64).astype(np.uint16),
        rng.integers(0, 3000, 64).astype(np.uint16),
    )
    for n in range(9000):  # enough for the postings, and rows added after them
        if n == 6000:
            index._shared(query, index.n)  # posts the first 6,000
        k = int(rng.integers(0, 65))  # some scenes have few keypoints
        # Words from a small range, so that rows share many, with repeats inside a row.
        words = (
            rng.integers(0, 3000, k).astype(np.uint16),
            rng.integers(0, 3000, k).astype(np.uint16),
        )
        index.add(rng.bytes(32), "0" * 64, n + 1, words)
        stored.append(words)
    got = index._shared(query, index.n)
    assert 0 < index.posted < index.n  # both paths were used
    assert got.tolist() == [shared_words(query, w) for w in stored]
