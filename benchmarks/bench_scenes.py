"""The candidate search of "same scene, different face" against a database of many stored
scenes: the scene index (haechi.matching.scene_index) against reading every stored scene's
signal for each new picture, as the search did before (measured here, same database).

HAECHI_BENCH_SCENES=100000 (default) stored scenes; random face-masked PDQ hashes."""

from __future__ import annotations

import base64
import os
import secrets
import time
from pathlib import Path

from run import Result
from sqlalchemy import insert, select

from haechi.analyzers.faces import FacesAnalyzer
from haechi.analyzers.scene import Scene
from haechi.config import load_settings
from haechi.matching.manipulation import (
    MIN_SHARED_WORDS,
    NEAREST,
    SCENE_PDQ_MAX,
    WORD_NEAREST,
    nearest,
)
from haechi.matching.scene_index import scene_index
from haechi.store.db import Database
from haechi.store.models import Item, SignalRow

N = int(os.environ.get("HAECHI_BENCH_SCENES", "100000"))
QUERIES = 50


def _words() -> str:
    """2 x 64 random keypoint words, as a scene stores them."""
    return base64.b64encode(secrets.token_bytes(256)).decode("ascii")


def _every_scene(session, sha: str, masked: str) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    """The search before the index: every stored scene read for one new picture."""
    path = SignalRow.payload["scene"]["masked_pdq"].as_string()
    rows = session.execute(
        select(SignalRow.item_sha256, path).where(
            SignalRow.analyzer == FacesAnalyzer.name,
            SignalRow.version == FacesAnalyzer.version,
            SignalRow.item_sha256 != sha,
            path.is_not(None),
        )
    ).all()
    return nearest(masked, [(other, h) for other, h in rows if h])


def run(tmp: Path) -> list[Result]:
    db = Database(load_settings(home=tmp / "home"))
    with db.session() as s:
        shas = [secrets.token_hex(32) for _ in range(N)]
        s.execute(insert(Item), [{"sha256": h, "md5": "0" * 32, "size": 1} for h in shas])
        s.execute(
            insert(SignalRow),
            [
                {
                    "item_sha256": h,
                    "analyzer": FacesAnalyzer.name,
                    "version": FacesAnalyzer.version,
                    "payload": {"scene": {"masked_pdq": secrets.token_hex(32), "words": _words()}},
                }
                for h in shas
            ],
        )
    queries = [secrets.token_hex(32) for _ in range(QUERIES)]
    query_words = Scene.words_of(_words())
    with db.session() as s:
        started = time.perf_counter()
        before = [_every_scene(s, "new", q) for q in queries[:5]]
        old = (time.perf_counter() - started) / 5
        started = time.perf_counter()
        scene_index(s)
        build = time.perf_counter() - started
        started = time.perf_counter()
        now = [scene_index(s).nearest(q, "new", SCENE_PDQ_MAX, NEAREST) for q in queries]
        new = (time.perf_counter() - started) / QUERIES
        started = time.perf_counter()
        index = scene_index(s)
        index.nearest(queries[0], "new", SCENE_PDQ_MAX, NEAREST, query_words, MIN_SHARED_WORDS, 1)
        posting = time.perf_counter() - started  # the words' postings, built once
        started = time.perf_counter()
        for q in queries:
            scene_index(s).nearest(
                q, "new", SCENE_PDQ_MAX, NEAREST, query_words, MIN_SHARED_WORDS, WORD_NEAREST
            )
        with_words = (time.perf_counter() - started) / QUERIES
    assert now[:5] == before, "the index must pick what the full comparison picks"
    db.close()
    return [
        Result(
            f"candidate search, {N:,} stored scenes, per new picture",
            new * 1000,
            "ms",
            "every stored scene read",
            old * 1000,
            higher_is_better=False,
        ),
        Result(
            f"the same with the keypoint words (crops), {N:,} scenes",
            with_words * 1000,
            "ms",
            "every stored scene read",
            old * 1000,
            higher_is_better=False,
        ),
        Result(f"scene index first build, {N:,} scenes", build, "s"),
        Result(f"keypoint-word postings built, {N:,} scenes", posting, "s"),
    ]
