"""The second half of `haechi demo`: acting on what was found. The demo person's findings open a
case; her photo is re-uploaded to a page that a small web server on this machine serves (it
stands in for a hosting provider); haechi captures the page, finds her, drafts the takedown
request in seven languages, a supervisor approves it, it is marked sent; the host takes the
photo down and puts it back up, and two rechecks see both; the case ends in a police report
package. Every step is a service function the CLI and the web app call as well."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from haechi.config import Settings
from haechi.i18n import _
from haechi.store.db import Database

SITE = "demo-site"
PAGE = "gallery.html"
PHOTO = "upload-1.jpg"
SUPERVISOR = "demo-supervisor"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def _serve(folder: Path) -> Iterator[str]:
    """`folder` over HTTP on the loopback interface, for as long as the block runs."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def _site(settings: Settings) -> tuple[Path, bytes]:
    """The re-upload: her photo, recompressed and resized (other bytes, the same face), on a
    page, as a host would serve it."""
    import io

    from haechi.examples import example_photo

    folder = settings.home_dir / SITE
    folder.mkdir(parents=True, exist_ok=True)
    im = example_photo().convert("RGB")
    im = im.resize((im.width * 3 // 4, im.height * 3 // 4))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=72)
    (folder / PAGE).write_text(
        f'<!doctype html><title>gallery</title><img src="{PHOTO}" alt="upload">\n', "utf-8"
    )
    return folder, buf.getvalue()


def _investigator(settings: Settings) -> tuple[str, ...]:
    """The public key of the demo investigator (made by the first half of the demo)."""
    import pyrage

    key_file = settings.home_dir / "demo-investigator.key"
    if not key_file.is_file():
        return ()
    identity = pyrage.x25519.Identity.from_str(key_file.read_text(encoding="utf-8").strip())
    return (str(identity.to_public()),)


def act_demo(db: Database, settings: Settings, console: Console, alias: str) -> None:
    """The demo's second half for `alias` (see the module docstring), printed step by step on
    `console`. Serves a page on this machine and lets only the demo's capture reach private
    addresses; ends with the next commands to try."""
    from haechi.capture import capture_page
    from haechi.evidence.context import actor_name
    from haechi.scan import scan_paths
    from haechi.services import cases, drafts, recheck, takedown
    from haechi.services.report import write_police_report
    from haechi.takedown.templates import LANGUAGES

    actor = actor_name(settings)
    # The capture guard refuses private addresses; the demo's host is this machine, on purpose.
    local = settings.model_copy(
        update={"capture": settings.capture.model_copy(update={"allow_private": True})}
    )
    console.print(
        "\n[bold]" + _("From findings to action: a case, takedowns, a police report") + "[/]"
    )
    mine = [c for c in cases.list_cases(db) if c.person == alias and c.status != "closed"]
    case = mine[0] if mine else cases.open_case(db, actor, person=alias, title="haechi demo")
    console.print(
        _(
            "case {id} for {alias}: {items} item(s), her findings joined it as they were made"
        ).format(id=case.id, alias=alias, items=cases.get_case(db, case.id).case.items)
    )
    folder, photo = _site(settings)
    (folder / PHOTO).write_bytes(photo)
    with _serve(folder) as base:
        page = f"{base}/{PAGE}"
        cap = capture_page(local, page)
        scan_paths(db, local, [cap.warc], source_kind="warc")
        console.print(
            _(
                "her photo re-uploaded at {url} (served by this machine, standing in for a "
                "host): captured into {warc} and scanned; the match joined case {id}"
            ).format(url=escape(page), warc=escape(str(cap.warc)), id=case.id),
            highlight=False,
        )
        report = drafts.draft(db, settings, case.id, LANGUAGES, actor)
        web = [r for r in report.drafted if r.location.startswith(base)]
        console.print(
            _("{n} takedown request(s) drafted in {langs} languages in {folder}").format(
                n=len(report.drafted), langs=len(LANGUAGES), folder=escape(str(report.folder))
            ),
            highlight=False,
        )
        if not web:
            console.print(_("[yellow]no request for the served page[/]: the face was not found"))
            return
        req = web[0]
        takedown.approve(db, req.id, SUPERVISOR, actor)
        sent = takedown.mark(db, req.id, "sent", actor)
        console.print(
            _(
                "request {id} ({platform}) approved by {by} and marked sent; an answer is "
                "expected by {due:%Y-%m-%d}"
            ).format(id=req.id, platform=req.platform, by=SUPERVISOR, due=sent.due_at),
            highlight=False,
        )
        (folder / PHOTO).unlink()
        gone = [
            r for r in recheck.recheck(db, local, actor, case_id=case.id) if r.request_id == req.id
        ]
        (folder / PHOTO).write_bytes(photo)
        back = [
            r for r in recheck.recheck(db, local, actor, case_id=case.id) if r.request_id == req.id
        ]
    for label, results in ((_("host took it down"), gone), (_("host put it back"), back)):
        for r in (r for r in results if r.request_id == req.id):
            console.print(
                _("recheck after the {what}: {result}; request {id} is now {state}").format(
                    what=label, result=r.result, id=r.request_id, state=r.state
                )
                + (
                    _(" (new finding {finding}, matched by {how})").format(
                        finding=r.finding_id, how=r.how
                    )
                    if r.finding_id
                    else ""
                ),
                highlight=False,
            )
    out = free_place(settings.home_dir.parent / f"{settings.home_dir.name}-police-report")
    res = write_police_report(
        db, settings, case.id, out, actor=actor, recipients=_investigator(settings)
    )
    console.print(
        _(
            "police report package: {path} (report.html and report.pdf in Korean and English, "
            "the case's evidence package with media encrypted to the demo investigator's key, "
            "SHA256SUMS)"
        ).format(path=escape(str(res.path))),
        highlight=False,
    )
    console.print(
        _(
            "next: `haechi case show {id}` (the timeline), `haechi takedown list --case {id}`, "
            "`haechi review --case {id}`; docs/act.md walks through each step"
        ).format(id=case.id),
        markup=False,
        highlight=False,
    )


def free_place(path: Path) -> Path:
    """`path`, or the first `path-2`, `path-3` … not taken: each demo run writes new packages
    and never overwrites an earlier one."""
    n, place = 1, path
    while place.exists():
        n += 1
        place = path.with_name(f"{path.name}-{n}")
    return place
