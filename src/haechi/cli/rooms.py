"""`haechi rooms`: chat rooms ranked by chat-text risk, with the lines behind each score."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from haechi.cli.app import add_row, app, out, print_json, state, text


@app.command()
def rooms(
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON Lines, one room per line, most risky first.")
    ] = False,
    limit: Annotated[int, typer.Option(help="Show at most this many rooms (0: all).")] = 0,
) -> None:
    """Rank chat rooms from scanned exports by how much they read like deepfake trading.

    The score orders a review queue; it is not a verdict. Reasons name the messages behind it."""
    from haechi.network.rooms import rank_rooms

    ranked = rank_rooms(state.db(), state.settings())
    shown = ranked[:limit] if limit > 0 else ranked
    if as_json:
        for room in shown:
            print_json(room.to_json())
        return
    table = Table(title="rooms by chat-text risk")
    for col in ("risk", "room", "kind", "messages", "media", "why"):
        table.add_column(col, justify="right" if col in ("risk", "messages", "media") else "left")
    for room in shown:
        why = text("; ".join(r.text for r in room.reasons[:3]))
        if room.top_lines:
            mid, score, line = room.top_lines[0]
            why.append("\n").append_text(text(f"line {mid} ({score:.2f}): {line[:80]}"))
        add_row(
            table,
            Text(f"{room.risk:.2f}", style="bold red" if room.flagged else ""),
            f"{room.name or '-'} ({room.id})",
            room.kind or "-",
            str(room.messages),
            f"{room.media}" + (f" ({room.media_missing} missing)" if room.media_missing else ""),
            why,
        )
    out.print(table)
    flagged = sum(1 for r in ranked if r.flagged)
    out.print(
        f"{len(ranked)} room(s), {flagged} at or above risk "
        f"{state.settings().thresholds.room_risk_flag:.2f}"
    )
