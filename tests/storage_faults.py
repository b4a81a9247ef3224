"""Storage that fails under the CLI, for the tests of a full disk and read-only media: a small
tmpfs to fill, a write-blocked view of a folder, and a listing that shows whether anything in a
folder changed."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def tmpfs(at: Path, size: str) -> Iterator[Path]:
    """A small disk of `size` (a tmpfs mount, "1m", "8m") at `at`, for as long as the block
    runs; skips the test where it cannot mount (not root)."""
    at.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(at)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        yield at
    finally:
        subprocess.run(["umount", "-l", str(at)], check=False)


@contextlib.contextmanager
def read_only_view(folder: Path, at: Path) -> Iterator[Path]:
    """`folder` as write-blocked media show it: a read-only bind mount (root), or a copy
    without write permission (anyone else)."""
    if os.geteuid() != 0:
        shutil.copytree(folder, at)
        subprocess.run(["chmod", "-R", "a-w", str(at)], check=True)
        try:
            yield at
        finally:
            subprocess.run(["chmod", "-R", "u+w", str(at)], check=True)
        return
    at.mkdir()
    bound = subprocess.run(["mount", "--bind", str(folder), str(at)], capture_output=True)
    if bound.returncode != 0:
        pytest.skip("cannot make a read-only mount here")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(at)], check=True)
        yield at
    finally:
        subprocess.run(["umount", "-l", str(at)], check=False)


def listing(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under `folder` with its size and modification time: equal listings
    mean nothing was written."""
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
    }
