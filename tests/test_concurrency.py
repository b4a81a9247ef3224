"""Two scans of one data directory at once (the same folder twice, and two folders that share
files): whatever order their batches commit in, the database ends as one scan of everything
would leave it: every item, sighting, signal and message once. On SQLite (one writer at a
time, the other waits) and, with HAECHI_TEST_POSTGRES, on PostgreSQL (row upserts)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import haechi
from scan_corpus import corpus, state

pytestmark = pytest.mark.slow  # four CLI scans

ENV = {"HAECHI_ANALYZERS": '["pdq"]'}


def _start(home: Path, *paths: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "haechi",
            "--home",
            str(home),
            "--workers",
            "1",
            "scan",
            "--no-progress",
            *map(str, paths),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **ENV},
    )


@pytest.mark.parametrize("fresh", [False, True], ids=["initialised", "fresh"])
def test_two_scans_at_once_store_what_one_scan_stores(tmp_path: Path, fresh: bool) -> None:
    """`fresh`: neither the data directory nor its database exists; both scans create them."""
    pictures, export = corpus(tmp_path / "data")
    # A second folder sharing half the pictures: the same items reached by both scans.
    other = tmp_path / "data" / "other"
    other.mkdir()
    for p in sorted(pictures.iterdir())[:45]:
        shutil.copy(p, other / p.name)
    haechi(
        tmp_path / "one",
        "--workers",
        "1",
        "scan",
        "--no-progress",
        str(pictures),
        str(export),
        str(other),
        env=ENV,
    )
    want = state(tmp_path / "one")

    home = tmp_path / "two"
    if not fresh:
        haechi(home, "init")
    first = _start(home, pictures, export)
    second = _start(home, export, other, pictures)
    for proc in (first, second):
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, out + err
    got = state(home)
    assert got == want
    assert got["messages"] == got["distinct_messages"]  # no message stored twice
