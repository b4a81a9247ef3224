"""Where a file's bytes come from: a path inside a trusted root, or bytes already in memory
(an archive entry, a downloaded attachment). Analyzers read through this, never by path."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

CHUNK = 1 << 20


class Content(Protocol):
    """A readable blob with a human-facing name (used in every error message)."""

    @property
    def name(self) -> str:
        """What messages call the file (a relative path, a Telegram locator); its suffix never
        overrides what the bytes say the file is."""

    @property
    def size(self) -> int:
        """The length in bytes, read without opening the blob."""

    def open(self) -> BinaryIO:
        """A fresh binary stream from the first byte; the caller closes it."""


@dataclass(frozen=True)
class FileContent:
    """A file on disk, read afresh on each `open`; `name` is what messages show instead of
    the full path."""

    path: Path
    name: str

    @property
    def size(self) -> int:
        """The file's size now (a stat each time: it may have changed since it was listed)."""
        return self.path.stat().st_size

    def open(self) -> BinaryIO:
        """The file opened for reading; OSError when it has gone or cannot be read."""
        return self.path.open("rb")


@dataclass(frozen=True)
class BytesContent:
    """Bytes already in memory (an archive entry, a download, an upload); left out of the repr,
    which would otherwise print the whole picture."""

    data: bytes = field(repr=False)
    name: str

    @property
    def size(self) -> int:
        """The number of bytes held."""
        return len(self.data)

    def open(self) -> BinaryIO:
        """A new stream over the bytes; each caller reads from the start."""
        return io.BytesIO(self.data)


def read_head(content: Content, n: int = 64) -> bytes:
    """The first `n` bytes (fewer for a shorter file): what sniffing reads instead of the
    name."""
    with content.open() as fh:
        return fh.read(n)
