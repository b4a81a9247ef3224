"""The finished items a scan skips are held as sorted 32-byte digests, and every worker maps the
same private file: exact membership whatever the digest's bytes, and a rescan that skips what
it should."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

from haechi.config import Settings
from haechi.scan.finished import FinishedItems
from haechi.scan.pool import WorkerPool


def _sha(n: int) -> str:
    return hashlib.sha256(str(n).encode()).hexdigest()


def test_membership_is_exact_for_every_kind_of_digest(tmp_path: Path) -> None:
    # Digests that end or begin in zero bytes are where a fixed-width byte array can go wrong.
    edge = ["00" * 32, "00" * 31 + "01", "01" + "00" * 31, "ff" * 32, "ab" * 16 + "00" * 16]
    stored = [_sha(n) for n in range(5_000)] + edge
    finished = FinishedItems.from_hex(stored + stored[:100])  # repeats merge
    assert len(finished) == len(stored)
    assert finished.nbytes == 32 * len(stored)
    assert all(sha in finished for sha in stored)
    absent = [_sha(n) for n in range(5_000, 10_000)] + [
        "00" * 30 + "0100",
        "ab" * 16 + "00" * 15 + "01",
    ]
    assert not any(sha in finished for sha in absent)
    assert "not hex" * 9 + "x" not in finished
    assert "ab" not in finished

    path = tmp_path / "finished.sha"
    finished.write(path)
    assert path.stat().st_size == 32 * len(stored)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    mapped = FinishedItems.load(path)
    assert all(sha in mapped for sha in stored)
    assert not any(sha in mapped for sha in absent)


def test_an_empty_set_writes_an_empty_file_and_holds_nothing(tmp_path: Path) -> None:
    path = tmp_path / "none.sha"
    FinishedItems.from_hex([]).write(path)
    assert path.stat().st_size == 0
    assert _sha(1) not in FinishedItems.load(path)


def test_the_pool_hands_the_set_to_its_workers_in_a_private_file_of_32_bytes_an_item(
    settings: Settings,
) -> None:
    pool = WorkerPool(settings)
    try:
        pool.set_complete(FinishedItems.from_hex(_sha(n) for n in range(1_000)))
        (handed,) = (settings.home_dir / "tmp").glob("finished-*.sha")
        assert handed.stat().st_size == 32_000
        assert stat.S_IMODE(handed.stat().st_mode) == 0o600
        assert _sha(999) in FinishedItems.load(handed)
    finally:
        pool.close()
    assert not list((settings.home_dir / "tmp").glob("finished-*"))
