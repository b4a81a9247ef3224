"""Core commands: init, scan, items, show, doctor, demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

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
from haechi.cli.scan_output import print_summaries, run_scan
from haechi.cli.show_output import print_faces, print_signals
from haechi.i18n import _
from haechi.matching.thresholds import PDQ_MIN_QUALITY
from haechi.safe_text import visible
from haechi.scan.pool import Analysers, WorkerPool

# The pipeline, the store and their libraries load inside the commands: `haechi scan` starts its
# worker processes first and imports them while the workers load their models.


@app.command(help=_("Create the data directory and database (done on first use anyway)."))
def init() -> None:
    s = state.settings()
    state.db()
    out.print(_("data directory ready: {path}").format(path=esc(s.home_dir)))
    out.print(_("database: {url}").format(url=esc(redact_url(s.db_url))))
    from haechi.evidence.context import init_vault

    _vault, created = init_vault(s, state.db())
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
        summaries = run_scan(paths, as_json, source, progress, pool)
    finally:
        if pool is not None:
            pool.close()
    console = err if as_json else out
    print_summaries(summaries, console)
    if any(sm.findings for sm in summaries):
        nxt = _("next: `haechi findings` (highest risk first), then `haechi review`")
    else:
        nxt = _("next: `haechi items` (what was stored), `haechi rooms` (chat rooms by risk)")
    console.print(nxt, markup=False, highlight=False)


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
    from haechi.services.items import item_detail, item_json, signals_json

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
                "signals": signals_json(view.signals),
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
    print_faces(obj.get("faces"), found)
    print_signals(obj)
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
