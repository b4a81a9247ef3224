"""Keeping what haechi writes private to the user who runs it.

The data directory holds consent texts, face templates, chats, captured pages and the vault
key; an export with --plain-media holds the pictures themselves. None of it may be readable
by another account on the same machine, whatever umask the caller has. So the CLI narrows the
umask at start (`restrict_umask`), and the places that create files also set the mode
themselves (`private_dir`, `private_file`), which covers haechi used as a library and files
that libraries (SQLite, faiss, warcio, reportlab) create with their own defaults.

This module never loosens a mode and never touches anything outside the paths it is given."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

PRIVATE_UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600
_POSIX = os.name == "posix"


def restrict_umask() -> None:
    """New files and folders of this process (and its workers) get no group/other bits."""
    if _POSIX:
        os.umask(PRIVATE_UMASK)


def private_dir(path: Path) -> Path:
    """Make `path`, and each missing parent, a folder only its owner can enter. An existing
    folder is left as it is: `exposure_warning` tells its owner, who decides."""
    if path.is_dir():
        return path
    if not path.parent.exists():
        private_dir(path.parent)
    try:
        # Path.mkdir(parents=True) would give the parents the umask's mode, not this one.
        path.mkdir(mode=DIR_MODE)
    except FileExistsError:
        if not path.is_dir():
            raise
    return path


def private_file(path: Path) -> Path:
    """Narrow a file that something else created (a library, an older haechi) to 0600."""
    _narrow(path, FILE_MODE)
    return path


def private_tree(root: Path) -> None:
    """Narrow a folder and everything in it (an export built before it is moved in place)."""
    _narrow(root, DIR_MODE)
    for p in root.rglob("*"):
        if p.is_symlink():
            continue
        _narrow(p, DIR_MODE if p.is_dir() else FILE_MODE)


def create_private(path: Path) -> int:
    """Create `path` exclusively with mode 0600 and return its descriptor (for writing)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    _fchmod(fd)
    return fd


def _fchmod(fd: int) -> None:
    if _POSIX:
        os.fchmod(fd, FILE_MODE)


def _narrow(path: Path, mode: int) -> None:
    if not _POSIX:
        return
    try:
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode) or st.st_uid != os.getuid():
            return  # not ours to change (a shared parent, a link to elsewhere)
        if st.st_mode & 0o077:
            path.chmod(stat.S_IMODE(st.st_mode) & mode)
    except OSError:
        pass  # read-only media: reading still works; `exposed` reports what stays open


def exposed(root: Path, *, deep: bool) -> Iterator[Path]:
    """Paths under `root` (itself included) that another account could read or enter.
    Shallow: the folder, its direct entries and the key folder, which is cheap enough for
    every command; deep (doctor): everything."""
    if not _POSIX or not root.exists():
        return
    paths: Iterator[Path]
    if deep:
        paths = root.rglob("*")
    else:
        keys = root / "keys"
        paths = iter([*root.iterdir(), *(keys.iterdir() if keys.is_dir() else [])])
    for p in [root, *paths]:
        try:
            st = p.lstat()
        except OSError:
            continue
        if not stat.S_ISLNK(st.st_mode) and st.st_mode & 0o077:
            yield p


def exposure_warning(root: Path, *, deep: bool = False) -> str | None:
    """One line naming what is open to other accounts and the command that closes it."""
    found = list(exposed(root, deep=deep))
    if not found:
        return None
    first = found[0]
    mode = stat.S_IMODE(first.lstat().st_mode)
    more = f" and {len(found) - 1} more" if len(found) > 1 else ""
    return (
        f"{first} (mode {mode:04o}){more} can be read by other users of this machine; "
        f"fix it with: chmod -R go-rwx '{root}'"
    )
