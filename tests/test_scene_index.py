"""The in-memory index of stored scenes gives the same candidates as comparing with every stored
scene, and keeps up with the database: new rows, rows a rolled-back batch left behind, rows of
an item stored again."""

from __future__ import annotations

import random
from typing import Any

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
