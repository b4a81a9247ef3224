"""Core commands: init, scan, items, show, doctor, demo."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from haechi.cli.app import (
    add_row,
    app,
    err,
    esc,
    human_size,
    out,
    print_json,
    redact_url,
    state,
)
from haechi.i18n import N_, _
from haechi.matching.thresholds import PDQ_MIN_QUALITY
from haechi.safe_text import visible
from haechi.scan.pool import Analysers, WorkerPool
from haechi.scan.progress import Observer, ScanEvent, ScanSummary

# The pipeline, the store and their libraries load inside the commands: `haechi scan` starts its
# worker processes first and imports them while the workers load their models.
if TYPE_CHECKING:
    from haechi.matching.review import Grouped
    from haechi.sources import Source
    from haechi.store.db import Database


@app.command(help=_("Create the data directory and database (done on first use anyway)."))
def init() -> None:
    s = state.settings()
    state.db()
    out.print(_("data directory ready: {path}").format(path=esc(s.home_dir)))
    out.print(_("database: {url}").format(url=esc(redact_url(s.db_url))))
    from haechi.evidence.context import init_vault

    _vault, created = init_vault(s)
    key = _("passphrase (HAECHI_VAULT__PASSPHRASE)") if s.vault.passphrase else s.vault_key_file
    msg = (
        _("evidence vault created: {path} (key: {key})")
        if created
        else _("evidence vault ready: {path} (key: {key})")
    )
    out.print(msg.format(path=esc(s.vault_dir), key=esc(key)))
    out.print(
        _("next: `haechi enrol --alias NAME --consent …  PHOTO…`, then `haechi scan PATH…`"),
        markup=False,
        highlight=False,
    )


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(
            "" if speed is None else _("{rate:.1f} items/s").format(rate=speed), style="cyan"
        )


class _CliObserver(Observer):
    def __init__(self, db: Database, as_json: bool, progress: Progress | None) -> None:
        self.db = db
        self.as_json = as_json
        self.progress = progress
        self.task: TaskID | None = None

    def started(self, source: Source, total: int | None) -> None:
        if self.progress is not None:
            label = esc(f"{source.kind} {source.name}")  # the bar renders it as markup
            self.task = self.progress.add_task(label, total=total)

    def note(self, text: str) -> None:
        err.print(text, highlight=False, markup=False, soft_wrap=True)

    def handled(self, event: ScanEvent) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.advance(self.task)
        if self.as_json:
            print_json(_event_json(self.db, event))


def _event_json(db: Database, event: ScanEvent) -> dict[str, Any]:
    from haechi.services.items import item_detail, item_json

    if event.sha256 is not None:
        from haechi.matching.review import finding_json

        detail = item_detail(db, event.sha256)
        obj = item_json(detail.view, path=event.path)
        # What the scan found about the item (enrolled persons, banks), so a pipeline reading
        # the lines needs no second command.
        obj["findings"] = [finding_json(g) for g in detail.findings]
        if event.status == "error":
            obj["error"] = "; ".join(event.errors)
    else:
        obj = {
            "path": event.path,
            "sha256": None,
            "md5": None,
            "kind": None,
            "pdq": None,
            "pdq_quality": None,
            "frames": [],
            "findings": [],
            "error": "; ".join(event.errors),
        }
    obj["status"] = event.status
    return obj


@app.command(
    help=_(
        "Scan folders, archives, exports, WARCs and single files: "
        "hash every file, decode and analyse images and videos; "
        "audio and documents are hashed and sighted."
    )
)
def scan(
    paths: Annotated[
        list[Path],
        typer.Argument(help=_("Folders, .zip archives, exports, WARCs or single media files.")),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help=_("Print one JSON object per file (JSON Lines)."))
    ] = False,
    source: Annotated[
        str | None, typer.Option(help=_("Force a source kind instead of recognising it."))
    ] = None,
    progress: Annotated[bool, typer.Option(help=_("Show a progress bar."))] = True,
    engine: Annotated[
        str,
        typer.Option(
            help=_(
                "Where files are analysed: 'local' (worker processes here) or 'ray' "
                "(Ray actors; needs pip install 'haechi[cluster]')."
            )
        ),
    ] = "local",
    address: Annotated[
        str | None,
        typer.Option(
            help=_(
                "With --engine ray: the Ray cluster (HEAD:6379, auto, or ray://HEAD:10001); "
                "without it a local Ray starts with the configured workers."
            )
        ),
    ] = None,
) -> None:
    settings = state.settings()
    if engine not in ("local", "ray"):
        raise typer.BadParameter(
            _("--engine is 'local' or 'ray', not {engine}").format(engine=engine)
        )
    if address is not None and engine != "ray":
        raise typer.BadParameter(_("--address needs --engine ray"))
    pool: Analysers | None
    if engine == "ray":
        from haechi.scan.ray_engine import RayPool

        pool = RayPool(settings, address).start()
    else:
        pool = WorkerPool(settings).start() if settings.workers > 1 else None
    try:
        summaries = _scan(paths, as_json, source, progress, pool)
    finally:
        if pool is not None:
            pool.close()
    console = err if as_json else out
    _print_summaries(summaries, console)
    if any(sm.findings for sm in summaries):
        nxt = _("next: `haechi findings` (highest risk first), then `haechi review`")
    else:
        nxt = _("next: `haechi items` (what was stored), `haechi rooms` (chat rooms by risk)")
    console.print(nxt, markup=False, highlight=False)


def _scan(
    paths: list[Path],
    as_json: bool,
    source: str | None,
    progress: bool,
    pool: Analysers | None,
) -> list[ScanSummary]:
    from haechi.scan import scan_paths

    db = state.db()
    observer = _CliObserver(db, as_json, None)
    if progress and err.is_terminal:
        bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            _RateColumn(),
            TimeRemainingColumn(),
            console=err,
        )
        observer.progress = bar
        with bar:
            return scan_paths(
                db, state.settings(), paths, observer=observer, source_kind=source, pool=pool
            )
    return scan_paths(db, state.settings(), paths, observer=observer, source_kind=source, pool=pool)


def _print_summaries(summaries: Sequence[ScanSummary], console: Console) -> None:
    table = Table(title=_("scan summary"))
    cols = (
        _("source"),
        _("files"),
        _("new"),
        _("known"),
        _("unchanged"),
        _("errors"),
        _("items/s"),
        _("messages"),
    )
    for i, col in enumerate(cols):
        table.add_column(col, justify="left" if i == 0 else "right")
    for sm in summaries:
        rate = sm.seen / sm.seconds if sm.seconds > 0 else 0.0
        add_row(
            table,
            f"{sm.kind}: {sm.source}",
            str(sm.seen),
            str(sm.new_items),
            str(sm.known_items),
            str(sm.unchanged),
            str(sm.errors),
            f"{rate:.1f}",
            _("{messages} in {rooms} room(s)").format(messages=sm.messages, rooms=sm.rooms)
            if sm.rooms
            else "-",
        )
    console.print(table)
    _print_findings(summaries, console)
    for sm in summaries:
        for line in sm.error_lines[:50]:
            console.print(
                _("[yellow]skipped[/] {reason}").format(reason=esc(line)),
                highlight=False,
                soft_wrap=True,
            )
        if len(sm.error_lines) > 50:
            console.print(
                _("… and {n} more (see `haechi items --errors`)").format(
                    n=len(sm.error_lines) - 50
                ),
                markup=False,
            )


def _print_findings(summaries: Sequence[ScanSummary], console: Console) -> None:
    """How many findings the scan made, and whether their items are safe in the vault."""
    findings = sum(sm.findings for sm in summaries)
    if not findings:
        console.print(_("new findings: none"))
        return
    items = set().union(*(sm.finding_items for sm in summaries))
    kept = set().union(*(sm.preserved_items for sm in summaries))
    console.print(
        _("{findings} new finding(s) in {items} item(s): see `haechi findings`").format(
            findings=findings, items=len(items)
        ),
        highlight=False,
        markup=False,
    )
    if not all(sm.auto_capture for sm in summaries):
        console.print(
            _(
                "automatic preservation is off (HAECHI_VAULT__CAPTURE_FINDINGS=false): preserve "
                "them with `haechi evidence capture ITEM`"
            ),
            highlight=False,
            markup=False,
        )
        return
    if kept:
        console.print(
            _(
                "{n} of them preserved automatically in the evidence vault "
                "(encrypted copy and custody log entry: `haechi evidence log`)"
            ).format(n=len(kept)),
            highlight=False,
            markup=False,
        )
    for sha in sorted(items - kept):
        console.print(
            _(
                "[yellow]not preserved[/] {sha}: its bytes could not be read; "
                "retry with `haechi evidence capture`"
            ).format(sha=sha),
            highlight=False,
            soft_wrap=True,
        )


@app.command("items", help=_("List stored items, each once, with every place it was seen."))
def items_cmd(
    kind: Annotated[
        str | None,
        typer.Option(help=_("Only items of this kind (image, video, audio, document).")),
    ] = None,
    errors: Annotated[bool, typer.Option("--errors", help=_("Only items with errors."))] = False,
    limit: Annotated[int, typer.Option(help=_("Show at most this many (0: all)."))] = 0,
    as_json: Annotated[bool, typer.Option("--json", help=_("JSON Lines, one per item."))] = False,
) -> None:
    from haechi.services.items import item_json, item_risk, iter_items, source_errors

    db = state.db()
    table = Table()
    for col in (
        "sha256",
        _("kind"),
        _("format"),
        _("size"),
        _("pixels"),
        _("pdq q"),
        _("risk"),
        _("seen"),
        _("first place"),
    ):
        table.add_column(col)
    n = 0
    views = iter_items(db, kind=kind, errors_only=errors)
    try:
        for view in views:
            if limit and n >= limit:
                break
            n += 1
            if as_json:
                print_json(item_json(view))
                continue
            q = view.pdq.get("quality")
            add_row(
                table,
                view.sha256[:12],
                view.kind or "-",
                view.format or "-",
                human_size(view.size),
                f"{view.width}x{view.height}" if view.width else "-",
                "-" if q is None else str(q),
                f"{item_risk(view).score:.2f}",
                str(len(view.sightings)),
                view.sightings[0].path if view.sightings else "-",
            )
    finally:
        views.close()  # ends the reading session before the next query
    orphans = source_errors(db) if errors and not as_json else []
    if not as_json:
        out.print(table)
        out.print(_("{n} item(s)").format(n=n))
        for e in orphans:
            out.print(
                _("[yellow]unread[/] {where}: {reason}").format(
                    where=esc(e.locator), reason=esc(e.reason)
                ),
                highlight=False,
            )
        if n:
            out.print(_("next: `haechi show SHA256` (one item in full)"), markup=False)


@app.command(
    help=_(
        "Show one item: hashes, media facts, faces and the enrolled "
        "persons they match, the sexual-content score, the synthetic "
        "verdict with its evidence, the risk and its parts, where it "
        "was seen (files and chat rooms), and the network roles on "
        "its content."
    )
)
def show(
    item: Annotated[str, typer.Argument(help=_("An item's SHA-256, or a unique prefix of it."))],
    as_json: Annotated[bool, typer.Option("--json", help=_("Print JSON."))] = False,
) -> None:
    from haechi.matching.review import finding_json, network_view, roles_line
    from haechi.services.items import item_detail, item_json

    detail = item_detail(state.db(), item)
    view, chats, found = detail.view, detail.chats, detail.findings
    net = None
    if chats:
        from haechi.network.build import build_network  # only for an item posted in chats

        net = build_network(state.db(), state.settings())
    roles = network_view(net, view.sha256)
    obj = item_json(view)
    if as_json:
        print_json(
            obj
            | {
                "signals": view.signals,
                "findings": [finding_json(g) for g in found],
                "chats": [c.to_json() for c in chats],
                "network": roles,
            }
        )
        return
    out.print(f"[bold]{view.sha256}[/]")
    out.print(
        _("md5 {md5}  size {size}  {kind} {format}").format(
            md5=view.md5,
            size=human_size(view.size),
            kind=view.kind or "?",
            format=view.format or "",
        ),
        markup=False,
        highlight=False,
    )
    if view.width:
        dur = f"  {view.duration:.1f} s" if view.duration else ""
        out.print(f"{view.width}x{view.height}{dur}")  # no-i18n
    pdq = view.pdq
    if pdq.get("pdq"):
        line = _("pdq {pdq}  quality {quality}").format(pdq=pdq["pdq"], quality=pdq["quality"])
        if (pdq.get("quality") or 0) < PDQ_MIN_QUALITY:
            line += "  " + _("(low quality: not trusted)")
        out.print(line, markup=False, highlight=False)
    for f in pdq.get("frames", [])[:20]:
        out.print(f"  t={f['t']:>7.2f}s pdq {f['pdq']}  q {f['quality']}")  # no-i18n
    if len(pdq.get("frames", [])) > 20:
        out.print("  " + _("… {n} more frames").format(n=len(pdq["frames"]) - 20))
    _print_faces(obj.get("faces"), found)
    _print_signals(obj)
    if view.notes:
        out.print(_("notes: {notes}").format(notes=visible(view.notes)), markup=False)
    for e in view.errors:
        label = _("error")
        out.print(f"[yellow]{label}[/] {esc(e)}", highlight=False)
    out.print(_("seen {n} time(s):").format(n=len(view.sightings)))
    for sg in view.sightings:
        extra = " ".join(
            f"{k}={v}"
            for k, v in (("room", sg.room), ("message", sg.message_id), ("by", sg.poster))
            if v
        )
        out.print(f"  {esc(sg.path)}  {esc(extra)}", highlight=False)
    if chats:
        out.print(_("in chats ({n}):").format(n=len(chats)))
        for c in chats:
            out.print(f"  {esc(c.line())}", highlight=False)
    if roles is not None:
        why = ", ".join(roles["interest"]) or _("not of interest")
        out.print(
            _("network: content {content} ({why})").format(
                content=visible(roles["content"]), why=visible(why)
            ),
            markup=False,
            highlight=False,
        )
        out.print(
            "  " + _("roles: {roles}").format(roles=visible(roles_line(roles))),
            markup=False,
            highlight=False,
        )
    if found:
        out.print(
            _(
                "next: `haechi review` (confirm or dismiss), "
                "`haechi case new --person {alias}` (a case for her)"
            ).format(alias=visible(found[0].person or "ALIAS")),
            markup=False,
            highlight=False,
        )


_BANDS = {
    "strong": N_("strong"),
    "clear": N_("clear"),
    "borderline": N_("borderline: look closely"),
}


def _face_changed_line(g: Grouped) -> str:
    """Same scene as another item with the face region changed: who is likely altered."""
    d = g.best.details or {}
    leads = {
        "likely_manipulated": _("likely manipulated"),
        "source": _("source of a manipulated picture"),
        "altered_pair": _("one of these two was altered"),
    }
    line = _(
        "{lead}: same scene as item {item} with the face at {box} changed "
        "(face cosine {score:.2f}; {inliers} keypoints outside the faces agree)"
    ).format(
        lead=leads.get(str(d.get("role")), str(d.get("role"))),
        item=str(d.get("related_item", ""))[:12],
        box=",".join(str(v) for v in d.get("box") or ()),
        score=g.best.score,
        inliers=d.get("inliers"),
    )
    frames = d.get("frames") or []
    if frames:
        times = sorted({float(f["t"]) for f in frames})
        line += "; " + _(
            "a video: the face differs in {n} of {m} frames compared, {start:.1f}–{end:.1f} s"
        ).format(n=len(times), m=d.get("frames_compared"), start=times[0], end=times[-1])
    if d.get("difference_picture"):
        line += "; " + _("difference picture {sha} in the vault").format(
            sha=d["difference_picture"]
        )
    return line


def _source_photo_line(g: Grouped) -> str:
    """This face was taken from that photo of hers (or this photo's face was put there); for
    a photo posted with a request, who asked, where and when."""
    d = g.best.details or {}
    asked = d.get("request") if d.get("source_kind") == "request" else None
    if d.get("role") != "taken_from":
        text = _(
            "the face of {person} in this photo was put into item {item} "
            "(pixel agreement {score:.3f})"
        )
    elif asked:
        text = _(
            "this face of {person} was taken from photo {item}, posted in a request by "
            "{author} in {room} at {at} (pixel agreement {score:.3f})"
        )
    else:
        text = _(
            "this face of {person} was taken from her photo {item} (pixel agreement {score:.3f})"
        )
    line = text.format(
        person=visible(g.person or "?"),
        item=str(d.get("related_item", ""))[:12],
        score=g.best.score,
        author=visible((asked or {}).get("author") or "?"),
        room=visible((asked or {}).get("room") or "?"),
        at=(asked or {}).get("at") or "?",
    )
    if asked and asked.get("link"):
        line += " " + visible(asked["link"])
    return line


def _print_faces(faces: dict[str, Any] | None, found: Sequence[Grouped]) -> None:
    """Faces found, which could be judged, and which enrolled persons they match: scores and
    bands only, never a vector."""
    from haechi.matching.review import similarity_band

    if faces is not None:
        unusable: dict[str, int] = {}
        for f in faces["found"]:
            if not f["usable"]:
                key = f["reason"] or "?"
                unusable[key] = unusable.get(key, 0) + 1
        line = _("faces: {count} found, {usable} usable for matching").format(
            count=faces["count"], usable=faces["usable"]
        )
        if unusable:
            line += " (" + ", ".join(f"{why}: {n}" for why, n in sorted(unusable.items())) + ")"
        out.print(line, markup=False, highlight=False)
    for g in found:
        if g.kind == "face_match":
            band = similarity_band(g.best.score, g.best.threshold)
            line = _(
                "matches {person}: similarity {score:.3f} ({band}; threshold {threshold:.2f})"
            ).format(
                person=visible(g.person or "?"),
                score=g.best.score,
                band=_(_BANDS[band]),
                threshold=g.best.threshold,
            )
        elif g.kind == "own_media_match":
            line = _(
                "own file of {person}: PDQ distance {score:.0f} (limit {threshold:.0f})"
            ).format(
                person=visible(g.person or "?"), score=g.best.score, threshold=g.best.threshold
            )
        elif g.kind == "face_changed":
            line = _face_changed_line(g)
        elif g.kind == "source_photo":
            line = _source_photo_line(g)
        else:
            line = f"{g.kind} {visible(g.person or g.subject)}: {g.best.score:.3f}"
        variant = (g.best.details or {}).get("pdq_variant")
        if variant and variant != "original":
            line += " " + _("(matched as this picture {variant})").format(
                variant=variant.replace("_", " ")
            )
        times = g.times
        if len(times) > 1:
            line += " " + _("in {n} frames, {start:.2f}–{end:.2f} s").format(
                n=len(g.places), start=times[0], end=times[-1]
            )
        elif times:
            line += " " + _("at {t:.2f} s").format(t=times[0])
        status = _(_STATUSES[g.status]) if g.status in _STATUSES else g.status
        line += " · " + _("finding {id}: {status}").format(id=g.best.id, status=status)
        if g.best.possible_minor:
            line += " · " + _("possible minor")
        out.print("  " + line, markup=False, highlight=False)


def _print_signals(obj: dict[str, Any]) -> None:
    """The sexual-content score, the synthetic verdict with its evidence, and the risk."""
    sexual = obj.get("sexual")
    if sexual and sexual.get("score") is not None:
        out.print(
            _("sexual content score: {score:.2f} (0 to 1, higher is more likely sexual)").format(
                score=sexual["score"]
            ),
            markup=False,
            highlight=False,
        )
    synthetic = obj.get("synthetic")
    if synthetic and synthetic.get("verdict"):
        conf = synthetic.get("confidence")
        out.print(
            _("synthetic: {verdict} (confidence {confidence})").format(
                verdict=_(_VERDICTS.get(synthetic["verdict"], synthetic["verdict"])),
                confidence="-" if conf is None else f"{conf:.2f}",
            ),
            markup=False,
            highlight=False,
        )
        for line in synthetic.get("evidence") or []:
            out.print(f"  - {visible(line)}", markup=False, highlight=False)
    r = obj["risk"]
    parts = [
        _("{part} {value} × {weight} = {contribution}").format(
            part=_(_RISK_PARTS.get(p["name"], p["name"])),
            value=f"{p['value']:.2f}",
            weight=p["weight"],
            contribution=f"{p['contribution']:.3f}",
        )
        for p in r["parts"]
        if p["value"] is not None
    ]
    unmeasured = [
        _(_RISK_PARTS.get(p["name"], p["name"])) for p in r["parts"] if p["value"] is None
    ]
    out.print(
        _("risk {score:.2f}: {parts}").format(
            score=r["score"], parts="; ".join(parts) or _("nothing measured")
        ),
        markup=False,
        highlight=False,
    )
    if unmeasured:
        out.print(
            "  " + _("not measured: {parts}").format(parts=", ".join(unmeasured)),
            markup=False,
            highlight=False,
        )


_STATUSES = {
    "open": N_("open"),
    "confirmed": N_("confirmed"),
    "dismissed": N_("dismissed"),
    "escalated": N_("escalated"),
    "mixed": N_("mixed"),
}
_VERDICTS = {
    "likely_synthetic": N_("likely synthetic (AI-generated)"),
    "likely_manipulated": N_("likely manipulated"),
    "no_evidence": N_("no evidence of synthesis"),
}
_RISK_PARTS = {
    "sexual": N_("sexual"),
    "face_match": N_("enrolled face"),
    "synthetic": N_("synthetic"),
    "face_match×sexual": N_("enrolled face × sexual"),
}


@app.command(
    help=_(
        "Check that every dependency loads offline, the analyzers "
        "reproduce their known examples, the data directory is "
        "writable and private, the database opens, and the evidence "
        "vault opens with its key."
    )
)
def doctor() -> None:
    from haechi.doctor import run_checks

    ok = True
    for check in run_checks(state.settings()):
        mark = _("[green]ok[/]") if check.ok else _("[red]FAIL[/]")
        out.print(f"{mark}  {esc(check.name)}: {esc(check.detail)}", highlight=False)
        ok &= check.ok
    if not ok:
        raise typer.Exit(1)


@app.command(
    help=_(
        "Build a demo corpus (public-domain and generated images, a "
        "Telegram export), scan it, explain the result, and export "
        "the Telegram finding in an evidence package."
    )
)
def demo(
    fresh: Annotated[bool, typer.Option(help=_("Rebuild the demo corpus first."))] = False,
) -> None:
    from haechi.demo import run_demo

    run_demo(state.settings(), state.db(), out, fresh=fresh)
