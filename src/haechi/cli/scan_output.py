"""What `haechi scan` prints while and after it runs: the progress bar, JSON lines, the summary
table and the findings."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
    err,
    esc,
    print_json,
    state,
)
from haechi.i18n import _
from haechi.scan.pool import Analysers
from haechi.scan.progress import Observer, ScanEvent, ScanSummary

# The pipeline, the store and their libraries load inside the commands: `haechi scan` starts its
# worker processes first and imports them while the workers load their models.
if TYPE_CHECKING:
    from haechi.sources import Source
    from haechi.store.db import Database


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


def run_scan(
    paths: list[Path],
    as_json: bool,
    source: str | None,
    progress: bool,
    pool: Analysers | None,
) -> list[ScanSummary]:
    """Scan the paths into the store, with a progress bar on a terminal and one JSON line per
    item when asked. `pool`: the worker processes the caller started early and closes."""
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


def print_summaries(summaries: Sequence[ScanSummary], console: Console) -> None:
    """One table row per scanned source, then what was found and preserved."""
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
