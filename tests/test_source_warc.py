"""WARCs written by other tools: plain or gzipped, resource records, content-encoded bodies,
partial and truncated records. Each is read without unpacking anything to disk."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import select
from warc_files import write_warc

from haechi.config import Settings
from haechi.scan import scan_paths
from haechi.sources import load_registry
from haechi.store.db import Database
from haechi.store.models import Item, ItemError, Sighting


def test_registry_picks_the_warc_source_for_warc_files(tmp_path: Path, settings: Settings) -> None:
    for name in ("x.warc", "x.warc.gz"):
        (tmp_path / name).write_bytes(b"")
        assert load_registry().open(tmp_path / name, settings).kind == "warc"
    assert load_registry().open(tmp_path, settings).kind == "folder"


def test_plain_and_gzipped_warcs_give_the_same_items(
    tmp_path: Path, settings: Settings, db: Database
) -> None:
    pics = write_warc(tmp_path / "plain.warc", gz=False)
    write_warc(tmp_path / "packed.warc.gz", gz=True)
    plain, packed = scan_paths(db, settings, [tmp_path / "plain.warc", tmp_path / "packed.warc.gz"])
    # a.jpg, b (gzip-encoded), c.jpg (resource record), d.jpg; the 206 is refused by name.
    assert (plain.seen, plain.new_items, plain.errors) == (5, 4, 1)
    assert (packed.seen, packed.new_items, packed.known_items) == (5, 0, 4)
    with db.session() as s:
        urls = {(sg.source.locator.rsplit("/", 1)[1], sg.url) for sg in s.scalars(select(Sighting))}
        shas = set(s.scalars(select(Item.sha256)))
        problems = {e.reason for e in s.scalars(select(ItemError))}

    assert shas == {hashlib.sha256(p).hexdigest() for p in pics.values()}
    assert {u for _, u in urls} == {f"http://ex.org/{n}" for n in ("a.jpg", "b", "c.jpg", "d.jpg")}
    assert problems == {"http://ex.org/v.mp4: partial content (HTTP 206), not the whole file"}


def test_truncated_warc_keeps_what_came_before(
    tmp_path: Path, settings: Settings, db: Database
) -> None:
    whole = tmp_path / "whole.warc.gz"
    write_warc(whole, gz=True)
    cut = tmp_path / "cut.warc.gz"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) - 9000])  # the last record (d.jpg) loses its end
    (summary,) = scan_paths(db, settings, [cut])
    assert summary.new_items == 3  # a, b, c
    assert summary.errors >= 1
    with db.session() as s:
        reasons = [e.reason for e in s.scalars(select(ItemError))]
    assert any("unreadable" in r or "decode" in r or "truncated" in r.lower() for r in reasons), (
        reasons
    )
