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
    help=_("Review findings: a queue ranked by risk; confirm, dismiss, escalate, flag a minor."),
    invoke_without_command=True,
)
app.add_typer(review_app, name="review")


def _actor() -> str:
    from haechi.evidence.context import actor_name

    return actor_name(state.settings())


@review_app.callback()
def queue_cmd(
    ctx: typer.Context,
    case: Annotated[int | None, typer.Option(help=_("Only findings in this case."))] = None,
    include_done: Annotated[
        bool, typer.Option("--all", help=_("Also confirmed and dismissed findings."))
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help=_("JSON Lines, most urgent first."))
    ] = False,
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


@review_app.command("confirm", help=_("Confirm a finding: it is what it seems."))
def confirm_cmd(finding: Annotated[int, typer.Argument(help=_("The finding number."))]) -> None:
    _act(finding, "confirm")


@review_app.command("dismiss", help=_("Dismiss a finding, with the reason."))
def dismiss_cmd(
    finding: Annotated[int, typer.Argument(help=_("The finding number."))],
    reason: Annotated[str, typer.Option(help=_("Why it is dismissed (required)."))] = "",
) -> None:
    _act(finding, "dismiss", reason)


@review_app.command("escalate", help=_("Escalate a finding to a senior reviewer."))
def escalate_cmd(
    finding: Annotated[int, typer.Argument(help=_("The finding number."))],
    reason: Annotated[str, typer.Option(help=_("Why (optional)."))] = "",
) -> None:
    _act(finding, "escalate", reason)


@review_app.command(
    "minor",
    help=_("Flag a possible minor: escalates, and keeps the media out of every export and report."),
)
def minor_cmd(
    finding: Annotated[int, typer.Argument(help=_("The finding number."))],
    reason: Annotated[str, typer.Option(help=_("Why (optional)."))] = "",
) -> None:
    _act(finding, "minor", reason)


@review_app.command(
    "show",
    help=_(
        "Look at a finding's media: blurred and greyscale unless "
        "--unblurred; the look is logged and the temporary file is "
        "removed when the viewer returns."
    ),
)
def show_cmd(
    finding: Annotated[int, typer.Argument(help=_("The finding number."))],
    unblurred: Annotated[
        bool, typer.Option("--unblurred", help=_("Show this one item without blur (logged)."))
    ] = False,
    viewer: Annotated[
        str | None,
        typer.Option(help=_("Command that shows the picture; {path} is replaced by its file.")),
    ] = None,
) -> None:
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
