"""The encrypted, content-addressed evidence vault. It must never write a byte of plaintext to
disk: not a blob, not a temporary file.

Blobs are addressed by the SHA-256 of their *plaintext* and stored encrypted
with AES-256-GCM under ``<vault_dir>/ab/cd/<sha256>.enc``.

The blob file format is in ``vault_format.py``; keys and passphrases in ``vault_keys.py``.

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
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from haechi.i18n import _
from haechi.private import private_dir
from haechi.store.vault_format import (
    DEFAULT_CHUNK_SIZE,
    FORMAT_VERSION,
    HEADER_SIZE,
    HEADER_STRUCT,
    MAGIC,
    MAX_CHUNK_SIZE,
    NONCE_SIZE,
    TAG_SIZE,
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
    create_key_file,
    derive_key,
    key_fingerprint,
    read_key_file,
)

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

META_NAME: Final = "vault.json"
_KEY_CHECK_TOKEN: Final = b"haechi-vault key check v1"
_SHA_RE: Final = re.compile(r"^[0-9a-f]{64}$")
_READ_SIZE: Final = 1 << 20


def _check_sha(sha256: str) -> str:
    if not isinstance(sha256, str) or not _SHA_RE.match(sha256):
        raise ValueError(f"not a lowercase hex SHA-256: {sha256!r}")
    return sha256


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
        if not 0 < chunk_size <= MAX_CHUNK_SIZE:
            raise ValueError(f"chunk_size must be in 1..{MAX_CHUNK_SIZE}")
        if (rootp / META_NAME).exists():
            raise VaultError(_("{rootp} already contains a vault").format(rootp=rootp))
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
            key = read_key_file(kp) if kp.exists() else create_key_file(kp)
            meta["kdf"] = {"type": "keyfile"}
        else:
            if not key_source.secret:
                raise ValueError("empty passphrase")
            salt = secrets.token_bytes(16)
            key = derive_key(key_source.secret, salt, scrypt_n, scrypt_r, scrypt_p)
            meta["kdf"] = {
                "type": "scrypt",
                "salt": salt.hex(),
                "n": scrypt_n,
                "r": scrypt_r,
                "p": scrypt_p,
            }
        nonce = secrets.token_bytes(NONCE_SIZE)
        aad = f"haechi-vault key-check:{meta['vault_id']}".encode()
        meta["key_id"] = key_fingerprint(key).hex()
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
            raise VaultError(
                _("{rootp} is not a vault (no {meta_name})").format(
                    rootp=rootp, meta_name=META_NAME
                )
            ) from None
        try:
            if meta.get("format") != "haechi-vault" or meta.get("version") != FORMAT_VERSION:
                raise VaultError(
                    _("{rootp}: unsupported vault format").format(rootp=rootp / META_NAME)
                )
            kdf = meta["kdf"]
            if kdf["type"] == "keyfile":
                if not isinstance(key_source, KeyFile):
                    raise VaultKeyError(_("this vault is opened with a key file, not a passphrase"))
                key = read_key_file(Path(key_source.path))
            elif kdf["type"] == "scrypt":
                if not isinstance(key_source, Passphrase):
                    raise VaultKeyError(_("this vault is opened with a passphrase, not a key file"))
                key = derive_key(
                    key_source.secret,
                    bytes.fromhex(kdf["salt"]),
                    int(kdf["n"]),
                    int(kdf["r"]),
                    int(kdf["p"]),
                )
            else:
                raise VaultError(_("unknown key derivation {type!r}").format(type=kdf["type"]))
            check = meta["key_check"]
            aad = f"haechi-vault key-check:{meta['vault_id']}".encode()
            nonce = bytes.fromhex(check["nonce"])
            ciphertext = bytes.fromhex(check["ciphertext"])
            chunk_size = int(meta["chunk_size"])
        except (KeyError, TypeError, ValueError) as exc:
            raise VaultError(
                _("{rootp} is damaged: {exc!r}").format(rootp=rootp / META_NAME, exc=exc)
            ) from None
        try:
            token = AESGCM(key).decrypt(nonce, ciphertext, aad)
        except InvalidTag:
            raise VaultKeyError(
                _(
                    "the vault key does not match this vault (wrong key file or "
                    "passphrase, or the vault metadata was altered)"
                )
            ) from None
        if token != _KEY_CHECK_TOKEN:
            raise VaultKeyError(_("the vault key does not match this vault"))
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
        raw = HEADER_STRUCT.pack(
            MAGIC, FORMAT_VERSION, 0, self.chunk_size, size, self.key_id, blob_id
        )
        header = BlobHeader(self.chunk_size, size, self.key_id, blob_id, raw)
        fd, tmp = tempfile.mkstemp(dir=final_path.parent, prefix=f".{sha[:16]}-", suffix=".tmp")
        # Held until the file is renamed or this process dies (kill -9 included), so a later
        # `remove_stale_temp_files` tells a dead writer's leftover from a live writer's file.
        _try_lock(fd)
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
            raise
        return Path(tmp)

    # ------------------------------------------------------------------ read
    def open_blob(self, sha256: str) -> BlobReader:
        """Stream a blob's plaintext (see ``BlobReader``)."""
        path = self.path_for(sha256)
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
                header = parse_header(read_full(fh, HEADER_SIZE))
            except HeaderError as exc:
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

    def _chunk_authenticates(self, fh: BinaryIO, header: BlobHeader, index: int) -> bool:
        fh.seek(HEADER_SIZE)
        record = read_full(fh, NONCE_SIZE + header.chunk_len(index) + TAG_SIZE)
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
        _fsync_dir(path.parent)
        return True
