"""What killed writers leave in the vault: ``.<sha prefix>-….tmp`` files of ciphertext.

Capture logs a blob first and moves its file into place after the commit, so a capture killed
between the two leaves the only copy of a *recorded* blob under its temporary name. That copy
is finished (checked in full, then moved into place); every other leftover is deleted. A file
a live writer still holds (its lock) or wrote after this process started is left alone."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from haechi.store.vault_files import fsync_dir, try_lock

if TYPE_CHECKING:
    from haechi.store.vault import Vault

# The 16 hex digits after the dot name the blob the file was written for (see _encrypt_to_temp).
PREFIX_LEN = 16


@dataclass(frozen=True)
class Settled:
    """What one sweep did: the recorded blobs moved into place, and the leftovers deleted."""

    finished: tuple[str, ...]
    removed: int


def pending_copy(vault: Vault, sha256: str) -> Path | None:
    """An intact unfinished write of this blob beside its place (it decrypts and hashes to
    `sha256` under this vault's key), or None."""
    final = vault.path_for(sha256)
    for p in sorted(final.parent.glob(f".{sha256[:PREFIX_LEN]}-*.tmp")):
        if not vault.check_file(p, sha256):
            return p
    return None


def settle_temp_files(
    vault: Vault, older_than: float, recorded: Callable[[str], list[str]]
) -> Settled:
    """Finish or delete the ``.tmp`` files of dead writers. `recorded(prefix)`: the SHA-256 of
    every blob the custody log records whose name starts with that prefix."""
    finished: list[str] = []
    removed = 0
    for p in sorted(vault.root.glob("??/??/.*.tmp")):
        try:
            if p.stat().st_mtime >= older_than:
                continue  # a writer that has created it but not yet locked it
            fd = os.open(p, os.O_RDONLY)
        except OSError:
            continue
        try:
            if not try_lock(fd):
                continue  # a capture running now
            sha = _recorded_blob(vault, p, recorded)
            if sha is not None:
                final = vault.path_for(sha)
                os.replace(p, final)  # noqa: PTH105
                fsync_dir(final.parent)
                finished.append(sha)
            else:
                p.unlink(missing_ok=True)
                removed += 1
        finally:
            os.close(fd)
    return Settled(tuple(finished), removed)


def _recorded_blob(vault: Vault, p: Path, recorded: Callable[[str], list[str]]) -> str | None:
    """The recorded, missing blob this leftover is an intact copy of, if any."""
    prefix = p.name[1 : 1 + PREFIX_LEN]
    if len(prefix) != PREFIX_LEN or p.name[1 + PREFIX_LEN : 2 + PREFIX_LEN] != "-":
        return None
    for sha in recorded(prefix):
        beside = p.parent == vault.path_for(sha).parent
        if beside and not vault.has(sha) and not vault.check_file(p, sha):
            return sha
    return None
