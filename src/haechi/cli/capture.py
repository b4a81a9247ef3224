"""`haechi capture URL…`: fetch pages and their media into WARC files, then scan them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from haechi.cli.app import app, err, esc, human_size, out, print_json, state
from haechi.errors import InputError
from haechi.i18n import _
from haechi.scan.progress import Observer, ScanEvent, ScanSummary

if TYPE_CHECKING:  # the capture code (httpx, warcio) is imported when `capture` runs
    from haechi.capture import Capture


class _Events(Observer):
    def __init__(self) -> None:
        self.events: list[ScanEvent] = []

    def handled(self, event: ScanEvent) -> None:
        self.events.append(event)


@app.command(
    help=_(
        "Capture web pages with their images and videos into WARC "
        "files (the evidentiary copy), then scan the media. This "
        "command uses the network; analysing the media does not."
    )
)
def capture(
    urls: Annotated[list[str], typer.Argument(help=_("Pages to capture (http or https)."))],
    as_json: Annotated[
        bool, typer.Option("--json", help=_("Print one JSON object per page (JSON Lines)."))
    ] = False,
) -> None:
    from haechi.capture import capture_page
    from haechi.scan import scan_paths
    from haechi.services.items import scan_urls

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
                err.print(
                    _("[red]not captured[/] {reason}").format(reason=esc(exc)),
                    highlight=False,
                    soft_wrap=True,
                )
            continue
        events = _Events()
        (summary,) = scan_paths(db, settings, [cap.warc], observer=events, source_kind="warc")
        by_record = scan_urls(db, summary.scan_id)
        if as_json:
            print_json(_json(cap, summary, events.events, by_record))
        else:
            _print(console, cap, summary, events.events, by_record)
        if cap.stopped == "interrupted":
            # What was fetched is kept and scanned above; the person asked to stop.
            left = len(urls) - i - 1
            line = _("interrupted: {warc} holds what was fetched").format(warc=cap.warc)
            if left:
                line += "; " + _("{n} more page(s) not captured").format(n=left)
            err.print(line, highlight=False, markup=False)
            raise typer.Exit(130)
    if failed:
        raise typer.Exit(3)
    if not as_json:
        out.print(
            _("next: `haechi findings` (matches with enrolled persons), `haechi items`"),
            markup=False,
            highlight=False,
        )


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
        console.print(
            "  " + _("redirected to {url}").format(url=esc(cap.final_url)), highlight=False
        )
    ok = [f for f in cap.fetches if f.problem is None and f.redirected_to is None]
    total = sum(f.size for f in ok)
    console.print(
        "  " + _("fetched {n} URL(s), {size}").format(n=len(ok), size=human_size(total)),
        highlight=False,
    )
    if cap.stopped == "deadline":
        console.print(
            "  "
            + _(
                "[yellow]stopped at the capture deadline[/] (capture.deadline_seconds); "
                "the WARC holds what was fetched until then"
            ),
            highlight=False,
        )
    elif cap.stopped == "interrupted":
        console.print(
            "  " + _("[yellow]interrupted[/]; the WARC holds what was fetched until then"),
            highlight=False,
        )
    for f in cap.problems:
        console.print(
            "  " + _("[red]not captured[/] {reason}").format(reason=esc(f.problem)),
            highlight=False,
            soft_wrap=True,
        )
    console.print(f"  WARC {esc(cap.warc)}", highlight=False)  # no-i18n
    console.print(f"  sha256 {cap.sha256}", highlight=False)  # no-i18n
    console.print(
        "  "
        + _("media: {seen} scanned, {new} new, {known} known, {errors} with errors").format(
            seen=summary.seen,
            new=summary.new_items,
            known=summary.known_items,
            errors=summary.errors,
        ),
        highlight=False,
    )
    for e in [e for e in events if e.status == "error"][:50]:
        where = urls.get(e.locator) or e.path
        console.print(
            "  "
            + _("[yellow]bad media[/] {where}: {reason}").format(
                where=esc(where), reason=esc("; ".join(e.errors))
            ),
            highlight=False,
            soft_wrap=True,
        )
