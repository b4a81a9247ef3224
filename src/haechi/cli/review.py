"""`haechi review …`: the review queue, ranked by risk, and the reviewer's actions. Media is
never shown unless asked for one finding, and then blurred unless asked again; the logic is
in `haechi.services.review`."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from haechi.cli.app import app, out, print_json, state
from haechi.i18n import _

review_app = typer.Typer(
    help="Review findings: a queue ranked by risk; confirm, dismiss, escalate, flag a minor.",
    invoke_without_command=True,
)
app.add_typer(review_app, name="review")


def _actor() -> str:
    from haechi.evidence.context import actor_name

    return actor_name(state.settings())


@review_app.callback()
def queue_cmd(
    ctx: typer.Context,
    case: Annotated[int | None, typer.Option(help="Only findings in this case.")] = None,
    include_done: Annotated[
        bool, typer.Option("--all", help="Also confirmed and dismissed findings.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines, most urgent first.")] = False,
) -> None:
    """The findings waiting for review, most urgent first (possible minors, escalated, risk)."""
    if ctx.invoked_subcommand is not None:
        return
    from haechi.services.review import queue

    entries = queue(
        state.db(), case_id=case, statuses=() if include_done else ("open", "escalated")
    )
    if as_json:
        for e in entries:
            print_json(e.to_json())
        return
    table = Table()
    for col in (_("finding"), _("risk"), _("kind"), _("person"), _("status"), "item", _("reason")):
        table.add_column(col)
    for e in entries:
        status = e.status + (" · " + _("possible minor") if e.possible_minor else "")
        table.add_row(
            str(e.finding_id),
            f"{e.risk:.2f}",
            e.kind,
            Text(e.person or "-"),
            status,
            e.item_sha256[:12],
            Text(e.reason),
        )
    out.print(table)
    if entries:
        out.print(
            _(
                "next: `haechi review show FINDING` (blurred), `haechi review confirm FINDING`, "
                "`haechi review dismiss FINDING --reason …`"
            ),
            markup=False,
            highlight=False,
        )
    else:
        out.print(_("nothing waits for review"), markup=False)


def _act(finding: int, action: str, reason: str = "") -> None:
    from haechi.services.review import act

    status = act(state.db(), finding, action, _actor(), reason)
    out.print(
        _("finding {id}: {status}").format(id=finding, status=status),
        markup=False,
        highlight=False,
    )


@review_app.command("confirm")
def confirm_cmd(finding: Annotated[int, typer.Argument(help="The finding number.")]) -> None:
    """Confirm a finding: it is what it seems."""
    _act(finding, "confirm")


@review_app.command("dismiss")
def dismiss_cmd(
    finding: Annotated[int, typer.Argument(help="The finding number.")],
    reason: Annotated[str, typer.Option(help="Why it is dismissed (required).")] = "",
) -> None:
    """Dismiss a finding, with the reason."""
    _act(finding, "dismiss", reason)


@review_app.command("escalate")
def escalate_cmd(
    finding: Annotated[int, typer.Argument(help="The finding number.")],
    reason: Annotated[str, typer.Option(help="Why (optional).")] = "",
) -> None:
    """Escalate a finding to a senior reviewer."""
    _act(finding, "escalate", reason)


@review_app.command("minor")
def minor_cmd(
    finding: Annotated[int, typer.Argument(help="The finding number.")],
    reason: Annotated[str, typer.Option(help="Why (optional).")] = "",
) -> None:
    """Flag a possible minor: escalates, and keeps the media out of every export and report."""
    _act(finding, "minor", reason)


@review_app.command("show")
def show_cmd(
    finding: Annotated[int, typer.Argument(help="The finding number.")],
    unblurred: Annotated[
        bool, typer.Option("--unblurred", help="Show this one item without blur (logged).")
    ] = False,
    viewer: Annotated[
        str | None,
        typer.Option(help="Command that shows the picture; {path} is replaced by its file."),
    ] = None,
) -> None:
    """Look at a finding's media: blurred and greyscale unless --unblurred; the look is logged
    and the temporary file is removed when the viewer returns."""
    from haechi.services.review import preview

    shown = preview(state.db(), state.settings(), finding, _actor(), unblurred=unblurred)
    try:
        if viewer:
            argv = [a.replace("{path}", str(shown.path)) for a in shlex.split(viewer)]
        elif shutil.which("xdg-open"):
            argv = ["xdg-open", str(shown.path)]
        else:
            argv = []
        if argv:
            subprocess.run(argv, check=False)
        if not viewer:
            out.print(
                _(
                    "preview ({mode}): {path}; press Enter when done, the file is then removed"
                ).format(mode=_("blurred") if shown.blurred else _("unblurred"), path=shown.path),
                markup=False,
                highlight=False,
            )
            input()
    finally:
        shown.path.unlink(missing_ok=True)
    out.print(_("the look was logged in the custody log"), markup=False)
