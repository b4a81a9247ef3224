"""Crash trials: a scan killed (SIGKILL) just after a committed batch, at points drawn at
random, then resumed, stores exactly what an uninterrupted scan stores: nothing lost, nothing
twice. The kill comes from a failpoint (HAECHI_FAILPOINT=after_batch:N), not from a timer, so
each trial stops at the same place on any machine."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from conftest import database_for, haechi
from scan_corpus import corpus, state

pytestmark = pytest.mark.slow  # a dozen CLI scans


def test_a_scan_killed_after_any_batch_resumes_to_the_same_database(tmp_path: Path) -> None:
    pictures, export = corpus(tmp_path / "data")
    env = {"HAECHI_ANALYZERS": '["pdq"]'}
    scan = ["--workers", "1", "scan", "--no-progress", str(pictures), str(export)]
    # Each data directory with a database of its own (on PostgreSQL too).
    database_for(tmp_path / "whole")
    report = tmp_path / "whole.ms"  # counted as after_ms counts: from the end of the imports
    haechi(tmp_path / "whole", *scan, env={**env, "HAECHI_FAILPOINT": f"measure_ms:{report}"})
    whole_ms = max(1, int(report.read_text()))
    whole = state(tmp_path / "whole")
    assert whole["messages"] > 2000 and len(whole["sightings"]) == 91

    # The uninterrupted scan commits about 9 batches; kill after some of them, drawn at
    # random (4 here); `make trials` (HAECHI_TRIALS=20) kills after each of 8, then at 12
    # moments drawn at random over the whole run.
    trials = int(os.environ.get("HAECHI_TRIALS", "4"))
    rng = random.Random(19)
    points = [f"after_batch:{n}" for n in sorted(rng.sample(range(1, 9), min(trials, 8)))]
    points += [f"after_ms:{rng.randrange(0, whole_ms)}" for _ in range(trials - len(points))]
    for n, point in enumerate(points):
        home = tmp_path / f"killed-{n}"
        database_for(home)
        killed = haechi(home, *scan, env={**env, "HAECHI_FAILPOINT": point}, check=False)
        if point.startswith("after_batch"):
            assert killed.returncode == -9, killed.stderr  # SIGKILL, at the failpoint
        haechi(home, *scan, env=env)  # the same command again
        got = state(home)
        assert got == whole, f"killed at {point}"
        assert got["messages"] == got["distinct_messages"]  # nothing stored twice
