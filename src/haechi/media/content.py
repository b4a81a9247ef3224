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
    def name(self) -> str: ...

    @property
    def size(self) -> int: ...

    def open(self) -> BinaryIO: ...


@dataclass(frozen=True)
class FileContent:
    path: Path
    name: str

    @property
    def size(self) -> int:
        return self.path.stat().st_size

    def open(self) -> BinaryIO:
        return self.path.open("rb")


@dataclass(frozen=True)
class BytesContent:
    data: bytes = field(repr=False)
    name: str

    @property
    def size(self) -> int:
        return len(self.data)

    def open(self) -> BinaryIO:
        return io.BytesIO(self.data)


def read_head(content: Content, n: int = 64) -> bytes:
    with content.open() as fh:
        return fh.read(n)
