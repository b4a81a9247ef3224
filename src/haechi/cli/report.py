"""`haechi report …`: documents for people outside haechi. `report police CASE` writes the
police report package; the logic is in `haechi.services.report`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from haechi.cli.app import app, err, out, print_json, state
from haechi.i18n import _

report_app = typer.Typer(
    help=_("Reports: the police report package of a case."), no_args_is_help=True
)
app.add_typer(report_app, name="report")


@report_app.command(
    "police",
    help=_(
        "Write a police report package: report.html and report.pdf "
        "(Korean, then English), the case's evidence package in "
        "evidence/, and SHA256SUMS."
    ),
)
def police_cmd(
    case: Annotated[int, typer.Argument(help=_("The case number (`haechi case list`)."))],
    to: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "--to",
            help=_("A new folder for the report (default: ./case-N-police-report)."),
        ),
    ] = None,
    recipient: Annotated[
        list[str] | None,
        typer.Option(
            "--recipient",
            "-r",
            help=_(
                "The investigator's age public key: media goes into the "
                "package encrypted to it (without one, the package holds "
                "hashes only)."
            ),
        ),
    ] = None,
    authorise_minor: Annotated[
        bool,
        typer.Option(
            "--authorise-minor",
            help=_(
                "List items flagged as a possible minor like the others and "
                "include their media for the recipient (logged; authorised "
                "investigators only)."
            ),
        ),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help=_("Print the report's content as JSON."))
    ] = False,
) -> None:
    from haechi.evidence.context import actor_name
    from haechi.services.report import write_police_report

    settings = state.settings()
    res = write_police_report(
        state.db(),
        settings,
        case,
        to if to is not None else Path(f"case-{case}-police-report"),
        actor=actor_name(settings),
        authorise_minor=authorise_minor,
        recipients=tuple(recipient or ()),
    )
    if as_json:
        print_json(
            {
                "path": str(res.path),
                "html": str(res.html),
                "pdf": str(res.pdf),
                "sha256sums": res.sha256sums,
                "custody_seq": res.custody_seq,
                **res.report.to_json(),
            }
        )
        return
    r = res.report
    say = out.print
    say(_("police report written: {path}").format(path=res.path), markup=False, highlight=False)
    say(
        _("  {accounts} account(s), {items} item(s), evidence package in {folder}/").format(
            accounts=len(r.accounts), items=len(r.items), folder=r.package.folder
        ),
        markup=False,
        highlight=False,
    )
    if r.withheld:
        err.print(
            _("  {n} item(s) withheld (possible minor): their media is in no file").format(
                n=len(r.withheld)
            ),
            markup=False,
            highlight=False,
        )
    if r.minor_authorised:
        err.print(
            _("  possible-minor items included by authorisation (in the custody log)"),
            markup=False,
            highlight=False,
        )
    if r.package.timestamp is None:
        say(
            _("  no RFC 3161 timestamp: no timestamp authority is configured"),
            markup=False,
            highlight=False,
        )
    say(
        _("  SHA256SUMS sha256: {sums} (custody seq {seq})").format(
            sums=res.sha256sums, seq=res.custody_seq
        ),
        markup=False,
        highlight=False,
    )
    say(
        _("next: check it with `sha256sum -c SHA256SUMS` in {path}, then hand it over").format(
            path=res.path
        ),
        markup=False,
        highlight=False,
    )
