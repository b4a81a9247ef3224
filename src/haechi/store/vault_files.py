"""Files on disk for the vault: atomic, durable writes, advisory locks on unfinished ones,
and a staged blob waiting beside its final place."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from haechi.store.vault_format import (
    BlobInfo,
)


def try_lock(fd: int) -> bool:
    """An exclusive advisory lock on `fd` if nobody else holds one. Without flock (Windows)
    every file counts as unlocked and only its age protects it."""
    try:
        import fcntl
    except ImportError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def fsync_dir(path: Path) -> None:
    """Make a rename in the directory durable (POSIX only; elsewhere a no-op)."""
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Write the file under a temporary name, fsync, then rename: a reader sees the old file or the
    new one, never half of it."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)  # noqa: PTH105  (tmp is a str from mkstemp)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


@dataclass
class StagedBlob:
    """A blob encrypted into a temp file beside its final place, not yet in the vault.
    ``commit`` moves it into place; ``discard`` removes it. ``tmp`` is None when the vault
    already held the blob (nothing to do either way). ``lock`` is a descriptor holding the
    file's advisory lock until then, so that no other process takes it for a dead writer's."""

    info: BlobInfo
    final: Path
    tmp: Path | None
    lock: int | None = None

    def commit(self) -> None:
        """Move the blob into its place, durably; a second call does nothing."""
        if self.tmp is None:
            return
        os.replace(self.tmp, self.final)  # noqa: PTH105
        self.tmp = None
        fsync_dir(self.final.parent)
        self._unlock()

    def discard(self) -> None:
        """Remove the unfinished file; safe to call after `commit`."""
        if self.tmp is not None:
            self.tmp.unlink(missing_ok=True)
            self.tmp = None
        self._unlock()

    def _unlock(self) -> None:
        if self.lock is not None:
            os.close(self.lock)
            self.lock = None
