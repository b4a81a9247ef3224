"""From settings to the things evidence code needs: the vault (opened with the configured key),
the actor named in the custody log, and the timestamp authority when one is configured."""

from __future__ import annotations

import getpass
import os
import time
from collections.abc import Callable
from pathlib import Path

from cryptography import x509
from sqlalchemy import select

from haechi.config import Settings
from haechi.errors import ConfigError
from haechi.i18n import _
from haechi.store.custody import CustodyAction, CustodyLogEntry
from haechi.store.db import Database
from haechi.store.evidence_models import EvidenceItem
from haechi.store.tsa import TSAConfig, load_certificate
from haechi.store.vault import META_NAME, KeyFile, KeySource, Passphrase, Vault, VaultError
from haechi.store.vault_settle import settle_temp_files

# Temporary vault files last written before this process started, and not locked, belong to
# a writer that was killed; see haechi.store.vault_settle.
_STARTED = time.time()
_swept: set[Path] = set()


def key_source(settings: Settings) -> KeySource:
    """The passphrase when one is set, else the key file."""
    if settings.vault.passphrase is not None:
        secret = settings.vault.passphrase.get_secret_value()
        if not secret:
            raise ConfigError(_("vault.passphrase is set but empty"))
        return Passphrase(secret)
    return KeyFile(settings.vault_key_file)


def vault_exists(settings: Settings) -> bool:
    """Whether the vault has been created (its metadata file exists); opens nothing."""
    return (settings.vault_dir / META_NAME).is_file()


def init_vault(settings: Settings, db: Database | None = None) -> tuple[Vault, bool]:
    """Open the vault, creating it (and a 0600 key file, unless a passphrase is configured)
    when there is none yet. Returns the vault and whether it was created now. With the
    database, once per process, what killed captures left is settled: a recorded blob's
    unfinished copy is moved into place, the rest deleted (without it nothing can tell the
    two apart, so nothing is touched)."""
    if vault_exists(settings):
        vault = open_vault(settings)
        if db is not None and vault.root not in _swept:  # the sweep lists every folder
            _swept.add(vault.root)
            settle_temp_files(vault, older_than=_STARTED, recorded=_recorded(db))
        return vault, False
    return (
        Vault.init(settings.vault_dir, key_source(settings), chunk_size=settings.vault.chunk_size),
        True,
    )


def _recorded(db: Database) -> Callable[[str], list[str]]:
    """The blobs the log records whose SHA-256 starts with a prefix: preserved items (an
    evidence row is written in the same transaction as its `captured` entry) and pictures
    derived from them (`derived` entries)."""

    def find(prefix: str) -> list[str]:
        with db.session() as s:
            items = select(EvidenceItem.sha256).where(EvidenceItem.sha256.startswith(prefix))
            derived = select(CustodyLogEntry.object_ref).where(
                CustodyLogEntry.action == CustodyAction.DERIVED,
                CustodyLogEntry.object_ref.startswith(f"derived:{prefix}"),
            )
            return [*s.scalars(items), *(ref[8:] for ref in s.scalars(derived))]

    return find


def open_vault(settings: Settings) -> Vault:
    """Open the existing vault; a wrong or missing key is a clear error, never garbage."""
    if not vault_exists(settings):
        raise VaultError(
            _(
                "there is no evidence vault in {path} yet: run `haechi init` or capture an "
                "item first"
            ).format(path=settings.vault_dir)
        )
    source = key_source(settings)
    try:
        return Vault.open(settings.vault_dir, source)
    except VaultError as exc:
        where = (
            "HAECHI_VAULT__PASSPHRASE"
            if isinstance(source, Passphrase)
            else _("the key file {path}").format(path=settings.vault_key_file)
        )
        raise type(exc)(
            _("cannot open the evidence vault with {where}: {reason}").format(
                where=where, reason=exc
            )
        ) from None


def actor_name(settings: Settings) -> str:
    """Who the custody log names: the `actor` setting (HAECHI_ACTOR), else the OS user."""
    if settings.actor:
        return settings.actor
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"


def tsa_config(settings: Settings) -> TSAConfig | None:
    """The timestamp authority to ask, or None unless both `vault.tsa_url` and
    `vault.tsa_cert` are set; raises ConfigError when the certificate cannot be read."""
    v = settings.vault
    if not v.tsa_url or v.tsa_cert is None:
        return None
    return TSAConfig(url=v.tsa_url, cert=load_tsa_certificate(v.tsa_cert))


def load_tsa_certificate(path: Path) -> x509.Certificate:
    """The TSA's certificate (PEM or DER) from `path`; raises ConfigError naming the file
    when it cannot be read or is not a certificate."""
    try:
        data = path.expanduser().read_bytes()
    except OSError as exc:
        raise ConfigError(
            _("vault.tsa_cert {path}: cannot read ({strerror})").format(
                path=path, strerror=exc.strerror
            )
        ) from None
    try:
        return load_certificate(data)
    except ValueError as exc:
        raise ConfigError(
            _("vault.tsa_cert {path}: not a certificate ({exc})").format(path=path, exc=exc)
        ) from None
