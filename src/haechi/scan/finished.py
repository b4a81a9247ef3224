"""The items a scan need not analyse again (`FinishedItems`): every item of the database that has
every current analyzer's result. The set grows with the database, not with the source, so it is
held compactly: the SHA-256 digests, 32 bytes each, sorted in one array (a Python set of hex
strings costs ~5× that, and once more in every worker). Workers map the same file read-only, so
the page cache holds one copy for the whole process tree."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from haechi.private import private_file

_DIGEST = np.dtype("S32")
_CHUNK = 65_536  # digests converted at a time while the database streams them


class FinishedItems:
    """A sorted array of SHA-256 digests; `sha256 in finished` for a hex digest."""

    def __init__(self, digests: np.ndarray) -> None:
        self._digests = digests

    @classmethod
    def empty(cls) -> FinishedItems:
        """No item is finished (a first scan, or an engine told nothing)."""
        return cls(np.empty(0, dtype=_DIGEST))

    @classmethod
    def from_hex(cls, shas: Iterable[str]) -> FinishedItems:
        """Build from hex digests as the database streams them (repeats are merged); only the
        32-byte form is kept, a chunk at a time."""
        parts: list[np.ndarray] = []
        chunk = bytearray()
        for n, sha in enumerate(shas, 1):
            chunk += bytes.fromhex(sha)
            if n % _CHUNK == 0:
                parts.append(np.frombuffer(bytes(chunk), dtype=_DIGEST))
                chunk = bytearray()
        if chunk:
            parts.append(np.frombuffer(bytes(chunk), dtype=_DIGEST))
        if not parts:
            return cls.empty()
        digests = np.concatenate(parts)
        del parts
        # Sorted in place and repeats dropped with a mask: np.unique would hold three copies.
        digests.sort()
        repeat = np.zeros(len(digests), dtype=bool)
        np.equal(digests[1:], digests[:-1], out=repeat[1:])
        return cls(digests[~repeat] if repeat.any() else digests)

    @classmethod
    def load(cls, path: Path) -> FinishedItems:
        """Map a file `write` made, read-only (shared with every process that maps it)."""
        if path.stat().st_size == 0:
            return cls.empty()
        return cls(np.memmap(path, dtype=_DIGEST, mode="r"))

    def write(self, path: Path) -> None:
        """Write the digests to `path`, whole or not at all for a reader (private to the owner)."""
        part = path.with_suffix(".part")
        # Created 0600: the digests say which files a counsellor holds.
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(np.ascontiguousarray(self._digests).tobytes())
            f.flush()
            os.fsync(f.fileno())
        private_file(part).replace(path)

    def __contains__(self, sha256: object) -> bool:
        if not isinstance(sha256, str) or len(sha256) != 64 or not len(self._digests):
            return False
        try:
            key = np.array(bytes.fromhex(sha256), dtype=_DIGEST)
        except ValueError:
            return False
        i = int(np.searchsorted(self._digests, key))
        return i < len(self._digests) and bool(self._digests[i] == key)

    def __len__(self) -> int:
        return len(self._digests)

    @property
    def nbytes(self) -> int:
        """The bytes the digests take (32 per item)."""
        return int(self._digests.nbytes)
