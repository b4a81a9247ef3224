"""Cryptographic hashes of the bytes: identity (SHA-256) and the MD5 platforms and StopNCII use."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from haechi.analyzers.base import ContentAnalyzer, Example, Signal
from haechi.media import BytesContent, Content
from haechi.media.content import CHUNK


@dataclass(frozen=True)
class Hashes(Signal):
    """A file's SHA-256 (its identity in haechi), MD5 (what platforms and StopNCII exchange) and
    size in bytes."""

    sha256: str
    md5: str
    size: int


class HashesAnalyzer(ContentAnalyzer[Hashes]):
    """SHA-256 and MD5 of the raw bytes, read once in chunks; runs on every file, decodable or
    not."""

    name = "hashes"
    version = "1"
    signal_type = Hashes

    def analyze(self, item: Content) -> Hashes:
        """Both hashes and the size of the content, streamed (memory does not grow with the
        file)."""
        sha, md5, size = hashlib.sha256(), hashlib.md5(usedforsecurity=False), 0
        with item.open() as fh:
            while chunk := fh.read(CHUNK):
                sha.update(chunk)
                md5.update(chunk)
                size += len(chunk)
        return Hashes(sha256=sha.hexdigest(), md5=md5.hexdigest(), size=size)

    @classmethod
    def examples(cls) -> Iterable[Example[Content, Hashes]]:
        """The FIPS 180-2 and RFC 1321 test vectors for "abc"."""
        yield Example(
            BytesContent(b"abc", "abc.bin"),
            Hashes(
                sha256="ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                md5="900150983cd24fb0d6963f7d28e17f72",
                size=3,
            ),
        )
