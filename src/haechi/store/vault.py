"""The encrypted, content-addressed evidence vault. It must never write a byte of plaintext to
disk: not a blob, not a temporary file.

Blobs are addressed by the SHA-256 of their *plaintext* and stored encrypted
with AES-256-GCM under ``<vault_dir>/ab/cd/<sha256>.enc``.

The blob file format is in ``vault_format.py``; keys and passphrases in ``vault_keys.py``; the
metadata file in ``vault_meta.py``; atomic writes and staging in ``vault_files.py``; checking a
blob file in ``vault_check.py``.

Writing is two-pass: the plaintext is hashed first (the blob id goes into every
chunk's associated data and decides deduplication), then encrypted into a temp
file *in the destination directory* (ciphertext only), fsynced and atomically
``os.replace``d into place.  The second pass re-hashes and aborts if the source
changed in between.  ``stage_stream`` stops before the rename: capture logs the
blob first and only then moves it into place, so a blob file under its final
name always has a custody entry, and an interrupted capture leaves only a
``.tmp`` file, or one a later capture finishes (see ``haechi.store.vault_settle``).

The vault key also wraps the per-note keys of the custody log's free text
(``wrap_key``/``unwrap_key``, under a sub-key derived with HKDF so the two uses
never share a key).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from haechi.i18n import _
from haechi.private import private_dir
from haechi.store.vault_check import check_blob
from haechi.store.vault_files import StagedBlob, fsync_dir, try_lock
from haechi.store.vault_format import (
    DEFAULT_CHUNK_SIZE,
    FORMAT_VERSION,
    HEADER_SIZE,
    HEADER_STRUCT,
    MAGIC,
    NONCE_SIZE,
    BlobHeader,
    BlobInfo,
    BlobIntegrityError,
    BlobMismatchError,
    BlobNotFoundError,
    BlobProblem,
    BlobProblemKind,
    BlobReader,
    HeaderError,
    InsecureKeyFileError,
    Opener,
    ReadStream,
    VaultError,
    VaultKeyError,
    parse_header,
    read_full,
)
from haechi.store.vault_keys import (
    DEFAULT_SCRYPT_N,
    DEFAULT_SCRYPT_P,
    DEFAULT_SCRYPT_R,
    KEY_SIZE,
    KeyFile,
    KeySource,
    Passphrase,
    key_fingerprint,
)
from haechi.store.vault_meta import META_NAME, create_meta, read_meta

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "META_NAME",
    "BlobInfo",
    "BlobIntegrityError",
    "BlobMismatchError",
    "BlobNotFoundError",
    "BlobProblem",
    "BlobProblemKind",
    "BlobReader",
    "InsecureKeyFileError",
    "KeyFile",
    "KeySource",
    "Opener",
    "Passphrase",
    "ReadStream",
    "StagedBlob",
    "Vault",
    "VaultError",
    "VaultKeyError",
]

_SHA_RE: Final = re.compile(r"^[0-9a-f]{64}$")
_READ_SIZE: Final = 1 << 20


def _check_sha(sha256: str) -> str:
    if not isinstance(sha256, str) or not _SHA_RE.match(sha256):
        raise ValueError(f"not a lowercase hex SHA-256: {sha256!r}")
    return sha256


class Vault:
    """An encrypted, content-addressed blob store in one directory."""

    def __init__(self, root: Path, key: bytes, chunk_size: int) -> None:
        self.root = root
        self._aead = AESGCM(key)
        wrap_key = HKDF(SHA256(), KEY_SIZE, salt=None, info=b"haechi-vault note keys v1")
        self._wrap = AESGCM(wrap_key.derive(key))
        self.key_id = key_fingerprint(key)
        self.chunk_size = chunk_size

    def __repr__(self) -> str:
        return f"Vault({str(self.root)!r}, key_id={self.key_id.hex()})"

    # ------------------------------------------------------------------ setup
    @classmethod
    def init(
        cls,
        root: str | os.PathLike[str],
        key_source: KeySource,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        scrypt_n: int = DEFAULT_SCRYPT_N,
        scrypt_r: int = DEFAULT_SCRYPT_R,
        scrypt_p: int = DEFAULT_SCRYPT_P,
    ) -> Vault:
        """Create a new vault.

        With ``KeyFile`` a fresh random key is written to the file (mode 0600)
        unless the file already exists, in which case that key is reused (its
        permissions are checked).  Keep the key file *outside* the vault
        directory (e.g. on removable media), or the encryption protects nothing.
        """
        rootp = Path(root)
        key = create_meta(rootp, key_source, chunk_size, scrypt_n, scrypt_r, scrypt_p)
        return cls(rootp, key, chunk_size)

    @classmethod
    def open(cls, root: str | os.PathLike[str], key_source: KeySource) -> Vault:
        """Open an existing vault; raises ``VaultKeyError`` for a wrong key."""
        rootp = Path(root)
        key, chunk_size = read_meta(rootp, key_source)
        return cls(rootp, key, chunk_size)

    # ------------------------------------------------------------------ paths
    def path_for(self, sha256: str) -> Path:
        """Where the blob's file lives (whether or not it exists); ValueError for anything but a
        lowercase hex SHA-256, so no name can leave the vault."""
        _check_sha(sha256)
        return self.root / sha256[:2] / sha256[2:4] / f"{sha256}.enc"

    def has(self, sha256: str) -> bool:
        """Whether the blob's file is in place (not whether it is intact: see `verify_blob`)."""
        return self.path_for(sha256).is_file()

    def iter_blobs(self) -> Iterator[str]:
        """SHA-256 of every blob file present (by file name)."""
        for p in sorted(self.root.glob("??/??/*.enc")):
            if _SHA_RE.match(p.stem):
                yield p.stem

    def iter_temp_files(self) -> Iterator[Path]:
        """Unfinished writes (ciphertext only): ``.<sha prefix>-….tmp`` beside a blob's place."""
        yield from sorted(self.root.glob("??/??/.*.tmp"))

    # ------------------------------------------------------------------ write
    def put_file(self, path: str | os.PathLike[str]) -> BlobInfo:
        """Store a file (streamed); returns its SHA-256 and size. Deduplicated."""
        src = Path(path)
        return self.put_stream(lambda: src.open("rb"))

    def put_stream(self, opener: Opener, *, expect: str | None = None) -> BlobInfo:
        """Store content that `opener` can read twice (a file, an archive entry): once to
        hash it (the blob id goes into every chunk's associated data, and decides dedupe),
        once to encrypt it. Only ciphertext is written. With `expect`, content whose
        SHA-256 differs is refused before anything is written."""
        h = hashlib.sha256()
        size = 0
        with opener() as fh:
            while chunk := fh.read(_READ_SIZE):
                h.update(chunk)
                size += len(chunk)
        sha = h.hexdigest()
        if expect is not None and sha != expect:
            raise BlobMismatchError(
                _("content has SHA-256 {sha}, not {expect}").format(sha=sha, expect=expect)
            )
        if not self.has(sha):
            with opener() as fh:
                self._store(fh, sha, size)
        return BlobInfo(sha, size)

    def stage_stream(self, opener: Opener, *, expect: str) -> StagedBlob:
        """Like ``put_stream`` but leaves the ciphertext in a temp file until ``commit``."""
        final = self.path_for(expect)
        if final.is_file():
            return StagedBlob(BlobInfo(expect, final.stat().st_size), final, None)
        h = hashlib.sha256()
        size = 0
        with opener() as fh:
            while chunk := fh.read(_READ_SIZE):
                h.update(chunk)
                size += len(chunk)
        if h.hexdigest() != expect:
            raise BlobMismatchError(
                _("content has SHA-256 {hexdigest}, not {expect}").format(
                    hexdigest=h.hexdigest(), expect=expect
                )
            )
        with opener() as fh:
            tmp, lock = self._encrypt_to_temp(fh, expect, size)
        return StagedBlob(BlobInfo(expect, size), final, tmp, lock)

    def put_bytes(self, data: bytes) -> BlobInfo:
        """Store bytes already in memory; a blob the vault holds is not written again."""
        sha = hashlib.sha256(data).hexdigest()
        if not self.has(sha):
            self._store(io.BytesIO(data), sha, len(data))
        return BlobInfo(sha, len(data))

    def _store(self, src: ReadStream | BinaryIO, sha: str, size: int) -> None:
        tmp, lock = self._encrypt_to_temp(src, sha, size)
        final_path = self.path_for(sha)
        try:
            os.replace(tmp, final_path)  # noqa: PTH105
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        finally:
            os.close(lock)
        fsync_dir(final_path.parent)

    def _encrypt_to_temp(self, src: ReadStream | BinaryIO, sha: str, size: int) -> tuple[Path, int]:
        """The blob's ciphertext in a temp file beside its place, fsynced, and a descriptor
        that holds the file's lock until the caller closes it."""
        final_path = self.path_for(sha)
        private_dir(final_path.parent)  # both levels 0700, not only the last
        blob_id = bytes.fromhex(sha)
        raw = HEADER_STRUCT.pack(
            MAGIC, FORMAT_VERSION, 0, self.chunk_size, size, self.key_id, blob_id
        )
        header = BlobHeader(self.chunk_size, size, self.key_id, blob_id, raw)
        fd, tmp = tempfile.mkstemp(dir=final_path.parent, prefix=f".{sha[:16]}-", suffix=".tmp")
        # Held (through a duplicate descriptor: flock belongs to the open file, not to one
        # descriptor) until the file is renamed or this process dies, kill -9 included, so
        # `vault_settle` tells a dead writer's leftover from a live writer's file.
        try_lock(fd)
        lock = os.dup(fd)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(raw)
                h = hashlib.sha256()
                for index in range(header.n_chunks):
                    plain = read_full(src, header.chunk_len(index))
                    if len(plain) != header.chunk_len(index):
                        raise VaultError(_("source changed while being stored (it got shorter)"))
                    h.update(plain)
                    nonce = secrets.token_bytes(NONCE_SIZE)
                    out.write(nonce)
                    out.write(self._aead.encrypt(nonce, plain, header.aad(index)))
                if src.read(1) or h.hexdigest() != sha:
                    raise VaultError(_("source changed while being stored; nothing was stored"))
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            os.close(lock)
            raise
        return Path(tmp), lock

    # ------------------------------------------------------------------ read
    def open_blob(self, sha256: str, *, at: Path | None = None) -> BlobReader:
        """Stream a blob's plaintext (see ``BlobReader``); `at`: read it from that file (an
        unfinished write of it) instead of its place."""
        path = at if at is not None else self.path_for(sha256)
        try:
            fh: BinaryIO = path.open("rb")
        except FileNotFoundError:
            raise BlobNotFoundError(
                _("blob {sha256} is not in the vault").format(sha256=sha256)
            ) from None
        try:
            header = parse_header(read_full(fh, HEADER_SIZE))
            actual = os.fstat(fh.fileno()).st_size
            if header.blob_id.hex() != sha256:
                raise BlobIntegrityError(
                    _("blob {sha256}: file holds blob {hex} (swapped or misplaced)").format(
                        sha256=sha256, hex=header.blob_id.hex()
                    )
                )
            if header.key_id != self.key_id:
                raise BlobIntegrityError(
                    _("blob {sha256}: encrypted under another key (key id {hex})").format(
                        sha256=sha256, hex=header.key_id.hex()
                    )
                )
            if actual != header.file_size:
                raise BlobIntegrityError(
                    _("blob {sha256}: file is {actual} bytes, expected {file_size} ({how})").format(
                        sha256=sha256,
                        actual=actual,
                        file_size=header.file_size,
                        how=_("truncated")
                        if actual < header.file_size
                        else _("extra bytes appended"),
                    )
                )
        except HeaderError as exc:
            fh.close()
            raise BlobIntegrityError(
                _("blob {sha256}: {exc}").format(sha256=sha256, exc=exc)
            ) from None
        except BaseException:
            fh.close()
            raise
        return BlobReader(fh, header, self._aead, sha256)

    def read_bytes(self, sha256: str) -> bytes:
        """The whole decrypted blob in memory; for large ones stream with `open_blob`."""
        with self.open_blob(sha256) as r:
            return r.read()

    # ------------------------------------------------------------------ verify
    def verify_blob(self, sha256: str) -> list[BlobProblem]:
        """Fully decrypt and check one blob; returns the problems found (empty = intact)."""
        return self.check_file(self.path_for(sha256), sha256)

    def check_file(self, path: Path, sha256: str) -> list[BlobProblem]:
        """Fully decrypt and check the file at `path` as blob `sha256` (its place, or an
        unfinished write of it); the problems found (empty = intact)."""
        return check_blob(
            path, sha256, self.key_id, self._aead, lambda sha: self.open_blob(sha, at=path)
        )

    # ------------------------------------------------------------------ note keys
    def wrap_key(self, key: bytes, label: bytes) -> bytes:
        """Encrypt a small key under the vault key (sub-key); ``label`` is bound to it."""
        nonce = secrets.token_bytes(NONCE_SIZE)
        return nonce + self._wrap.encrypt(nonce, key, b"haechi-note-key v1\x00" + label)

    def unwrap_key(self, wrapped: bytes, label: bytes) -> bytes:
        """The key `wrap_key` wrapped under the same label, or VaultKeyError if it does not open."""
        try:
            return self._wrap.decrypt(
                wrapped[:NONCE_SIZE], wrapped[NONCE_SIZE:], b"haechi-note-key v1\x00" + label
            )
        except InvalidTag:
            raise VaultKeyError(
                _("a note key does not open with this vault key (other key, or altered)")
            ) from None

    # ------------------------------------------------------------------ delete
    def delete(self, sha256: str) -> bool:
        """Remove a blob file; returns False if it was not there."""
        path = self.path_for(sha256)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        fsync_dir(path.parent)
        return True
