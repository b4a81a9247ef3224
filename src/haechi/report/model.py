"""A police report as typed values: the case, the accounts involved with the offence each one's
evidence supports (and the messages and items behind it), the items, a timeline, the evidence
package, and what the evidence does not establish. Rendering (report.police) reads only these;
the service (services.report) fills them. No media and no face vectors ever appear here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from haechi.network.model import Certainty, Role
from haechi.report.offences import Offence


@dataclass(frozen=True)
class MessageRef:
    """One message (or file posting) behind a claim."""

    room: str
    room_name: str
    message_id: int | None
    at: datetime | None
    what: tuple[str, ...]
    text: str | None
    items: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """The message as the report's JSON carries it."""
        return {
            "room": self.room,
            "room_name": self.room_name,
            "message_id": self.message_id,
            "at": self.at.isoformat() if self.at else None,
            "what": list(self.what),
            "text": self.text,
            "items": list(self.items),
        }


@dataclass(frozen=True)
class OffenceLine:
    """One offence an account's evidence may support: the role (or, for threats, the words)
    it rests on, how directly the messages show it, and the messages and case items behind it."""

    offence: Offence
    role: Role | None  # None: read from the words (threats), not from a network role
    certainty: Certainty
    notes: tuple[str, ...]
    messages: tuple[MessageRef, ...]
    items: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """The line as the report's JSON carries it, the offence named in Korean and English."""
        o = self.offence
        return {
            "offence": o.key,
            "name": {"ko": o.name_ko, "en": o.name_en},
            "article": {"ko": o.article_ko, "en": o.article_en},
            "role": self.role,
            "certainty": self.certainty,
            "notes": list(self.notes),
            "message_ids": [m.message_id for m in self.messages],
            "messages": [m.to_json() for m in self.messages],
            "items": list(self.items),
        }


@dataclass(frozen=True)
class AccountLine:
    """One account involved in the case, with every offence its evidence may support;
    `name_only` when the export named it without an id."""

    id: str
    names: tuple[str, ...]
    name_only: bool
    offences: tuple[OffenceLine, ...]

    def to_json(self) -> dict[str, Any]:
        """The account as the report's JSON carries it."""
        return {
            "id": self.id,
            "names": list(self.names),
            "known_by_name_only": self.name_only,
            "offences": [o.to_json() for o in self.offences],
        }


@dataclass(frozen=True)
class RelationLine:
    """A manipulation relation of an item (evidence.relations): the other item and the
    relation said in Korean and English."""

    kind: str  # face_changed | source_photo
    role: str | None
    related_item: str
    ko: str
    en: str
    difference_picture: str | None  # the picture's SHA-256 in the vault, when one was stored
    details: dict[str, Any]  # the measure, the request, where the other item was sighted

    def to_json(self) -> dict[str, Any]:
        """The relation as the report's JSON carries it: its details, with the named fields
        taking precedence over a detail of the same name."""
        return self.details | {
            "kind": self.kind,
            "role": self.role,
            "related_item": self.related_item,
            "ko": self.ko,
            "en": self.en,
            "difference_picture": self.difference_picture,
        }


@dataclass(frozen=True)
class ItemLine:
    """One item of the case as the report lists it: hashes and places only, never its media;
    `withheld` items are in no export at all."""

    sha256: str
    kind: str | None
    size: int
    findings: tuple[str, ...]  # "face_match p1 (confirmed)"
    synthetic: str | None  # the synthetic analyzer's verdict, None when it did not run
    possible_minor: bool
    withheld: bool  # a possible minor without authorisation: no media anywhere
    first_seen: datetime | None
    last_seen: datetime | None
    sightings: int
    relations: tuple[RelationLine, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The item as the report's JSON carries it."""
        return {
            "sha256": self.sha256,
            "kind": self.kind,
            "size": self.size,
            "findings": list(self.findings),
            "synthetic": self.synthetic,
            "possible_minor": self.possible_minor,
            "withheld": "possible minor" if self.withheld else None,
            "first_seen": self.first_seen.isoformat() if self.first_seen else None,
            "last_seen": self.last_seen.isoformat() if self.last_seen else None,
            "sightings": self.sightings,
            "relations": [r.to_json() for r in self.relations],
        }


@dataclass(frozen=True)
class Event:
    """One line of the report's timeline, in Korean and English."""

    at: datetime
    ko: str
    en: str

    def to_json(self) -> dict[str, Any]:
        """The event as the report's JSON carries it."""
        return {"at": self.at.isoformat(), "ko": self.ko, "en": self.en}


@dataclass(frozen=True)
class PackageLine:
    """The evidence package exported beside the report: its digest, size, how media was
    included, the custody log's head at export, its timestamp and the items left out (and why)."""

    folder: str  # relative to the report folder
    sha256sums: str  # SHA-256 of the package's SHA256SUMS, as the custody log records it
    files: int
    media: str
    custody_entries: int
    head_seq: int
    head_hash: str
    timestamp: dict[str, Any] | None  # the RFC 3161 token's facts, None when none is configured
    left_out: tuple[tuple[str, str], ...]

    def to_json(self) -> dict[str, Any]:
        """The package as the report's JSON carries it."""
        return {
            "folder": self.folder,
            "sha256sums": self.sha256sums,
            "files": self.files,
            "media": self.media,
            "custody_entries": self.custody_entries,
            "head": {"seq": self.head_seq, "head_hash": self.head_hash},
            "timestamp": self.timestamp,
            "left_out": [{"sha256": s, "reason": r} for s, r in self.left_out],
        }


@dataclass(frozen=True)
class CustodyLine:
    """One custody log entry about the case or its items, as the report prints it (time already
    formatted)."""

    seq: int
    at: str
    actor: str
    action: str
    object: str
    entry_hash: str


@dataclass(frozen=True)
class Gap:
    """One thing the evidence does not establish, said in both languages."""

    ko: str
    en: str


@dataclass(frozen=True)
class TakedownLine:
    """A takedown request about the case (filled when takedown requests exist)."""

    id: int
    platform: str
    state: str
    sent_at: datetime | None


@dataclass(frozen=True)
class PoliceReport:
    """A whole police report: the case, its accounts and items, rooms, timeline, evidence
    package, the latest custody entries (of `custody_total`), the gaps and the takedowns."""

    case_id: int
    title: str
    person: str | None
    status: str
    opened_at: datetime
    opened_by: str
    created_at: datetime
    created_by: str
    tool: str
    accounts: tuple[AccountLine, ...]
    items: tuple[ItemLine, ...]
    rooms: tuple[tuple[str, str], ...]  # (id, name) of the rooms the case's content was in
    timeline: tuple[Event, ...]
    package: PackageLine
    custody: tuple[CustodyLine, ...]
    custody_total: int
    not_established: tuple[Gap, ...]
    minor_authorised: bool
    takedowns: tuple[TakedownLine, ...] = ()

    @property
    def withheld(self) -> tuple[str, ...]:
        """The SHA-256 of every item withheld as a possible minor without authorisation."""
        return tuple(i.sha256 for i in self.items if i.withheld)

    def to_json(self) -> dict[str, Any]:
        """The report's content as `report police --json` prints it (without the custody lines,
        which the package holds in full)."""
        return {
            "case": self.case_id,
            "status": self.status,
            "person": self.person,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "tool": self.tool,
            "accounts": [a.to_json() for a in self.accounts],
            "items": [i.to_json() for i in self.items],
            "rooms": [{"id": r, "name": n} for r, n in self.rooms],
            "timeline": [e.to_json() for e in self.timeline],
            "package": self.package.to_json(),
            "withheld": list(self.withheld),
            "minor_authorised": self.minor_authorised,
            "not_established": [{"ko": g.ko, "en": g.en} for g in self.not_established],
            "takedowns": [
                {
                    "id": t.id,
                    "platform": t.platform,
                    "state": t.state,
                    "sent_at": t.sent_at.isoformat() if t.sent_at else None,
                }
                for t in self.takedowns
            ],
        }
