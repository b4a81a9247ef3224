"""How custody entries are hashed (see store/custody.py for the chain): canonical JSON, the entry
hash over the details' hash and the previous entry's, and UTC times written one way."""

import hashlib
import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final

from haechi.store.evidence_models import CustodyLogEntry

GENESIS_HASH: Final = "0" * 64
HASH_VERSION: Final = "haechi-custody/1"


# --------------------------------------------------------------------------- hashing
def canonical_json(value: object) -> bytes:
    """Deterministic JSON bytes (sorted keys, no whitespace, UTF-8, finite numbers)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def details_hash(details: object) -> str:
    """SHA-256 of the details' canonical JSON: what the entry hash covers, so details can be
    redacted later."""
    return hashlib.sha256(canonical_json(details)).hexdigest()


def as_utc(at: datetime) -> datetime:
    """The time as aware UTC: SQLite hands back naive datetimes, and everything stored here is
    UTC."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def format_time(at: datetime) -> str:
    """The time as the hash covers it: UTC ISO-8601 with microseconds and a Z."""
    return as_utc(at).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def compute_entry_hash(
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    object_ref: str,
    details_hash_hex: str,
    prev_hash: str,
) -> str:
    """The entry hash over the version, seq, time, actor, action, object, details hash and the
    previous entry's hash."""
    payload = [
        HASH_VERSION,
        seq,
        format_time(at),
        actor,
        action,
        object_ref,
        details_hash_hex,
        prev_hash,
    ]
    return hashlib.sha256(canonical_json(payload)).hexdigest()


def row_hash(row: CustodyLogEntry, seq: int | None = None) -> str:
    """The hash a stored row should carry (at `seq` if given): compared with its stored entry_hash,
    it shows alteration."""
    return compute_entry_hash(
        row.seq if seq is None else seq,
        row.at,
        row.actor,
        row.action,
        row.object_ref,
        row.details_hash,
        row.prev_hash,
    )


def check_json(value: object, path: str = "details") -> None:
    """ValueError naming the path unless the value is JSON that hashes canonically (finite numbers,
    string keys)."""
    if value is None or isinstance(value, str | bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{path}: NaN/Infinity cannot be hashed canonically")
        return
    if isinstance(value, list | tuple):
        for i, v in enumerate(value):
            check_json(v, f"{path}[{i}]")
        return
    if isinstance(value, Mapping):
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(f"{path}: keys must be strings, got {k!r}")
            check_json(v, f"{path}.{k}")
        return
    raise ValueError(f"{path}: {type(value).__name__} is not JSON")
