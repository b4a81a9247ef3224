"""`haechi findings`: the findings about enrolled persons to review, one per item and person. Its
own module, named after persons so it registers after them and the help order stays."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from haechi.cli.app import add_row, app, err, out, print_json, state, text_block
from haechi.i18n import _

# Each command imports what it uses (the store, the face model): `haechi scan` loads this
# module too, and must not wait for them.


WIDE_TERMINAL = 140  # columns from which the findings table shows all twelve


@app.command(
    "findings",
    help=_(
        "Findings to review, one per item and person: how similar, "
        "in which frames, where the item was seen (files and chat "
        "rooms: room, poster, forward, time) and the network roles "
        "on its content."
    ),
)
def findings_cmd(
    person: Annotated[str | None, typer.Option(help=_("Only findings about this alias."))] = None,
    kind: Annotated[
        str | None, typer.Option(help=_("Only this kind: face_match, own_media_match, …"))
    ] = None,
    status: Annotated[str | None, typer.Option(help=_("open, confirmed or dismissed."))] = None,
    frames: Annotated[
        bool,
        typer.Option("--frames", help=_("One row per matching frame (default: one per item).")),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help=_("JSON Lines, one per finding."))
    ] = False,
) -> None:
    from haechi.matching.review import (
        network_view,
        places_json,
        relation_json,
        roles_line,
        source_json,
    )
    from haechi.services.findings import list_findings

    found = list_findings(state.db(), person=person, kind=kind, status=status)
    # Twelve columns do not fit a terminal of 80 to 140 characters: there the kind, frame time
    # and box give way (`show ITEM` and --json have them), and the short columns never wrap.
    wide = out.width >= WIDE_TERMINAL
    columns = (  # (heading, shown, never wrapped)
        ("id", True, True),
        (_("kind"), wide, False),
        (_("person"), True, False),
        (_("item"), True, True),
        (_("where seen"), True, False),
        (_("t (s)"), wide, False),
        (_("score"), True, True),
        (_("box"), wide, False),
        (_("risk"), True, True),
        (_("status"), True, True),
        (_("in chats"), True, False),
        (_("network roles"), True, False),
    )
    visible = [keep for _heading, keep, _short in columns]
    table = Table()
    for heading, keep, short in columns:
        if keep:
            table.add_column(heading, no_wrap=short)
    n = 0
    net = None
    if any(fv.chats for fv in found):
        from haechi.network.build import build_network  # only when a finding was in a chat

        net = build_network(state.db(), state.settings())
    for fv in found:
        g, risk, chats = fv.group, fv.risk, fv.chats
        sha, best = g.item_sha256, g.best
        d = best.details or {}
        places = fv.files
        view = network_view(net, sha)
        shown = [(p.id, p.t, p.box, p.score, p.status) for p in g.places] if frames else [None]
        for one in shown:
            n += 1
            fid, t, box, score, st = one or (
                best.id,
                d.get("t"),
                d.get("box"),
                best.score,
                g.status,
            )
            if as_json:
                print_json(
                    {
                        "id": fid,
                        "ids": [p.id for p in g.places],
                        "kind": g.kind,
                        "person": g.person,
                        "item_sha256": sha,
                        "path": places[0] if places else None,
                        "seen_at": list(places),
                        "similarity": score if g.kind == "face_match" else None,
                        "score": score,
                        "threshold": best.threshold,
                        "box": list(box) if box else None,
                        "t": t,
                        "times": g.times,
                        "frames": places_json(g.places),
                        "reason": best.reason,
                        "status": st,
                        "possible_minor": best.possible_minor,
                        "created_at": best.created_at.isoformat(),
                        "risk": risk.to_json(),
                        "chats": [c.to_json() for c in chats],
                        "network": view,
                        "relation": relation_json(g),
                        "source_photo": source_json(g),
                    }
                )
                continue
            times = g.times
            if one is None and len(times) > 1:
                when = _("{start}–{end} ({n} frames)").format(
                    start=f"{times[0]:.2f}", end=f"{times[-1]:.2f}", n=len(g.places)
                )
            else:
                when = "-" if t is None else f"{t:.2f}"
            cells: list[object] = [
                str(fid),
                g.kind,
                g.person or "-",
                sha[:12],
                places[0] if places else "-",
                when,
                f"{score:.3f}" if g.kind == "face_match" else f"d={score:.0f}",
                ",".join(map(str, box)) if box else "-",
                f"{risk.score:.2f}",
                st,
                text_block("\n".join(c.line() for c in chats[:5]) or "-"),
                roles_line(view),
            ]
            add_row(table, *(c for c, keep in zip(cells, visible, strict=True) if keep))
    if not as_json:
        out.print(table)
        if frames:
            out.print(_("{n} frame(s)").format(n=n))
        else:
            out.print(
                _("{n} finding(s) (one per item and person; --frames: each)").format(n=n),
                markup=False,
            )
        if n:
            out.print(
                _(
                    "next: `haechi review` (confirm or dismiss), `haechi show ITEM`, "
                    "`haechi case new --person ALIAS`"
                ),
                markup=False,
                highlight=False,
            )
    elif n == 0:
        err.print(_("no findings"))
