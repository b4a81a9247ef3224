"""`haechi capture URL…`: fetch pages and their media into WARC files, then scan them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from haechi.cli.app import app, err, esc, human_size, out, print_json, state
from haechi.errors import InputError
from haechi.progress import Observer, ScanEvent, ScanSummary

if TYPE_CHECKING:  # the capture code (httpx, warcio) is imported when `capture` runs
    from haechi.capture import Capture


class _Events(Observer):
    def __init__(self) -> None:
        self.events: list[ScanEvent] = []

    def handled(self, event: ScanEvent) -> None:
        self.events.append(event)


@app.command()
def capture(
    urls: Annotated[list[str], typer.Argument(help="Pages to capture (http or https).")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object per page (JSON Lines).")
    ] = False,
) -> None:
    """Capture web pages with their images and videos into WARC files (the evidentiary copy),
    then scan the media. This command uses the network; analysing the media does not."""
    from sqlalchemy import select

    from haechi.capture import capture_page
    from haechi.scan import scan_paths
    from haechi.store.models import Sighting

    settings = state.settings()
    db = state.db()
    failed = 0
    console = err if as_json else out
    for i, url in enumerate(urls):
        try:
            cap = capture_page(settings, url)
        except InputError as exc:
            failed += 1
            if as_json:
                print_json({"url": url, "error": str(exc)})
            else:
                err.print(f"[red]not captured[/] {esc(exc)}", highlight=False, soft_wrap=True)
            continue
        events = _Events()
        (summary,) = scan_paths(db, settings, [cap.warc], observer=events, source_kind="warc")
        with db.session() as s:
            rows = s.execute(
                select(Sighting.locator, Sighting.url).where(Sighting.scan_id == summary.scan_id)
            )
            by_record: dict[str, str | None] = {loc: u for loc, u in rows}
        if as_json:
            print_json(_json(cap, summary, events.events, by_record))
        else:
            _print(console, cap, summary, events.events, by_record)
        if cap.stopped == "interrupted":
            # What was fetched is kept and scanned above; the person asked to stop.
            left = len(urls) - i - 1
            more = f"; {left} more page(s) not captured" if left else ""
            err.print(f"interrupted: {cap.warc} holds what was fetched{more}", highlight=False)
            raise typer.Exit(130)
    if failed:
        raise typer.Exit(3)


def _json(
    cap: Capture, summary: ScanSummary, events: list[ScanEvent], urls: dict[str, str | None]
) -> dict[str, Any]:
    return cap.to_json() | {
        "scan": {
            "files": summary.seen,
            "new": summary.new_items,
            "known": summary.known_items,
            "errors": summary.errors,
        },
        "items": [
            {
                "record": e.locator,
                "url": urls.get(e.locator),
                "sha256": e.sha256,
                "status": e.status,
                "errors": list(e.errors),
            }
            for e in events
        ],
    }


def _print(
    console: Any,
    cap: Capture,
    summary: ScanSummary,
    events: list[ScanEvent],
    urls: dict[str, str | None],
) -> None:
    console.print(f"[bold]{esc(cap.url)}[/]", highlight=False)
    if cap.final_url != cap.url:
        console.print(f"  redirected to {esc(cap.final_url)}", highlight=False)
    ok = [f for f in cap.fetches if f.problem is None and f.redirected_to is None]
    total = sum(f.size for f in ok)
    console.print(f"  fetched {len(ok)} URL(s), {human_size(total)}", highlight=False)
    if cap.stopped == "deadline":
        console.print(
            "  [yellow]stopped at the capture deadline[/] (capture.deadline_seconds); "
            "the WARC holds what was fetched until then",
            highlight=False,
        )
    elif cap.stopped == "interrupted":
        console.print(
            "  [yellow]interrupted[/]; the WARC holds what was fetched until then",
            highlight=False,
        )
    for f in cap.problems:
        console.print(
            f"  [yellow]not captured[/] {esc(f.problem)}", highlight=False, soft_wrap=True
        )
    console.print(f"  WARC {esc(cap.warc)}", highlight=False)
    console.print(f"  sha256 {cap.sha256}", highlight=False)
    console.print(
        f"  media: {summary.seen} scanned, {summary.new_items} new, "
        f"{summary.known_items} known, {summary.errors} with errors",
        highlight=False,
    )
    for e in [e for e in events if e.status == "error"][:50]:
        where = urls.get(e.locator) or e.path
        console.print(
            f"  [yellow]bad media[/] {esc(where)}: {esc('; '.join(e.errors))}",
            highlight=False,
            soft_wrap=True,
        )
