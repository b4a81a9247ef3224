"""The vault's blob file format and its streaming, authenticating reader; the vault's errors.

Blob file format (version 1), all integers big-endian::

    header  = magic "HVB1" | version u8 | flags u8 (0) | chunk_size u32
              | plaintext_size u64 | key_id 8 bytes | blob_id 32 bytes (raw SHA-256)
    records = n_chunks x ( nonce 12 bytes | ciphertext | GCM tag 16 bytes )

``n_chunks = max(1, ceil(plaintext_size / chunk_size))``; every chunk except the
last holds exactly ``chunk_size`` plaintext bytes, so the exact file length is
known from the header and truncation / appended bytes are detected before any
decryption.  Each chunk is encrypted with a fresh random 96-bit nonce and the
associated data ``header || chunk_index u64 || final_flag u8``: the header (and
so the blob id, the size and the key id) is authenticated by every chunk, and
reordering, truncation at a chunk boundary, or moving a chunk/file to another
blob all fail authentication.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import BinaryIO, Final, Literal, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from haechi.errors import ConfigError, IntegrityError, NotFoundError, StoreError
from haechi.i18n import _

MAGIC: Final = b"HVB1"
FORMAT_VERSION: Final = 1
HEADER_STRUCT: Final = struct.Struct(">4sBBIQ8s32s")
HEADER_SIZE: Final = HEADER_STRUCT.size
NONCE_SIZE: Final = 12
TAG_SIZE: Final = 16
DEFAULT_CHUNK_SIZE: Final = 1 << 20
MAX_CHUNK_SIZE: Final = 64 << 20


class VaultError(StoreError):
    """The vault cannot be used (missing, damaged metadata, a source that changed)."""


class VaultKeyError(VaultError, ConfigError):
    """The key (file or passphrase) does not open this vault."""

    exit_code = ConfigError.exit_code


class InsecureKeyFileError(VaultKeyError):
    """The key file is accessible by group or others."""


class BlobNotFoundError(VaultError, NotFoundError):
    """No blob with this SHA-256 in the vault."""

    exit_code = NotFoundError.exit_code


class BlobIntegrityError(VaultError, IntegrityError):
    """A blob failed authentication or its plaintext hash does not match."""

    exit_code = IntegrityError.exit_code


class BlobMismatchError(VaultError):
    """The content offered is not the content asked for (it changed since it was hashed)."""


class ReadStream(Protocol):
    """What the vault reads plaintext from: a binary file, an archive entry, a stream."""

    def read(self, n: int = -1, /) -> bytes:
        """Up to `n` bytes (all that is left when -1); b"" only at the end."""
        ...

    def __enter__(self) -> ReadStream: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> object: ...


class Opener(Protocol):
    """Opens a fresh binary stream of the same content each time it is called."""

    def __call__(self) -> ReadStream: ...


@dataclass(frozen=True)
class BlobInfo:
    """A stored blob: the plaintext's SHA-256 (its address) and size in bytes."""

    sha256: str
    size: int


BlobProblemKind = Literal["missing", "malformed", "wrong_key", "swapped", "truncated", "altered"]


@dataclass(frozen=True)
class BlobProblem:
    """One thing wrong with a stored blob (``str()`` gives a readable sentence)."""

    sha256: str
    kind: BlobProblemKind
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class BlobHeader:
    """A parsed blob header; `raw` is the header's bytes as read, authenticated by every chunk."""

    chunk_size: int
    size: int
    key_id: bytes
    blob_id: bytes
    raw: bytes

    @property
    def n_chunks(self) -> int:
        """The number of encrypted chunks (at least one, even for an empty blob)."""
        return max(1, -(-self.size // self.chunk_size))

    @property
    def file_size(self) -> int:
        """The exact length in bytes the blob file must have, for truncation and appended bytes to
        show before decrypting."""
        return HEADER_SIZE + self.n_chunks * (NONCE_SIZE + TAG_SIZE) + self.size

    def chunk_len(self, index: int) -> int:
        """The plaintext length of chunk `index` (only the last may be shorter than chunk_size)."""
        return min(self.chunk_size, self.size - index * self.chunk_size)

    def aad(self, index: int) -> bytes:
        """The associated data chunk `index` is authenticated with: header, index and whether it is
        the last."""
        final = 1 if index == self.n_chunks - 1 else 0
        return self.raw + struct.pack(">QB", index, final)


class HeaderError(Exception):
    """A blob header is too short, not a vault blob, of another format version or implausible; the
    vault reports the blob as truncated or malformed."""


def parse_header(raw: bytes) -> BlobHeader:
    """The header of a blob file from its first HEADER_SIZE bytes; raises HeaderError with the
    reason when it is not one this version writes."""
    if len(raw) < HEADER_SIZE:
        raise HeaderError(
            _("truncated: file is only {n_raw} bytes, shorter than the header").format(
                n_raw=len(raw)
            )
        )
    magic, version, flags, chunk_size, size, key_id, blob_id = HEADER_STRUCT.unpack(raw)
    if magic != MAGIC:
        raise HeaderError(_("not a vault blob (bad magic)"))
    if version != FORMAT_VERSION or flags != 0:
        raise HeaderError(
            _("unsupported blob format version {version} / flags {flags}").format(
                version=version, flags=flags
            )
        )
    if not 0 < chunk_size <= MAX_CHUNK_SIZE:
        raise HeaderError(_("implausible chunk size {chunk_size}").format(chunk_size=chunk_size))
    return BlobHeader(chunk_size, size, key_id, blob_id, bytes(raw))


def read_full(fh: ReadStream | BinaryIO, n: int) -> bytes:
    """Read exactly `n` bytes, or fewer only at the end of the stream (a short read is not the
    end)."""
    parts: list[bytes] = []
    remaining = n
    while remaining > 0:
        b = fh.read(remaining)
        if not b:
            break
        parts.append(b)
        remaining -= len(b)
    return b"".join(parts)


class BlobReader:
    """Streaming reader of one blob's plaintext.

    Iterate for plaintext chunks, or call ``read(n)`` (file-like, so it works
    with ``shutil.copyfileobj``).  Every chunk is authenticated before it is
    returned; the total length is checked when the blob is opened, and the
    plaintext SHA-256 is checked when the last chunk has been read (a mismatch
    raises ``BlobIntegrityError``).  Only treat the output as verified once the
    whole blob has been consumed without an exception.
    """

    def __init__(self, fh: BinaryIO, header: BlobHeader, aead: AESGCM, sha256: str) -> None:
        self._fh = fh
        self._header = header
        self._aead = aead
        self.sha256 = sha256
        self.size = header.size
        self._gen = self._chunks()
        self._buf = b""
        self._done = False

    def _chunks(self) -> Generator[bytes, None, None]:
        h = hashlib.sha256()
        hdr = self._header
        for index in range(hdr.n_chunks):
            record = read_full(self._fh, NONCE_SIZE + hdr.chunk_len(index) + TAG_SIZE)
            try:
                plain = self._aead.decrypt(record[:NONCE_SIZE], record[NONCE_SIZE:], hdr.aad(index))
            except InvalidTag:
                raise BlobIntegrityError(
                    _("blob {sha256}: chunk {index} failed authentication (altered)").format(
                        sha256=self.sha256, index=index
                    )
                ) from None
            h.update(plain)
            yield plain
        if h.hexdigest() != self.sha256:
            raise BlobIntegrityError(
                _("blob {sha256}: plaintext SHA-256 does not match").format(sha256=self.sha256)
            )
        self._done = True

    def __iter__(self) -> Iterator[bytes]:
        if self._buf:
            yield self._buf
            self._buf = b""
        yield from self._gen

    def read(self, size: int = -1) -> bytes:
        """Up to `size` plaintext bytes (all the rest when negative), each chunk authenticated
        first; raises BlobIntegrityError for an altered chunk or, at the end, a wrong plaintext
        hash."""
        if size is None or size < 0:
            return b"".join(self)
        while len(self._buf) < size:
            nxt = next(self._gen, None)
            if nxt is None:
                break
            self._buf += nxt
        out, self._buf = self._buf[:size], self._buf[size:]
        return out

    def readable(self) -> bool:
        """Always True: a file-like reader for shutil.copyfileobj and the like."""
        return True

    @property
    def verified(self) -> bool:
        """True once every chunk was read and the plaintext hash matched."""
        return self._done

    def close(self) -> None:
        """Stop reading and close the blob file; what was not read is not verified."""
        self._gen.close()
        self._fh.close()

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
