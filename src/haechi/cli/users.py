"""`haechi users …`: web accounts (add, list, disable, API keys). The first admin is made
here; the logic is in `haechi.services.users`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from haechi.cli.app import add_row, app, out, print_json, state
from haechi.errors import InputError
from haechi.i18n import _

users_app = typer.Typer(help=_("Web accounts: admin, counsellor, investigator, victim."))
app.add_typer(users_app, name="users", no_args_is_help=True)


def _password(password_file: Path | None) -> str:
    if password_file is None:
        return str(typer.prompt(_("Password"), hide_input=True, confirmation_prompt=True))
    try:
        lines = password_file.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            _("{file}: cannot read the password: {reason}").format(file=password_file, reason=exc)
        ) from None
    if not lines:
        raise InputError(_("{file}: the file is empty").format(file=password_file))
    return lines[0]


@users_app.command("add", help=_("Add a web account; the password is hashed with argon2id."))
def add_cmd(
    name: Annotated[str, typer.Argument(help=_("The login name."))],
    role: Annotated[str, typer.Option(help=_("admin, counsellor, investigator or victim."))],
    person: Annotated[
        str | None,
        typer.Option(
            help=_(
                "For a victim: her enrolled alias (she sees only her own record); without "
                "it she enrols herself in the browser."
            )
        ),
    ] = None,
    password_file: Annotated[
        Path | None,
        typer.Option(help=_("Read the password from the first line of this file (else asked).")),
    ] = None,
) -> None:
    from haechi.services.users import add_user

    user = add_user(state.db(), name, role, _password(password_file), person=person)
    out.print(
        _("user {name} added ({role})").format(name=user.name, role=user.role),
        markup=False,
        highlight=False,
    )
    out.print(_("next: `haechi serve`, then log in at /login"), markup=False, highlight=False)


@users_app.command("list", help=_("List web accounts."))
def list_cmd(
    as_json: Annotated[bool, typer.Option("--json", help=_("JSON Lines, one per user."))] = False,
) -> None:
    from haechi.services.users import list_users

    table = Table()
    for col in (_("name"), _("role"), _("person"), _("disabled"), _("created")):
        table.add_column(col)
    for u in list_users(state.db()):
        if as_json:
            print_json(
                {
                    "name": u.name,
                    "role": u.role,
                    "person": u.person,
                    "disabled": u.disabled,
                    "created_at": u.created_at.isoformat(),
                }
            )
            continue
        add_row(
            table,
            u.name,
            u.role,
            u.person or "-",
            "yes" if u.disabled else "",
            u.created_at.strftime("%Y-%m-%d"),
        )
    if not as_json:
        out.print(table)


@users_app.command(
    "disable", help=_("Disable an account: its sessions and API keys stop working at once.")
)
def disable_cmd(name: Annotated[str, typer.Argument(help=_("The login name."))]) -> None:
    from haechi.services.users import set_disabled

    set_disabled(state.db(), name)
    out.print(_("user {name} disabled").format(name=name), markup=False, highlight=False)


@users_app.command("key", help=_("Issue an API key (shown once; stored only as its hash)."))
def key_cmd(
    name: Annotated[str, typer.Argument(help=_("The account the key acts for."))],
    scope: Annotated[
        list[str],
        typer.Option(
            help=_("What the key may do: read, review, takedown, persons, evidence, hma, admin.")
        ),
    ],
) -> None:
    from haechi.services.users import add_api_key

    token = add_api_key(state.db(), name, scope)
    out.print(token, markup=False, highlight=False)
    out.print(
        _("Keep this key secret; it is not shown again. Send it as: Authorization: Bearer KEY"),
        markup=False,
        highlight=False,
    )
