"""Broken input to the command line (a damaged database, a full disk, malformed or misspelt
settings, a bad filter, a wrong vault key, read-only storage) gives a short error that names
the file or setting and the reason, a non-zero exit, and leaves stored data as it was."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import jpeg_bytes, noise_image, run, short_error
from storage_faults import listing, read_only_view, tmpfs

pytestmark = pytest.mark.sqlite_only


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A data directory holding one scanned item, and that item."""
    root = tmp_path_factory.mktemp("scanned")
    (root / "src").mkdir()
    (root / "src" / "a.jpg").write_bytes(jpeg_bytes(noise_image(21)))
    home = root / "home"
    run(home, "--workers", "1", "scan", str(root / "src"), "--no-progress")
    sha = json.loads(run(home, "items", "--json").stdout.splitlines()[0])["sha256"]
    return home, sha


def _copy(scanned: tuple[Path, str], to: Path) -> Path:
    shutil.copytree(scanned[0], to)
    return to


# -- the database ------------------------------------------------------------------------------


def test_a_garbage_database_is_named(tmp_path: Path) -> None:
    home = tmp_path / "h"
    home.mkdir(mode=0o700)
    (home / "haechi.db").write_bytes(os.urandom(8192))
    before = (home / "haechi.db").read_bytes()
    proc = run(home, "items", check=False)
    short_error(proc, str(home / "haechi.db"), "not a database")
    assert proc.returncode == 4
    assert (home / "haechi.db").read_bytes() == before


def test_a_truncated_database_is_named(scanned: tuple[Path, str], tmp_path: Path) -> None:
    home = _copy(scanned, tmp_path / "h")
    with (home / "haechi.db").open("r+b") as fh:
        fh.truncate(8192)
    short_error(run(home, "items", check=False), "haechi.db", "malformed")


def test_a_database_url_at_a_text_file(tmp_path: Path) -> None:
    text = tmp_path / "passwd"
    text.write_text("root:x:0:0:root:/root:/bin/bash\n" * 20)
    env = {"HAECHI_DATABASE_URL": f"sqlite:///{text}"}
    proc = run(tmp_path / "h", "items", check=False, env=env)
    short_error(proc, str(text), "not a database")
    assert text.read_text() == "root:x:0:0:root:/root:/bin/bash\n" * 20


def _more_pictures(folder: Path, n: int) -> Path:
    folder.mkdir()
    for i in range(n):
        (folder / f"{i}.jpg").write_bytes(jpeg_bytes(noise_image(100 + i, (640, 480))))
    return folder


@pytest.mark.slow
def test_a_full_disk_is_reported_and_nothing_is_lost(
    scanned: tuple[Path, str], tmp_path: Path
) -> None:
    more = _more_pictures(tmp_path / "more", 8)
    with tmpfs(tmp_path / "small", "1m") as disk:
        home = _copy(scanned, disk / "h")
        filler = disk / "filler"
        with filler.open("wb", buffering=0) as fh, contextlib.suppress(OSError):
            while True:
                fh.write(b"\0" * 4096)
        proc = run(home, "--workers", "1", "scan", str(more), "--no-progress", check=False)
        short_error(proc, "haechi.db", "full")
        filler.unlink()
        listed = run(home, "items", "--json").stdout.splitlines()
        assert [json.loads(x)["sha256"] for x in listed] == [scanned[1]]


@pytest.mark.slow
def test_a_file_size_limit_is_reported_and_nothing_is_lost(
    scanned: tuple[Path, str], tmp_path: Path
) -> None:
    home = _copy(scanned, tmp_path / "h")
    more = _more_pictures(tmp_path / "more", 8)
    limit = 16384  # the write-ahead log outgrows it with the first few items

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.run(
        [sys.executable, "-m", "haechi", "--home", str(home), "--workers", "1", "scan",
         str(more), "--no-progress"],
        capture_output=True, text=True, preexec_fn=small_files, timeout=300,
        # Python would write bytecode caches cut at the limit and break later imports.
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )  # fmt: skip
    short_error(proc, "haechi.db")
    assert "free some space" in proc.stderr
    listed = run(home, "items", "--json").stdout.splitlines()
    assert [json.loads(x)["sha256"] for x in listed] == [scanned[1]]


# -- settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "needle"),
    [
        ("HAECHI_CHAT_LEXICONS", "not json", "HAECHI_CHAT_LEXICONS"),
        ("HAECHI_LIMITS__DECODE_TIMEOUT_SECONDS", "inf", "HAECHI_LIMITS__DECODE_TIMEOUT_SECONDS"),
        ("HAECHI_THRESHOLDS__FACE_MIN_SIMILARITY", "nan", "HAECHI_THRESHOLDS__FACE_MIN_SIMILARITY"),
    ],
)
def test_malformed_settings_are_named(tmp_path: Path, name: str, value: str, needle: str) -> None:
    proc = run(tmp_path / "h", "items", check=False, env={name: value})
    short_error(proc, needle)
    assert proc.returncode == 2


def test_an_empty_home_is_refused(tmp_path: Path) -> None:
    env = {**os.environ, "HAECHI_HOME": ""}
    proc = subprocess.run(
        [sys.executable, "-m", "haechi", "items"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    short_error(proc, "HAECHI_HOME", "empty")
    assert list(tmp_path.iterdir()) == []  # no database made in the current directory


def test_a_misspelt_setting_is_warned_about(tmp_path: Path) -> None:
    proc = run(tmp_path / "h", "items", env={"HAECHI_CAPTURE__ALLOW_PRIVAT": "true"})
    assert "HAECHI_CAPTURE__ALLOW_PRIVAT is not a haechi setting" in proc.stderr
    assert "did you mean HAECHI_CAPTURE__ALLOW_PRIVATE?" in proc.stderr


def test_an_unknown_findings_status_is_refused(tmp_path: Path) -> None:
    proc = run(tmp_path / "h", "findings", "--status", "bogus", check=False)
    short_error(proc, "bogus", "use one of open, ")


# -- the vault ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_doctor_fails_on_a_wrong_or_missing_vault_key(tmp_path: Path) -> None:
    home = tmp_path / "h"
    run(home, "init")
    key = home / "keys" / "vault.key"
    key.write_text("00" * 32 + "\n")
    wrong = run(home, "doctor", check=False)
    assert wrong.returncode == 1
    assert "FAIL  evidence vault" in wrong.stdout and "does not match" in wrong.stdout
    key.unlink()
    missing = run(home, "doctor", check=False)
    assert "FAIL  evidence vault" in missing.stdout and "does not exist" in missing.stdout


def test_capture_removes_what_a_killed_capture_left(
    scanned: tuple[Path, str], tmp_path: Path
) -> None:
    import fcntl

    home = _copy(scanned, tmp_path / "h")
    run(home, "init")
    folder = home / "vault" / "ab" / "cd"
    folder.mkdir(parents=True)
    dead = folder / ".abcdabcdabcdabcd-x1.tmp"
    dead.write_bytes(b"\0" * 1_000_000)
    live = folder / ".abcdabcdabcdabcd-x2.tmp"
    live.write_bytes(b"\0" * 1000)
    hour_ago = time.time() - 3600
    for p in (dead, live):
        os.utime(p, (hour_ago, hour_ago))
    with live.open("rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # a capture still writing it, in another process
        run(home, "evidence", "capture", scanned[1])
    assert not dead.exists()
    assert live.exists()


# -- read-only storage -------------------------------------------------------------------------


@pytest.mark.slow
def test_reading_commands_work_on_read_only_storage(
    scanned: tuple[Path, str], tmp_path: Path
) -> None:
    home = _copy(scanned, tmp_path / "h")
    sha = scanned[1]
    run(home, "evidence", "capture", sha)
    before = listing(home)
    with read_only_view(home, tmp_path / "ro") as ro:
        for args in (
            ["items"],
            ["show", sha[:12]],
            ["findings"],
            ["rooms"],
            ["network"],
            ["persons"],
            ["evidence", "log"],
            ["evidence", "verify"],
        ):
            proc = run(ro, *args, check=False)
            assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
        assert sha in run(ro, "items", "--json").stdout
        assert "captured" in run(ro, "evidence", "log").stdout
        scan = run(ro, "--workers", "1", "scan", str(home), "--no-progress", check=False)
        assert scan.returncode != 0 and "Traceback" not in scan.stderr
        assert "read-only" in scan.stderr
    assert listing(home) == before
