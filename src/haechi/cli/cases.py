"""`haechi case …`: open a case for an enrolled person or an investigation, add items and
notes, change its status, and read its timeline. The logic is in `haechi.services.cases`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from haechi.cli.app import app, out, print_json, state
from haechi.i18n import _

case_app = typer.Typer(
    help=_("Cases: findings and items gathered for one person."), no_args_is_help=True
)
app.add_typer(case_app, name="case")


def _actor() -> str:
    from haechi.evidence.context import actor_name

    return actor_name(state.settings())


@case_app.command(
    "new",
    help=_("Open a case. For an enrolled person, her findings join it now and as they are found."),
)
def new_cmd(
    person: Annotated[
        str | None, typer.Option(help=_("The enrolled person's alias (none: an investigation)."))
    ] = None,
    title: Annotated[
        str, typer.Option(help=_("A short title (kept out of the custody log)."))
    ] = "",
    as_json: Annotated[bool, typer.Option("--json", help=_('Print {"id": …}.'))] = False,
) -> None:
    from haechi.services.cases import open_case

    case = open_case(state.db(), _actor(), person=person, title=title)
    if as_json:
        print_json({"id": case.id, "items": case.items})
        return
    out.print(
        _("case {id} opened: {items} item(s) from findings so far").format(
            id=case.id, items=case.items
        ),
        markup=False,
        highlight=False,
    )
    out.print(
        _("next: `haechi case show {id}`, `haechi case add {id} ITEM…`").format(id=case.id),
        markup=False,
        highlight=False,
    )


@case_app.command("list", help=_("List cases with their person, status and counts."))
def list_cmd(
    status: Annotated[str | None, typer.Option(help=_("Only cases with this status."))] = None,
    as_json: Annotated[bool, typer.Option("--json", help=_("JSON Lines, one per case."))] = False,
) -> None:
    from haechi.services.cases import list_cases

    cases = list_cases(state.db(), status=status)
    if as_json:
        for c in cases:
            print_json(c.to_json())
        return
    table = Table()
    for col in (
        "id",
        _("title"),
        _("person"),
        _("status"),
        _("items"),
        _("findings"),
        _("updated"),
    ):
        table.add_column(col)
    for c in cases:
        table.add_row(
            str(c.id),
            Text(c.title or "-"),
            Text(c.person or "-"),
            c.status,
            str(c.items),
            str(c.findings),
            f"{c.updated_at:%Y-%m-%d %H:%M}",
        )
    out.print(table)
    if not cases:
        out.print(_("no cases yet: `haechi case new --person ALIAS`"), markup=False)


@case_app.command("show", help=_("A case: its items and the timeline of everything done about it."))
def show_cmd(
    case_id: Annotated[int, typer.Argument(help=_("The case number."))],
    as_json: Annotated[bool, typer.Option("--json", help=_("Print the case as JSON."))] = False,
) -> None:
    from haechi.services.cases import get_case

    detail = get_case(state.db(), case_id)
    if as_json:
        print_json(detail.to_json())
        return
    c = detail.case
    head = Text(_("case {id}: ").format(id=c.id))
    head.append(c.title or "-")
    head.append("  [" + c.status + "]  " + _("person: {alias}").format(alias=c.person or "-"))
    out.print(head)
    items = Table(title=_("items"))
    for col in ("sha256", _("kind"), _("by"), _("added")):
        items.add_column(col)
    for i in detail.items:
        by = _("finding {id}").format(id=i.finding_id) if i.finding_id else i.added_by
        items.add_row(i.sha256[:16], i.kind or "-", Text(by), f"{i.added_at:%Y-%m-%d %H:%M}")
    out.print(items)
    timeline = Table(title=_("timeline"))
    for col in (_("when"), _("who"), _("what"), _("text")):
        timeline.add_column(col)
    for e in detail.timeline:
        # Events carry their items as a list (added) or a count (a report, a request).
        held = e.data.get("items")
        count = len(held) if isinstance(held, (list, tuple)) else held
        what = e.kind + (f" ({count})" if isinstance(count, int) else "")
        if e.kind == "status":
            what = _("status {before} → {after}").format(
                before=e.data.get("before"), after=e.data.get("after")
            )
        timeline.add_row(f"{e.at:%Y-%m-%d %H:%M:%S}", Text(e.actor), what, Text(e.text))
    out.print(timeline)
    out.print(
        _("next: `haechi evidence export --case {id} --to DIR`").format(id=c.id),
        markup=False,
        highlight=False,
    )


@case_app.command("add", help=_("Add items to a case."))
def add_cmd(
    case_id: Annotated[int, typer.Argument(help=_("The case number."))],
    items: Annotated[list[str], typer.Argument(help=_("Items: SHA-256 or a unique prefix."))],
) -> None:
    from haechi.services.cases import add_items

    added = add_items(state.db(), case_id, items, _actor())
    out.print(
        _("{n} item(s) added to case {id}").format(n=len(added), id=case_id),
        markup=False,
        highlight=False,
    )
    out.print(
        _("next: `haechi case show {id}`, `haechi evidence export --case {id} --to DIR`").format(
            id=case_id
        ),
        markup=False,
        highlight=False,
    )


@case_app.command("note", help=_("Add a note to a case's timeline."))
def note_cmd(
    case_id: Annotated[int, typer.Argument(help=_("The case number."))],
    text: Annotated[str, typer.Argument(help=_("The note (kept out of the custody log)."))],
) -> None:
    from haechi.services.cases import add_note

    add_note(state.db(), case_id, text, _actor())
    out.print(_("note added to case {id}").format(id=case_id), markup=False, highlight=False)


@case_app.command("status", help=_("Change a case's status."))
def status_cmd(
    case_id: Annotated[int, typer.Argument(help=_("The case number."))],
    status: Annotated[str, typer.Argument(help=_("open, in_progress, referred or closed."))],
) -> None:
    from haechi.services.cases import set_status

    set_status(state.db(), case_id, status, _actor())
    out.print(
        _("case {id} is now {status}").format(id=case_id, status=status),
        markup=False,
        highlight=False,
    )
