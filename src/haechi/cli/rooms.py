"""`haechi rooms`: chat rooms ranked by chat-text risk, with the lines behind each score."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from haechi.cli.app import add_row, app, out, print_json, state, text
from haechi.i18n import _


@app.command(
    help=_(
        "Rank chat rooms from scanned exports by how much they read "
        "like deepfake trading.\n\nThe score orders a review queue; it "
        "is not a verdict. Reasons name the messages behind it."
    )
)
def rooms(
    as_json: Annotated[
        bool, typer.Option("--json", help=_("JSON Lines, one room per line, most risky first."))
    ] = False,
    limit: Annotated[int, typer.Option(help=_("Show at most this many rooms (0: all)."))] = 0,
) -> None:
    from haechi.network.rooms import rank_rooms

    ranked = rank_rooms(state.db(), state.settings())
    shown = ranked[:limit] if limit > 0 else ranked
    if as_json:
        for room in shown:
            print_json(room.to_json())
        return
    table = Table(title=_("rooms by chat-text risk"))
    cols = (_("risk"), _("room"), _("kind"), _("messages"), _("media"), _("why"))
    for i, col in enumerate(cols):
        table.add_column(col, justify="right" if i in (0, 3, 4) else "left")
    for room in shown:
        why = text("; ".join(r.text for r in room.reasons[:3]))
        if room.top_lines:
            mid, score, line = room.top_lines[0]
            quote = _("line {id} ({score}): {text}").format(
                id=mid, score=f"{score:.2f}", text=line[:80]
            )
            why.append("\n").append_text(text(quote))
        add_row(
            table,
            Text(f"{room.risk:.2f}", style="bold red" if room.flagged else ""),
            f"{room.name or '-'} ({room.id})",
            room.kind or "-",
            str(room.messages),
            f"{room.media}"
            + (" " + _("({n} missing)").format(n=room.media_missing) if room.media_missing else ""),
            why,
        )
    out.print(table)
    flagged = sum(1 for r in ranked if r.flagged)
    out.print(
        _("{rooms} room(s), {flagged} at or above risk {flag}").format(
            rooms=len(ranked),
            flagged=flagged,
            flag=f"{state.settings().thresholds.room_risk_flag:.2f}",
        )
    )
    if ranked:
        out.print(
            _("next: `haechi network` (who posted, forwarded and viewed what)"),
            markup=False,
            highlight=False,
        )
