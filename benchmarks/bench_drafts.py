"""Takedown drafting: drafts/s (one request in one language: its .txt, summary and .eml, with the
database rows and custody entries behind them) for a case with many captured locations,
against writing the same bytes to the same number of files (fsync included) in the same run.

HAECHI_BENCH_DRAFTS sets the number of locations (default 50; seven languages each)."""

from __future__ import annotations

import hashlib
import os
import time
from datetime import UTC, datetime
from pathlib import Path

from run import Result

from haechi.config import load_settings
from haechi.services.cases import open_case
from haechi.services.drafts import draft
from haechi.store.cases import CaseItem
from haechi.store.db import Database
from haechi.store.models import Item, Sighting, Source
from haechi.takedown.files import _write
from haechi.takedown.templates import LANGUAGES

N = int(os.environ.get("HAECHI_BENCH_DRAFTS", "50"))


def _case(db: Database) -> int:
    """A case whose N items were each captured at its own URL on a different service."""
    hosts = ["t.me", "x.com", "www.reddit.com", "cafe.naver.com", "files.example.org"]
    case = open_case(db, "bench", title="bench")
    with db.session() as s:
        src = Source(kind="warc", locator="/bench.warc.gz", name="bench")
        s.add(src)
        s.flush()
        for i in range(N):
            sha = hashlib.sha256(f"item {i}".encode()).hexdigest()
            s.add(Item(sha256=sha, md5=sha[:32], size=1000 + i, kind="image"))
            s.add(
                Sighting(
                    item_sha256=sha,
                    source_id=src.id,
                    locator=f"record-{i}",
                    url=f"https://{hosts[i % len(hosts)]}/post/{i}.jpg",
                    seen_at=datetime.now(UTC),
                )
            )
        s.flush()  # the items before the case rows that point at them
        for i in range(N):
            sha = hashlib.sha256(f"item {i}".encode()).hexdigest()
            s.add(CaseItem(case_id=case.id, item_sha256=sha, added_by="bench"))
    return case.id


def run(tmp: Path) -> list[Result]:
    tmp.mkdir(parents=True)
    settings = load_settings(home=tmp / "home", workers=1)
    db = Database(settings)
    try:
        case_id = _case(db)
        t = time.perf_counter()
        report = draft(db, settings, case_id, LANGUAGES, "bench")
        took = time.perf_counter() - t
    finally:
        db.close()
    assert len(report.drafted) == N, len(report.drafted)
    drafts = N * len(LANGUAGES)
    # The baseline: the same files, already made, written again (no rendering, no database).
    files = [p for r in report.drafted for p in sorted(r.folder.iterdir())]
    blobs = [p.read_bytes() for p in files]
    out = tmp / "plain"
    out.mkdir()
    t = time.perf_counter()
    for i, data in enumerate(blobs):
        _write(out / f"{i}", data)
    plain = time.perf_counter() - t
    per_draft = len(files) / drafts
    return [
        Result(
            f"takedown drafts ({N} requests × {len(LANGUAGES)} languages)",
            drafts / took,
            "drafts/s",
            "same bytes written",
            drafts / plain,
        ),
        Result(
            "takedown requests (all seven languages)",
            N / took,
            "requests/s",
            "same bytes written",
            N / plain,
        ),
        Result("files per draft", per_draft, "files"),
    ]
