"""Police report packages: `write_police_report` gathers a case (its accounts and the offence
each one's evidence supports, its items, a timeline, what the evidence does not establish),
exports the case's evidence package beside it, and writes the report as HTML and PDF, Korean
first, then English.

A report never carries media or face vectors. An item a reviewer flagged as a possible minor is
listed as "withheld (possible minor)", and its media stays out of the package, unless the
caller authorises it; the authorisation is in the custody entry of the report. The folder is
built beside its destination and moved into place whole; the custody log then records the
report by the SHA-256 of its files."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from haechi import __version__
from haechi.config import Settings
from haechi.errors import InputError
from haechi.evidence.package import PackageResult
from haechi.evidence.package_contents import sha256_file, write_sha256sums
from haechi.evidence.relations import item_relations
from haechi.i18n import _
from haechi.network.build import network_of
from haechi.network.corpus import load_corpus
from haechi.private import private_tree
from haechi.redact import without_biometrics
from haechi.report import police
from haechi.report.accounts import accounts_of_case, case_clusters, case_rooms
from haechi.report.gaps import not_established
from haechi.report.model import (
    CustodyLine,
    Event,
    ItemLine,
    PackageLine,
    PoliceReport,
    RelationLine,
    TakedownLine,
)
from haechi.services.cases import CaseDetail, get_case, record
from haechi.services.evidence import export_case
from haechi.store.custody import CustodyAction, CustodyEvent, append, entries
from haechi.store.custody_hash import format_time
from haechi.store.db import Database
from haechi.store.findings import Finding, minor_items
from haechi.store.items import get_item
from haechi.store.models import Sighting
from haechi.store.persons import Person

CUSTODY_ROWS = 60  # the report's extract; the package holds every entry about the items


@dataclass(frozen=True)
class ReportResult:
    """A written police report: its folder, its HTML and PDF files, the report itself, the
    digest the custody log records and that entry's sequence number."""

    path: Path
    html: Path
    pdf: Path
    report: PoliceReport
    sha256sums: str  # SHA-256 of the report folder's SHA256SUMS, as the custody log records it
    custody_seq: int


def takedown_requests_of(db: Database, case_id: int) -> tuple[TakedownLine, ...]:
    """The takedown requests about a case, for the report's list of actions taken.

    Empty until takedown requests are stored: extend this (read the `takedown_requests` table
    for `case_id`) when they are, and the report lists them."""
    del db, case_id
    return ()


def _utc(at: datetime | None) -> datetime | None:
    return None if at is None else (at if at.tzinfo else at.replace(tzinfo=UTC))


def _items(
    db: Database, shas: list[str], minors: set[str], authorised: bool
) -> tuple[ItemLine, ...]:
    out = []
    with db.session() as s:
        related = item_relations(s, shas)
        for sha in shas:
            view = get_item(s, sha)
            found = [
                f"{kind}{' ' + alias if alias else ''} ({status})"
                for kind, alias, status in s.execute(
                    select(Finding.kind, Person.alias, Finding.status)
                    .outerjoin(Person, Person.id == Finding.person_id)
                    .where(Finding.item_sha256 == sha)
                    .order_by(Finding.id)
                )
            ]
            times = [
                t
                for posted, seen in s.execute(
                    select(Sighting.posted_at, Sighting.seen_at).where(Sighting.item_sha256 == sha)
                )
                if (t := _utc(posted or seen)) is not None
            ]
            verdict = (view.signals.get("synthetic") or {}).get("verdict")
            out.append(
                ItemLine(
                    sha,
                    view.kind,
                    view.size,
                    tuple(dict.fromkeys(found)),
                    str(verdict) if verdict else None,
                    sha in minors,
                    sha in minors and not authorised,
                    min(times, default=None),
                    max(times, default=None),
                    len(times),
                    tuple(_relation(r) for r in related.get(sha, [])),
                )
            )
    return tuple(out)


def _relation(r: dict[str, Any]) -> RelationLine:
    keep = ("finding", "person", "score", "source_kind", "request", "related_sightings")
    return RelationLine(
        r["kind"],
        r.get("role"),
        r["related_item"],
        r["ko"],
        r["en"],
        r.get("difference_picture"),
        {k: r.get(k) for k in keep},
    )


_CASE_EVENTS: dict[str, tuple[str, str]] = {
    "opened": ("사건 열림", "case opened"),
    "items_added": ("항목 추가", "items added"),
    "note": (
        "메모 추가 (내용은 사건 기록에만 있음)",
        "note added (its text stays in the case file)",
    ),
    "status": ("상태 변경", "status changed"),
    "exported": ("증거 꾸러미 내보냄", "evidence package exported"),
    "reported": ("경찰 보고서 작성", "police report written"),
}


def _timeline(detail: CaseDetail, items: tuple[ItemLine, ...]) -> tuple[Event, ...]:
    events: list[Event] = []
    for e in detail.timeline:
        ko, en = _CASE_EVENTS.get(e.kind, (e.kind, e.kind))
        extra = ""
        if e.kind == "items_added":
            extra = f": {len(e.data.get('items') or [])}"
        elif e.kind == "status":
            extra = f": {e.data.get('before')} → {e.data.get('after')}"
        events.append(Event(e.at, f"{ko}{extra} ({e.actor})", f"{en}{extra} ({e.actor})"))
    for it in items:
        short = it.sha256[:12]
        if it.first_seen is not None:
            events.append(
                Event(
                    it.first_seen,
                    f"항목 {short} 최초 목격 (목격 {it.sightings}회)",
                    f"item {short} first seen ({it.sightings} sighting(s))",
                )
            )
        if it.last_seen is not None and it.last_seen != it.first_seen:
            events.append(
                Event(it.last_seen, f"항목 {short} 마지막 목격", f"item {short} last seen")
            )
    return tuple(sorted(events, key=lambda e: e.at))


def _package_line(res: PackageResult, folder: str) -> PackageLine:
    import json

    manifest: dict[str, Any] = json.loads((res.path / "manifest.json").read_text("utf-8"))
    custody = manifest["custody"]
    return PackageLine(
        folder,
        res.sha256sums,
        res.files,
        res.media,
        int(custody["entries"]),
        int(custody["head"]["seq"]),
        str(custody["head"]["head_hash"]),
        custody.get("timestamp"),
        res.left_out,
    )


def _custody(db: Database, case_id: int, shas: list[str]) -> tuple[tuple[CustodyLine, ...], int]:
    with db.session() as s:
        rows = entries(s, objects=[f"case:{case_id}", *(f"item:{sha}" for sha in shas)])
    lines = tuple(
        CustodyLine(r.seq, format_time(r.at), r.actor, str(r.action), r.object, r.entry_hash)
        for r in rows[-CUSTODY_ROWS:]
    )
    return lines, len(rows)


def _check_destination(settings: Settings, out: Path) -> Path:
    dest = out.expanduser().resolve()
    if dest.exists():
        raise InputError(
            _("{dest}: already exists; choose a new folder for the report").format(dest=dest)
        )
    if dest.is_relative_to(settings.home_dir.resolve()):
        raise InputError(
            _("{dest}: is inside the data directory; write the report outside it").format(dest=dest)
        )
    if not dest.parent.is_dir():
        raise InputError(_("{parent}: no such folder").format(parent=dest.parent))
    return dest


def gather(
    db: Database,
    settings: Settings,
    case_id: int,
    package: PackageLine,
    *,
    actor: str,
    authorise_minor: bool,
) -> PoliceReport:
    """The report's content, read from the case, the network and the custody log."""
    detail = get_case(db, case_id)
    shas = [i.sha256 for i in detail.items]
    with db.session() as s:
        minors = minor_items(s, shas)
    corpus = load_corpus(db, settings)
    net = network_of(corpus, settings)
    accounts = accounts_of_case(net, corpus, shas)
    rooms = case_rooms(net, case_clusters(net, shas))
    items = _items(db, shas, minors, authorise_minor)
    custody, total = _custody(db, case_id, shas)
    c = detail.case
    return PoliceReport(
        case_id=c.id,
        title=c.title,
        person=c.person,
        status=c.status,
        opened_at=c.created_at,
        opened_by=c.opened_by,
        created_at=datetime.now(UTC),
        created_by=actor,
        tool=f"haechi {__version__}",
        accounts=tuple(accounts),
        items=items,
        rooms=tuple((r, net.rooms[r].name if r in net.rooms else r) for r in rooms),
        timeline=_timeline(detail, items),
        package=package,
        custody=custody,
        custody_total=total,
        not_established=not_established(accounts, items),
        minor_authorised=authorise_minor and bool(minors),
        takedowns=takedown_requests_of(db, case_id),
    )


def write_police_report(
    db: Database,
    settings: Settings,
    case_id: int,
    out: Path,
    *,
    actor: str,
    authorise_minor: bool = False,
    recipients: tuple[str, ...] = (),
) -> ReportResult:
    """Write `out`/report.html, report.pdf, evidence/ (the case's package: media encrypted to
    `recipients`, or hashes only without them) and SHA256SUMS; log it in the custody log."""
    police.find_korean_font()  # fail before anything is exported, not after
    detail = get_case(db, case_id)
    if not detail.items:
        raise InputError(
            _(
                "case {case_id} has no items yet: `haechi case add {case_id} ITEM…` adds them"
            ).format(case_id=case_id)
        )
    dest = _check_destination(settings, out)
    build = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent))
    try:
        res = export_case(
            db,
            settings,
            case_id,
            build / "evidence",
            actor=actor,
            recipients=recipients,
            include_media=bool(recipients),
            authorise_minor=authorise_minor,
        )
        report = gather(
            db,
            settings,
            case_id,
            _package_line(res, "evidence"),
            actor=actor,
            authorise_minor=authorise_minor,
        )
        (build / "report.html").write_text(police.render_html(report), "utf-8")
        police.render_pdf(report, build / "report.pdf")
        sums = write_sha256sums(build)
        private_tree(build)
        build.replace(dest)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    try:
        with db.session() as s:
            details: dict[str, Any] = without_biometrics(
                {
                    "what": "police_report",
                    "folder": dest.name,
                    "sha256sums": sums,
                    "report_html": sha256_file(dest / "report.html"),
                    "report_pdf": sha256_file(dest / "report.pdf"),
                    "package_sha256sums": res.sha256sums,
                    "accounts": len(report.accounts),
                    "items": len(report.items),
                    "withheld": list(report.withheld),
                }
                | (
                    {"minor_authorised": sorted(minor_shas(report))}
                    if report.minor_authorised
                    else {}
                )
            )
            rec = append(s, CustodyEvent(actor, CustodyAction.REPORTED, f"case:{case_id}", details))
            seq = rec.seq
        record(db, case_id, actor, "reported", folder=dest.name, custody_seq=seq)
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)  # a report the log does not record must not exist
        raise
    return ReportResult(dest, dest / "report.html", dest / "report.pdf", report, sums, seq)


def minor_shas(report: PoliceReport) -> list[str]:
    """The SHA-256 of every report item flagged as a possible minor (those whose media needs
    an authorisation to be included)."""
    return [i.sha256 for i in report.items if i.possible_minor]
