"""The vault's metadata file (`vault.json`): written once when the vault is created, with
how its key is found (key file or scrypt passphrase) and a key check, and read back to open
the vault with the right key or refuse a wrong one."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from haechi.i18n import _
from haechi.private import private_dir
from haechi.store.vault_files import write_atomic
from haechi.store.vault_format import (
    FORMAT_VERSION,
    MAX_CHUNK_SIZE,
    NONCE_SIZE,
    VaultError,
    VaultKeyError,
)
from haechi.store.vault_keys import (
    KeyFile,
    KeySource,
    Passphrase,
    create_key_file,
    derive_key,
    key_fingerprint,
    read_key_file,
)

META_NAME: Final = "vault.json"
_KEY_CHECK_TOKEN: Final = b"haechi-vault key check v1"


def create_meta(
    rootp: Path,
    key_source: KeySource,
    chunk_size: int,
    scrypt_n: int,
    scrypt_r: int,
    scrypt_p: int,
) -> bytes:
    """Create the vault directory and its metadata file; the key it holds (a key file's, made
    when missing, or derived from the passphrase with a fresh salt)."""
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
    write_atomic(rootp / META_NAME, (json.dumps(meta, indent=2) + "\n").encode())
    return key


def read_meta(rootp: Path, key_source: KeySource) -> tuple[bytes, int]:
    """The vault's key and chunk size, once the key passes the key check: `VaultKeyError` for a
    wrong key or kind of key, `VaultError` for a missing, foreign or damaged metadata file."""
    try:
        meta = json.loads((rootp / META_NAME).read_text("utf-8"))
    except FileNotFoundError:
        raise VaultError(
            _("{rootp} is not a vault (no {meta_name})").format(rootp=rootp, meta_name=META_NAME)
        ) from None
    try:
        if meta.get("format") != "haechi-vault" or meta.get("version") != FORMAT_VERSION:
            raise VaultError(_("{rootp}: unsupported vault format").format(rootp=rootp / META_NAME))
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
    return key, chunk_size
