"""What travels in and out of the bank services: signals, contents and views, and the checks
that every hash, name and threshold passes before it is stored."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from haechi.errors import InputError
from haechi.i18n import _
from haechi.matching.thresholds import PDQ_MAX_SAFE_DISTANCE
from haechi.store.banks import SIGNAL_TYPES

NAME_RE = re.compile(r"^[A-Z_][A-Z0-9_]*$")
HEX = re.compile(r"^[0-9a-f]+$")
HEX_LEN = {"pdq": 64, "md5": 32, "sha256": 64}
# Threshold keys a bank may set: a distance per distance-based type, and the vPDQ share.
THRESHOLD_KEYS = ("pdq", "vpdq", "vpdq_share")


@dataclass(frozen=True)
class Frame:
    """One vPDQ frame: PDQ hex, quality, timestamp in seconds."""

    pdq: str
    quality: int
    t: float


@dataclass(frozen=True)
class SignalIn:
    """One hash to bank, as given: its type (`pdq`, `vpdq`, `md5`, `sha256`), value and quality;
    checked by `check_signal` before it is stored."""

    signal_type: str
    value: str = ""  # the hash; for vPDQ filled in from the frames
    quality: int | None = None
    frames: tuple[Frame, ...] = ()


@dataclass(frozen=True)
class ContentIn:
    """One thing to bank: its signals and where it came from."""

    signals: tuple[SignalIn, ...]
    item_sha256: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class BankView:
    """A bank with its settings and how many contents and signals of each type it holds."""

    id: int
    name: str
    description: str
    negative: bool
    enabled: bool
    rollout: float
    thresholds: dict[str, Any]
    contents: int
    signals: dict[str, int]
    created_by: str
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        """The bank as the CLI's --json and the API write it."""
        return {
            "name": self.name,
            "description": self.description,
            "negative": self.negative,
            "enabled": self.enabled,
            "rollout": self.rollout,
            "thresholds": self.thresholds,
            "contents": self.contents,
            "signals": self.signals,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class ContentView:
    """One banked content with where it came from and its signals."""

    id: int
    bank: str
    enabled: bool
    case_id: int | None
    item_sha256: str | None
    source: str
    added_by: str
    added_at: datetime
    tags: tuple[str, ...]
    signals: tuple[SignalIn, ...] = field(default=())

    def provenance(self) -> dict[str, Any]:
        """Where the content came from (case, item, source, who added it, when, tags)."""
        return {
            "case": self.case_id,
            "item_sha256": self.item_sha256,
            "source": self.source,
            "added_by": self.added_by,
            "added_at": self.added_at.isoformat(),
            "tags": list(self.tags),
        }

    def to_json(self) -> dict[str, Any]:
        """The content with its provenance and signals, as --json and the API write it."""
        return {
            "id": self.id,
            "bank": self.bank,
            "enabled": self.enabled,
            **self.provenance(),
            "signals": {s.signal_type: signal_text(s) for s in self.signals},
        }


@dataclass(frozen=True)
class AddResult:
    """What an addition did: contents and signals added, and signals the bank already held."""

    bank: str
    contents_added: int
    signals_added: int
    signals_known: int  # already in the bank: kept once, with its first provenance
    content_ids: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The counts as --json and the API write them."""
        return {
            "bank": self.bank,
            "contents_added": self.contents_added,
            "signals_added": self.signals_added,
            "signals_known": self.signals_known,
            "content_ids": list(self.content_ids),
        }


def as_utc(at: datetime) -> datetime:
    """The time as aware UTC: SQLite hands back naive datetimes."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def signal_text(sig: SignalIn) -> str:
    """A signal as python-threatexchange writes it: hex, or for vPDQ its JSON list of
    "pdqhex,quality,timestamp" strings."""
    if sig.signal_type == "vpdq":
        return json.dumps([f"{f.pdq},{f.quality},{f.t:.3f}" for f in sig.frames])
    return sig.value


def vpdq_value(frames: Sequence[Frame]) -> str:
    """The stored key of a vPDQ signal: SHA-256 of its canonical frame list."""
    text = "\n".join(f"{f.pdq},{f.quality},{f.t:.3f}" for f in frames)
    return hashlib.sha256(text.encode()).hexdigest()


def check_signal(sig: SignalIn) -> SignalIn:
    """The signal normalised (lowercase hex), or InputError naming what is wrong."""
    st = sig.signal_type
    if st not in SIGNAL_TYPES:
        raise InputError(
            _("unknown signal type {st!r}: one of {signal_types}").format(
                st=st, signal_types=", ".join(SIGNAL_TYPES)
            )
        )
    if st == "vpdq":
        if not sig.frames:
            raise InputError(_("a vPDQ signal needs at least one frame"))
        frames = tuple(
            Frame(check_signal(SignalIn("pdq", f.pdq)).value, int(f.quality), float(f.t))
            for f in sig.frames
        )
        for f in frames:
            if not 0 <= f.quality <= 100 or f.t < 0:
                raise InputError(
                    _("vPDQ frame at {t}: quality 0-100 and a time ≥ 0 expected").format(t=f.t)
                )
        return SignalIn("vpdq", vpdq_value(frames), None, frames)
    value = sig.value.strip().lower()
    if len(value) != HEX_LEN[st] or not HEX.match(value):
        raise InputError(
            _("{value!r} is not a {st} hash ({hex_len} hex characters)").format(
                value=sig.value[:80], st=st, hex_len=HEX_LEN[st]
            )
        )
    if sig.quality is not None and not 0 <= sig.quality <= 100:
        raise InputError(_("PDQ quality {quality} is outside 0-100").format(quality=sig.quality))
    return SignalIn(st, value, sig.quality)


def check_name(name: str) -> str:
    """The name unchanged if it follows HMA's rule (capitals, digits, _), or InputError with an
    example."""
    if not NAME_RE.match(name):
        raise InputError(
            _(
                "bank name {name!r}: capital letters, digits and _ only, not "
                "starting with a digit (HMA's rule, so HMA clients can use "
                "it), e.g. CASE_17_IMAGES"
            ).format(name=name)
        )
    return name


def check_thresholds(values: dict[str, Any]) -> dict[str, Any]:
    """The thresholds typed and range-checked (PDQ distances 0-90, vPDQ share in (0, 1]), or
    InputError naming the bad key or value."""
    out: dict[str, Any] = {}
    for k, v in values.items():
        if k not in THRESHOLD_KEYS:
            raise InputError(
                _("unknown threshold {k!r}: one of {threshold_keys}").format(
                    k=k, threshold_keys=", ".join(THRESHOLD_KEYS)
                )
            )
        if k == "vpdq_share":
            if not 0 < float(v) <= 1:
                raise InputError(_("vpdq_share is a share of frames, above 0 and at most 1"))
            out[k] = float(v)
        else:
            if not 0 <= int(v) <= PDQ_MAX_SAFE_DISTANCE:
                # Beyond ~90 bits unrelated images match (random pairs sit near 128).
                raise InputError(
                    _("{k} distance {v}: use 0-90 (31 is PDQ's usual threshold)").format(k=k, v=v)
                )
            out[k] = int(v)
    return out
