"""The vault's key: a 32-byte key file (0600) or a key derived from a passphrase with scrypt."""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from haechi.i18n import _
from haechi.private import private_dir
from haechi.store.vault_format import InsecureKeyFileError, VaultKeyError

KEY_SIZE: Final = 32
# scrypt defaults: N=2**17, r=8 -> 128 MiB of memory, ~0.3-0.6 s per open.
DEFAULT_SCRYPT_N: Final = 1 << 17
DEFAULT_SCRYPT_R: Final = 8
DEFAULT_SCRYPT_P: Final = 1


@dataclass(frozen=True)
class KeyFile:
    """Use (or, in ``Vault.init``, create) a 32-byte key stored in a 0600 file."""

    path: Path


@dataclass(frozen=True)
class Passphrase:
    """Derive the key from a passphrase with scrypt (salt + params in vault.json)."""

    secret: str = field(repr=False)


KeySource = KeyFile | Passphrase


def key_fingerprint(key: bytes) -> bytes:
    """The 8-byte key id written into every blob header: a domain-separated SHA-256 of the key, so a
    wrong key shows before decrypting and the key stays secret."""
    return hashlib.sha256(b"haechi-vault key id v1\x00" + key).digest()[:8]


def normalise_passphrase(secret: str) -> bytes:
    """The passphrase's UTF-8 bytes in Unicode NFC, so the same Hangul or accented passphrase
    typed on macOS (NFD) and elsewhere (NFC) derives the same key."""
    return unicodedata.normalize("NFC", secret).encode("utf-8")


def derive_key(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    """The 32-byte vault key from a passphrase with scrypt (N, r, p and salt from vault.json); takes
    about 128 MiB and half a second with the defaults."""
    return Scrypt(salt=salt, length=KEY_SIZE, n=n, r=r, p=p).derive(normalise_passphrase(secret))


def check_key_file_mode(path: Path, st: os.stat_result) -> None:
    """Raise InsecureKeyFileError unless the key file is a regular file that group and others cannot
    read or write (POSIX)."""
    if not stat.S_ISREG(st.st_mode):
        raise InsecureKeyFileError(_("key file {path} is not a regular file").format(path=path))
    if os.name == "posix" and st.st_mode & 0o077:
        raise InsecureKeyFileError(
            _(
                "refusing to use key file {path}: it is accessible by "
                "group/others (mode {mode:04o}); anyone with access could "
                "decrypt the evidence. Fix it with: chmod 600 '{path}'"
            ).format(path=path, mode=stat.S_IMODE(st.st_mode))
        )


def read_key_file(path: Path) -> bytes:
    """The 32-byte key from a key file (raw or 64 hex digits); raises VaultKeyError when it is
    missing or holds no key, InsecureKeyFileError when others may read it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        raise VaultKeyError(_("key file {path} does not exist").format(path=path)) from None
    with os.fdopen(fd, "rb") as fh:
        check_key_file_mode(path, os.fstat(fh.fileno()))
        raw = fh.read(1024)
    text = raw.strip()
    if len(raw) == KEY_SIZE:
        return raw
    if len(text) == 2 * KEY_SIZE:
        try:
            return bytes.fromhex(text.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            pass
    raise VaultKeyError(
        _("key file {path} does not contain a 32-byte key (64 hex digits)").format(path=path)
    )


def create_key_file(path: Path) -> bytes:
    """Create a new random key file (0600, 64 hex digits, fsynced) and return the key; refuses to
    overwrite an existing file (FileExistsError)."""
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
