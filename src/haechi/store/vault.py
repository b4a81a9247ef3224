"""The encrypted, content-addressed evidence vault. It must never write a byte of plaintext to
disk: not a blob, not a temporary file.

Blobs are addressed by the SHA-256 of their *plaintext* and stored encrypted
with AES-256-GCM under ``<vault_dir>/ab/cd/<sha256>.enc``.

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

Writing is two-pass: the plaintext is hashed first (the blob id goes into every
chunk's associated data and decides deduplication), then encrypted into a temp
file *in the destination directory* (ciphertext only), fsynced and atomically
``os.replace``d into place.  The second pass re-hashes and aborts if the source
changed in between.  ``stage_stream`` stops before the rename: capture logs the
blob first and only then moves it into place, so a blob file under its final
name always has a custody entry, and an interrupted capture leaves only a
``.tmp`` file (see ``haechi.evidence.verify``).

The vault key also wraps the per-note keys of the custody log's free text
(``wrap_key``/``unwrap_key``, under a sub-key derived with HKDF so the two uses
never share a key).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import secrets
import stat
import struct
import tempfile
import unicodedata
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Final, Literal, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from haechi.errors import ConfigError, IntegrityError, NotFoundError, StoreError
from haechi.private import private_dir

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "BlobInfo",
    "BlobIntegrityError",
    "BlobMismatchError",
    "BlobNotFoundError",
    "BlobProblem",
    "BlobReader",
    "InsecureKeyFileError",
    "KeyFile",
    "KeySource",
    "Passphrase",
    "StagedBlob",
    "Vault",
    "VaultError",
    "VaultKeyError",
]

MAGIC: Final = b"HVB1"
FORMAT_VERSION: Final = 1
_HEADER: Final = struct.Struct(">4sBBIQ8s32s")
HEADER_SIZE: Final = _HEADER.size
NONCE_SIZE: Final = 12
TAG_SIZE: Final = 16
DEFAULT_CHUNK_SIZE: Final = 1 << 20
MAX_CHUNK_SIZE: Final = 64 << 20
META_NAME: Final = "vault.json"
KEY_SIZE: Final = 32
_KEY_CHECK_TOKEN: Final = b"haechi-vault key check v1"
_SHA_RE: Final = re.compile(r"^[0-9a-f]{64}$")
_READ_SIZE: Final = 1 << 20

# scrypt defaults: N=2**17, r=8 -> 128 MiB of memory, ~0.3-0.6 s per open.
DEFAULT_SCRYPT_N: Final = 1 << 17
DEFAULT_SCRYPT_R: Final = 8
DEFAULT_SCRYPT_P: Final = 1


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

    def read(self, n: int = -1, /) -> bytes: ...

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
class KeyFile:
    """Use (or, in ``Vault.init``, create) a 32-byte key stored in a 0600 file."""

    path: Path


@dataclass(frozen=True)
class Passphrase:
    """Derive the key from a passphrase with scrypt (salt + params in vault.json)."""

    secret: str = field(repr=False)


KeySource = KeyFile | Passphrase


@dataclass(frozen=True)
class BlobInfo:
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
class _Header:
    chunk_size: int
    size: int
    key_id: bytes
    blob_id: bytes
    raw: bytes

    @property
    def n_chunks(self) -> int:
        return max(1, -(-self.size // self.chunk_size))

    @property
    def file_size(self) -> int:
        return HEADER_SIZE + self.n_chunks * (NONCE_SIZE + TAG_SIZE) + self.size

    def chunk_len(self, index: int) -> int:
        return min(self.chunk_size, self.size - index * self.chunk_size)

    def aad(self, index: int) -> bytes:
        final = 1 if index == self.n_chunks - 1 else 0
        return self.raw + struct.pack(">QB", index, final)


class _HeaderError(Exception):
    pass


def _parse_header(raw: bytes) -> _Header:
    if len(raw) < HEADER_SIZE:
        raise _HeaderError(f"truncated: file is only {len(raw)} bytes, shorter than the header")
    magic, version, flags, chunk_size, size, key_id, blob_id = _HEADER.unpack(raw)
    if magic != MAGIC:
        raise _HeaderError("not a vault blob (bad magic)")
    if version != FORMAT_VERSION or flags != 0:
        raise _HeaderError(f"unsupported blob format version {version} / flags {flags}")
    if not 0 < chunk_size <= MAX_CHUNK_SIZE:
        raise _HeaderError(f"implausible chunk size {chunk_size}")
    return _Header(chunk_size, size, key_id, blob_id, bytes(raw))


def _check_sha(sha256: str) -> str:
    if not isinstance(sha256, str) or not _SHA_RE.match(sha256):
        raise ValueError(f"not a lowercase hex SHA-256: {sha256!r}")
    return sha256


def _read_full(fh: ReadStream | BinaryIO, n: int) -> bytes:
    parts: list[bytes] = []
    remaining = n
    while remaining > 0:
        b = fh.read(remaining)
        if not b:
            break
        parts.append(b)
        remaining -= len(b)
    return b"".join(parts)


def _try_lock(fd: int) -> bool:
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


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(path: Path, data: bytes) -> None:
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
    _fsync_dir(path.parent)


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(b"haechi-vault key id v1\x00" + key).digest()[:8]


def _normalise_passphrase(secret: str) -> bytes:
    # NFC so that the same Hangul/accented passphrase typed on macOS (NFD) and
    # elsewhere (NFC) derives the same key.
    return unicodedata.normalize("NFC", secret).encode("utf-8")


def _scrypt(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=KEY_SIZE, n=n, r=r, p=p).derive(_normalise_passphrase(secret))


def _check_key_file_mode(path: Path, st: os.stat_result) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise InsecureKeyFileError(f"key file {path} is not a regular file")
    if os.name == "posix" and st.st_mode & 0o077:
        raise InsecureKeyFileError(
            f"refusing to use key file {path}: it is accessible by group/others "
            f"(mode {stat.S_IMODE(st.st_mode):04o}); anyone with access could decrypt the "
            f"evidence. Fix it with: chmod 600 '{path}'"
        )


def _read_key_file(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        raise VaultKeyError(f"key file {path} does not exist") from None
    with os.fdopen(fd, "rb") as fh:
        _check_key_file_mode(path, os.fstat(fh.fileno()))
        raw = fh.read(1024)
    text = raw.strip()
    if len(raw) == KEY_SIZE:
        return raw
    if len(text) == 2 * KEY_SIZE:
        try:
            return bytes.fromhex(text.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            pass
    raise VaultKeyError(f"key file {path} does not contain a 32-byte key (64 hex digits)")


def _create_key_file(path: Path) -> bytes:
    key = secrets.token_bytes(KEY_SIZE)
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        if os.name == "posix":
            os.fchmod(fh.fileno(), 0o600)
        fh.write(key.hex().encode("ascii") + b"\n")
        fh.flush()
        os.fsync(fh.fileno())
    return key


class BlobReader:
    """Streaming reader of one blob's plaintext.

    Iterate for plaintext chunks, or call ``read(n)`` (file-like, so it works
    with ``shutil.copyfileobj``).  Every chunk is authenticated before it is
    returned; the total length is checked when the blob is opened, and the
    plaintext SHA-256 is checked when the last chunk has been read (a mismatch
    raises ``BlobIntegrityError``).  Only treat the output as verified once the
    whole blob has been consumed without an exception.
    """

    def __init__(self, fh: BinaryIO, header: _Header, aead: AESGCM, sha256: str) -> None:
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
            record = _read_full(self._fh, NONCE_SIZE + hdr.chunk_len(index) + TAG_SIZE)
            try:
                plain = self._aead.decrypt(record[:NONCE_SIZE], record[NONCE_SIZE:], hdr.aad(index))
            except InvalidTag:
                raise BlobIntegrityError(
                    f"blob {self.sha256}: chunk {index} failed authentication (altered)"
                ) from None
            h.update(plain)
            yield plain
        if h.hexdigest() != self.sha256:
            raise BlobIntegrityError(f"blob {self.sha256}: plaintext SHA-256 does not match")
        self._done = True

    def __iter__(self) -> Iterator[bytes]:
        if self._buf:
            yield self._buf
            self._buf = b""
        yield from self._gen

    def read(self, size: int = -1) -> bytes:
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
        return True

    @property
    def verified(self) -> bool:
        """True once every chunk was read and the plaintext hash matched."""
        return self._done

    def close(self) -> None:
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


@dataclass
class StagedBlob:
    """A blob encrypted into a temp file beside its final place, not yet in the vault.
    ``commit`` moves it into place; ``discard`` removes it. ``tmp`` is None when the vault
    already held the blob (nothing to do either way)."""

    info: BlobInfo
    final: Path
    tmp: Path | None

    def commit(self) -> None:
        if self.tmp is None:
            return
        os.replace(self.tmp, self.final)  # noqa: PTH105
        self.tmp = None
        _fsync_dir(self.final.parent)

    def discard(self) -> None:
        if self.tmp is not None:
            self.tmp.unlink(missing_ok=True)
            self.tmp = None


class Vault:
    """An encrypted, content-addressed blob store in one directory."""

    def __init__(self, root: Path, key: bytes, chunk_size: int) -> None:
        self.root = root
        self._aead = AESGCM(key)
        wrap_key = HKDF(SHA256(), KEY_SIZE, salt=None, info=b"haechi-vault note keys v1")
        self._wrap = AESGCM(wrap_key.derive(key))
        self.key_id = _key_id(key)
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
        if not 0 < chunk_size <= MAX_CHUNK_SIZE:
            raise ValueError(f"chunk_size must be in 1..{MAX_CHUNK_SIZE}")
        if (rootp / META_NAME).exists():
            raise VaultError(f"{rootp} already contains a vault")
        private_dir(rootp)
        if os.name == "posix":
            rootp.chmod(0o700)
        meta: dict[str, object] = {
            "format": "haechi-vault",
            "version": FORMAT_VERSION,
            "vault_id": secrets.token_hex(16),
            "chunk_size": chunk_size,
            "cipher": "AES-256-GCM",
        }
        if isinstance(key_source, KeyFile):
            kp = Path(key_source.path)
            key = _read_key_file(kp) if kp.exists() else _create_key_file(kp)
            meta["kdf"] = {"type": "keyfile"}
        else:
            if not key_source.secret:
                raise ValueError("empty passphrase")
            salt = secrets.token_bytes(16)
            key = _scrypt(key_source.secret, salt, scrypt_n, scrypt_r, scrypt_p)
            meta["kdf"] = {
                "type": "scrypt",
                "salt": salt.hex(),
                "n": scrypt_n,
                "r": scrypt_r,
                "p": scrypt_p,
            }
        nonce = secrets.token_bytes(NONCE_SIZE)
        aad = f"haechi-vault key-check:{meta['vault_id']}".encode()
        meta["key_id"] = _key_id(key).hex()
        meta["key_check"] = {
            "nonce": nonce.hex(),
            "ciphertext": AESGCM(key).encrypt(nonce, _KEY_CHECK_TOKEN, aad).hex(),
        }
        _write_atomic(rootp / META_NAME, (json.dumps(meta, indent=2) + "\n").encode())
        return cls(rootp, key, chunk_size)

    @classmethod
    def open(cls, root: str | os.PathLike[str], key_source: KeySource) -> Vault:
        """Open an existing vault; raises ``VaultKeyError`` for a wrong key."""
        rootp = Path(root)
        try:
            meta = json.loads((rootp / META_NAME).read_text("utf-8"))
        except FileNotFoundError:
            raise VaultError(f"{rootp} is not a vault (no {META_NAME})") from None
        try:
            if meta.get("format") != "haechi-vault" or meta.get("version") != FORMAT_VERSION:
                raise VaultError(f"{rootp / META_NAME}: unsupported vault format")
            kdf = meta["kdf"]
            if kdf["type"] == "keyfile":
                if not isinstance(key_source, KeyFile):
                    raise VaultKeyError("this vault is opened with a key file, not a passphrase")
                key = _read_key_file(Path(key_source.path))
            elif kdf["type"] == "scrypt":
                if not isinstance(key_source, Passphrase):
                    raise VaultKeyError("this vault is opened with a passphrase, not a key file")
                key = _scrypt(
                    key_source.secret,
                    bytes.fromhex(kdf["salt"]),
                    int(kdf["n"]),
                    int(kdf["r"]),
                    int(kdf["p"]),
                )
            else:
                raise VaultError(f"unknown key derivation {kdf['type']!r}")
            check = meta["key_check"]
            aad = f"haechi-vault key-check:{meta['vault_id']}".encode()
            nonce = bytes.fromhex(check["nonce"])
            ciphertext = bytes.fromhex(check["ciphertext"])
            chunk_size = int(meta["chunk_size"])
        except (KeyError, TypeError, ValueError) as exc:
            raise VaultError(f"{rootp / META_NAME} is damaged: {exc!r}") from None
        try:
            token = AESGCM(key).decrypt(nonce, ciphertext, aad)
        except InvalidTag:
            raise VaultKeyError(
                "the vault key does not match this vault "
                "(wrong key file or passphrase, or the vault metadata was altered)"
            ) from None
        if token != _KEY_CHECK_TOKEN:
            raise VaultKeyError("the vault key does not match this vault")
        return cls(rootp, key, chunk_size)

    # ------------------------------------------------------------------ paths
    def path_for(self, sha256: str) -> Path:
        _check_sha(sha256)
        return self.root / sha256[:2] / sha256[2:4] / f"{sha256}.enc"

    def has(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def iter_blobs(self) -> Iterator[str]:
        """SHA-256 of every blob file present (by file name)."""
        for p in sorted(self.root.glob("??/??/*.enc")):
            if _SHA_RE.match(p.stem):
                yield p.stem

    def iter_temp_files(self) -> Iterator[Path]:
        """Unfinished writes (ciphertext only): ``.<sha prefix>-….tmp`` beside a blob's place."""
        yield from sorted(self.root.glob("??/??/.*.tmp"))

    def remove_stale_temp_files(self, older_than: float) -> int:
        """Delete leftover ``.*.tmp`` files of writes that were killed (ciphertext only, but
        as large as the item). A file is left alone while a writer holds its lock (another
        capture running now), or when it was last written after `older_than` (a writer that
        has created it but not yet locked it)."""
        n = 0
        for p in self.root.glob("??/??/.*.tmp"):
            try:
                if p.stat().st_mtime >= older_than:
                    continue
                fd = os.open(p, os.O_RDONLY)
            except OSError:
                continue
            try:
                if not _try_lock(fd):
                    continue
                p.unlink(missing_ok=True)
                n += 1
            finally:
                os.close(fd)
        return n

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
            raise BlobMismatchError(f"content has SHA-256 {sha}, not {expect}")
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
            raise BlobMismatchError(f"content has SHA-256 {h.hexdigest()}, not {expect}")
        with opener() as fh:
            tmp = self._encrypt_to_temp(fh, expect, size)
        return StagedBlob(BlobInfo(expect, size), final, tmp)

    def put_bytes(self, data: bytes) -> BlobInfo:
        sha = hashlib.sha256(data).hexdigest()
        if not self.has(sha):
            self._store(io.BytesIO(data), sha, len(data))
        return BlobInfo(sha, len(data))

    def _store(self, src: ReadStream | BinaryIO, sha: str, size: int) -> None:
        tmp = self._encrypt_to_temp(src, sha, size)
        final_path = self.path_for(sha)
        try:
            os.replace(tmp, final_path)  # noqa: PTH105
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(final_path.parent)

    def _encrypt_to_temp(self, src: ReadStream | BinaryIO, sha: str, size: int) -> Path:
        final_path = self.path_for(sha)
        private_dir(final_path.parent)  # both levels 0700, not only the last
        blob_id = bytes.fromhex(sha)
        raw = _HEADER.pack(MAGIC, FORMAT_VERSION, 0, self.chunk_size, size, self.key_id, blob_id)
        header = _Header(self.chunk_size, size, self.key_id, blob_id, raw)
        fd, tmp = tempfile.mkstemp(dir=final_path.parent, prefix=f".{sha[:16]}-", suffix=".tmp")
        # Held until the file is renamed or this process dies (kill -9 included), so a later
        # `remove_stale_temp_files` tells a dead writer's leftover from a live writer's file.
        _try_lock(fd)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(raw)
                h = hashlib.sha256()
                for index in range(header.n_chunks):
                    plain = _read_full(src, header.chunk_len(index))
                    if len(plain) != header.chunk_len(index):
                        raise VaultError("source changed while being stored (it got shorter)")
                    h.update(plain)
                    nonce = secrets.token_bytes(NONCE_SIZE)
                    out.write(nonce)
                    out.write(self._aead.encrypt(nonce, plain, header.aad(index)))
                if src.read(1) or h.hexdigest() != sha:
                    raise VaultError("source changed while being stored; nothing was stored")
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return Path(tmp)

    # ------------------------------------------------------------------ read
    def open_blob(self, sha256: str) -> BlobReader:
        """Stream a blob's plaintext (see ``BlobReader``)."""
        path = self.path_for(sha256)
        try:
            fh: BinaryIO = path.open("rb")
        except FileNotFoundError:
            raise BlobNotFoundError(f"blob {sha256} is not in the vault") from None
        try:
            header = _parse_header(_read_full(fh, HEADER_SIZE))
            actual = os.fstat(fh.fileno()).st_size
            if header.blob_id.hex() != sha256:
                raise BlobIntegrityError(
                    f"blob {sha256}: file holds blob {header.blob_id.hex()} (swapped or misplaced)"
                )
            if header.key_id != self.key_id:
                raise BlobIntegrityError(
                    f"blob {sha256}: encrypted under another key (key id {header.key_id.hex()})"
                )
            if actual != header.file_size:
                raise BlobIntegrityError(
                    f"blob {sha256}: file is {actual} bytes, expected {header.file_size} "
                    f"({'truncated' if actual < header.file_size else 'extra bytes appended'})"
                )
        except _HeaderError as exc:
            fh.close()
            raise BlobIntegrityError(f"blob {sha256}: {exc}") from None
        except BaseException:
            fh.close()
            raise
        return BlobReader(fh, header, self._aead, sha256)

    def read_bytes(self, sha256: str) -> bytes:
        with self.open_blob(sha256) as r:
            return r.read()

    # ------------------------------------------------------------------ verify
    def verify_blob(self, sha256: str) -> list[BlobProblem]:
        """Fully decrypt and check one blob; returns the problems found (empty = intact)."""
        path = self.path_for(sha256)

        def problem(kind: BlobProblemKind, msg: str) -> list[BlobProblem]:
            return [BlobProblem(sha256, kind, f"blob {sha256}: {msg}")]

        try:
            fh = path.open("rb")
        except FileNotFoundError:
            return problem("missing", f"missing (no file {path})")
        with fh:
            actual = os.fstat(fh.fileno()).st_size
            try:
                header = _parse_header(_read_full(fh, HEADER_SIZE))
            except _HeaderError as exc:
                return problem("truncated" if actual < HEADER_SIZE else "malformed", str(exc))
            if header.key_id != self.key_id:
                return problem(
                    "wrong_key", f"encrypted under another key (key id {header.key_id.hex()})"
                )
            first_ok = self._chunk_authenticates(fh, header, 0)
            if header.blob_id.hex() != sha256:
                if first_ok:
                    return problem(
                        "swapped",
                        f"the file holds blob {header.blob_id.hex()} instead "
                        "(blob files swapped, renamed or replaced)",
                    )
                return problem("altered", "header altered (blob id does not authenticate)")
            if actual != header.file_size and not first_ok:
                return problem(
                    "truncated" if actual < header.file_size else "altered",
                    f"file is {actual} bytes but its header says {header.file_size}, and "
                    "chunk 0 fails authentication: header altered, or file truncated/extended",
                )
            if actual != header.file_size:
                if actual < header.file_size:
                    return problem(
                        "truncated",
                        f"truncated: file is {actual} bytes, expected {header.file_size}",
                    )
                return problem(
                    "altered",
                    f"{actual - header.file_size} extra bytes appended "
                    f"(file is {actual} bytes, expected {header.file_size})",
                )
            if not first_ok:
                return problem("altered", "header or chunk 0 failed authentication (altered)")
        try:
            with self.open_blob(sha256) as reader:
                for _ in reader:
                    pass
        except BlobIntegrityError as exc:
            return [BlobProblem(sha256, "altered", str(exc))]
        return []

    def _chunk_authenticates(self, fh: BinaryIO, header: _Header, index: int) -> bool:
        fh.seek(HEADER_SIZE)
        record = _read_full(fh, NONCE_SIZE + header.chunk_len(index) + TAG_SIZE)
        try:
            self._aead.decrypt(record[:NONCE_SIZE], record[NONCE_SIZE:], header.aad(index))
        except (InvalidTag, ValueError):
            return False
        return True

    # ------------------------------------------------------------------ note keys
    def wrap_key(self, key: bytes, label: bytes) -> bytes:
        """Encrypt a small key under the vault key (sub-key); ``label`` is bound to it."""
        nonce = secrets.token_bytes(NONCE_SIZE)
        return nonce + self._wrap.encrypt(nonce, key, b"haechi-note-key v1\x00" + label)

    def unwrap_key(self, wrapped: bytes, label: bytes) -> bytes:
        try:
            return self._wrap.decrypt(
                wrapped[:NONCE_SIZE], wrapped[NONCE_SIZE:], b"haechi-note-key v1\x00" + label
            )
        except InvalidTag:
            raise VaultKeyError(
                "a note key does not open with this vault key (other key, or altered)"
            ) from None

    # ------------------------------------------------------------------ delete
    def delete(self, sha256: str) -> bool:
        """Remove a blob file; returns False if it was not there."""
        path = self.path_for(sha256)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        _fsync_dir(path.parent)
        return True
