"""Sealed notes: free text typed into the custody log (a capture reason, an export title, a
note on a hand-over) is never stored in plain. It may name the person the evidence is about,
and the log is permanent.

Each note is encrypted (AES-256-GCM) under a key of its own; that key is stored in
``note_keys``, wrapped by the vault key, and linked to the enrolled persons the note is about
(those with findings on the entry's item). ``haechi forget`` deletes the keys linked to the
person, and the keys of unlinked notes that name her alias: the ciphertext stays in the log,
where the hash chain covers it (so ``verify`` still passes), but nobody can read it again. A
note whose key is gone reads as ``[erased with person]``.

A note about no enrolled person is sealed the same way under a key linked to nobody: it stays
readable with the vault key, is erased by a forget only if it names that person's alias, and
never shows in a byte search of the database. Without the vault key no note can be read.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from haechi.store.evidence_models import CustodyLogEntry, NoteKey, NoteKeyPerson
from haechi.store.findings import Finding
from haechi.store.vault import Vault, VaultKeyError

__all__ = [
    "ERASED",
    "SEALED_FORMAT",
    "erase_notes",
    "is_sealed",
    "open_details",
    "persons_of_items",
    "seal",
    "unseal",
]

SEALED_FORMAT: Final = "haechi-sealed-note/1"
ERASED: Final = "[erased with person]"
LOCKED: Final = "[sealed: needs the vault key]"
_NONCE: Final = 12


def persons_of_items(session: Session, shas: Iterable[str]) -> set[int]:
    """The enrolled persons with a finding on any of these items: whom a note about them
    is about."""
    ids = list(shas)
    if not ids:
        return set()
    rows = session.scalars(select(Finding.person_id).where(Finding.item_sha256.in_(ids)).distinct())
    return {pid for pid in rows if pid is not None}


def seal(session: Session, vault: Vault, text: str, persons: Iterable[int]) -> dict[str, Any]:
    """Encrypt `text` under a new note key (stored wrapped, linked to `persons`); returns the
    value to put in the custody entry's details. Does not commit."""
    key_id = secrets.token_hex(16)
    key = AESGCM.generate_key(bit_length=256)
    session.add(NoteKey(id=key_id, wrapped=vault.wrap_key(key, key_id.encode()), created_at=_now()))
    session.flush()
    for pid in sorted(set(persons)):
        session.add(NoteKeyPerson(key_id=key_id, person_id=pid))
    nonce = secrets.token_bytes(_NONCE)
    ct = AESGCM(key).encrypt(nonce, text.encode("utf-8"), key_id.encode())
    return {
        "sealed": SEALED_FORMAT,
        "key": key_id,
        "nonce": nonce.hex(),
        "ct": base64.b64encode(ct).decode("ascii"),
    }


def is_sealed(value: object) -> bool:
    """Whether a stored value is a sealed note (as written by `seal`) rather than plain data."""
    return isinstance(value, Mapping) and value.get("sealed") == SEALED_FORMAT


def unseal(session: Session, vault: Vault | None, value: Mapping[str, Any]) -> str:
    """The note's text; ``[erased with person]`` once its key is gone."""
    key_id = str(value.get("key"))
    row = session.get(NoteKey, key_id)
    if row is None:
        return ERASED
    if vault is None:
        return LOCKED
    try:
        key = vault.unwrap_key(row.wrapped, key_id.encode())
        plain = AESGCM(key).decrypt(
            bytes.fromhex(value["nonce"]), base64.b64decode(value["ct"]), key_id.encode()
        )
    except (VaultKeyError, InvalidTag, KeyError, ValueError):
        return "[sealed note does not open: altered, or another vault key]"
    return plain.decode("utf-8", "replace")


def open_details(session: Session, vault: Vault | None, details: Any) -> Any:
    """A copy of an entry's details with every sealed note replaced by its text (for people;
    the hash covers the sealed form)."""
    if is_sealed(details):
        return unseal(session, vault, details)
    if isinstance(details, Mapping):
        return {k: open_details(session, vault, v) for k, v in details.items()}
    if isinstance(details, list):
        return [open_details(session, vault, v) for v in details]
    return details


def _sealed_values(details: Any) -> Iterable[Mapping[str, Any]]:
    if is_sealed(details):
        yield details
    elif isinstance(details, Mapping):
        for v in details.values():
            yield from _sealed_values(v)
    elif isinstance(details, list):
        for v in details:
            yield from _sealed_values(v)


def erase_notes(session: Session, vault: Vault | None, person_id: int, alias: str) -> int:
    """Delete the keys of every note about this person: those linked to her, and unlinked
    ones whose text names her alias (read with the vault key; without it they cannot be
    searched). Returns how many notes were erased. Does not commit."""
    doomed = set(
        session.scalars(select(NoteKeyPerson.key_id).where(NoteKeyPerson.person_id == person_id))
    )
    if vault is not None and alias.strip():
        linked = set(session.scalars(select(NoteKeyPerson.key_id).distinct()))
        needle = alias.casefold()
        for details in session.scalars(
            select(CustodyLogEntry.details).where(CustodyLogEntry.details.is_not(None))
        ):
            for value in _sealed_values(details):
                key_id = str(value.get("key"))
                if key_id in linked or key_id in doomed:
                    continue
                if needle in unseal(session, vault, value).casefold():
                    doomed.add(key_id)
    if doomed:
        session.execute(delete(NoteKeyPerson).where(NoteKeyPerson.key_id.in_(doomed)))
        session.execute(delete(NoteKey).where(NoteKey.id.in_(doomed)))
    return len(doomed)


def _now() -> datetime:
    return datetime.now(UTC)
