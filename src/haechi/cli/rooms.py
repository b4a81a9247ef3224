"""`haechi rooms`: chat rooms ranked by chat-text risk, with the lines behind each score."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from haechi.cli.app import app, out, print_json, state


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
        why = "; ".join(r.text for r in room.reasons[:3])
        if room.top_lines:
            mid, score, text = room.top_lines[0]
            why += f"\nline {mid} ({score:.2f}): {text[:80]}"
        mark = "[bold red]" if room.flagged else ""
        table.add_row(
            f"{mark}{room.risk:.2f}",
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
