"""A full disk and read-only storage under the evidence commands (tests/test_errors.py covers
a scan): an evidence capture into a full vault, an export to a full disk, and every writing
command on a write-blocked copy give one clear line and change nothing; once there is space,
the same command finishes, each item preserved and logged once, the chain intact."""

from __future__ import annotations

import contextlib
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from conftest import haechi, jpeg_bytes, noise_image, short_error, testdata
from storage_faults import listing, read_only_view, tmpfs

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]  # tmpfs and bind mounts of SQLite files


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A data directory with 12 large scanned pictures (~150 KB each), none preserved yet."""
    root = tmp_path_factory.mktemp("full")
    (root / "src").mkdir()
    for i in range(12):
        (root / "src" / f"{i}.jpg").write_bytes(jpeg_bytes(noise_image(200 + i, (1280, 960))))
    home = root / "home"
    haechi(home, "init")
    haechi(home, "--workers", "1", "scan", str(root / "src"), "--no-progress")
    lines = haechi(home, "items", "--json").stdout.splitlines()
    return home, sorted(json.loads(x)["sha256"] for x in lines)


def _fill(disk: Path, leave: int) -> Path:
    """Fill `disk` but for about `leave` bytes."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as fh, contextlib.suppress(OSError):
        while True:
            fh.write(b"\0" * 4096)
    with filler.open("r+b") as fh:
        fh.truncate(max(0, filler.stat().st_size - leave))
    return filler


def _verified(home: Path) -> None:
    proc = haechi(home, "evidence", "verify", "--json", check=False)
    assert proc.returncode == 0 and json.loads(proc.stdout)["ok"], proc.stdout + proc.stderr


def _captured(home: Path) -> Counter[str]:
    log = haechi(home, "evidence", "log", "--json").stdout.splitlines()
    return Counter(e["object"] for e in map(json.loads, log) if e["action"] == "captured")


def test_a_capture_into_a_full_disk_is_reported_and_resumes(
    scanned: tuple[Path, list[str]], tmp_path: Path
) -> None:
    base, shas = scanned
    with tmpfs(tmp_path / "small", "8m") as disk:
        home = disk / "h"
        shutil.copytree(base, home)
        filler = _fill(disk, 600_000)  # room for a few of the 12 copies, not all
        proc = haechi(home, "evidence", "capture", *shas, check=False)
        short_error(proc, "full", "free some space")
        filler.unlink()
        _verified(home)  # what was preserved before the disk filled is whole and logged
        assert len(_captured(home)) < len(shas)
        haechi(home, "evidence", "capture", *shas)
        _verified(home)
        counts = _captured(home)
        assert set(counts) == {f"item:{s}" for s in shas} and set(counts.values()) == {1}


def test_an_export_to_a_full_disk_leaves_no_package(
    scanned: tuple[Path, list[str]], tmp_path: Path
) -> None:
    base, shas = scanned
    home = tmp_path / "h"
    shutil.copytree(base, home)
    haechi(home, "evidence", "capture", *shas)
    with tmpfs(tmp_path / "usb", "16m") as usb:
        filler = _fill(usb, 600_000)
        for name in ("pkg", "pkg.zip"):
            proc = haechi(
                home, "evidence", "export", *shas, "--to", str(usb / name), "--plain-media",
                check=False,
            )  # fmt: skip
            short_error(proc, "full", "free some space")
            assert sorted(p.name for p in usb.iterdir()) == ["filler"]  # not even a .partial
        log = haechi(home, "evidence", "log", "--json").stdout
        assert '"exported"' not in log
        _verified(home)
        filler.unlink()
        haechi(home, "evidence", "export", *shas, "--to", str(usb / "pkg"), "--plain-media")
        assert (usb / "pkg" / "SHA256SUMS").is_file()


@pytest.mark.parametrize(
    "args",
    [
        ["evidence", "capture", "{other}"],
        ["evidence", "shared", "{sha}", "--with", "police"],
        ["enrol", "--alias", "p2", "--consent", "match faces", "{face}"],
        ["forget", "p1", "--yes"],
    ],
    ids=["capture", "shared", "enrol", "forget"],
)
def test_writing_commands_on_read_only_storage_say_so_and_change_nothing(
    scanned: tuple[Path, list[str]], tmp_path: Path, args: list[str]
) -> None:
    base, shas = scanned
    home = tmp_path / "h"
    shutil.copytree(base, home)
    haechi(home, "evidence", "capture", shas[0])
    haechi(
        home,
        "enrol",
        "--alias",
        "p1",
        "--consent",
        "match faces",
        str(testdata("faces", "img1.jpg")),
    )
    before = listing(home)
    face = str(testdata("faces", "img2.jpg"))
    with read_only_view(home, tmp_path / "ro") as ro:
        argv = [a.format(sha=shas[0], other=shas[1], face=face) for a in args]
        proc = haechi(ro, *argv, check=False)
        short_error(proc, "read-only")
    assert listing(home) == before
    _verified(home)
