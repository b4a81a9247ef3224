"""`haechi takedown …` (draft, approve, send, mark and list requests; show the platform
directory) and `haechi recheck`. The logic is in `haechi.services.takedown` and `.recheck`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from haechi.cli.app import app, err, out, print_json, state
from haechi.errors import InputError
from haechi.i18n import _
from haechi.safe_text import visible

if TYPE_CHECKING:
    from haechi.services.drafts import Unlinked
    from haechi.services.takedown import RequestView

takedown_app = typer.Typer(
    help=_("Takedown requests: draft, approve, send and follow them."), no_args_is_help=True
)
app.add_typer(takedown_app, name="takedown")


def _actor() -> str:
    from haechi.evidence.context import actor_name

    return actor_name(state.settings())


def _say(text: str) -> None:
    out.print(text, markup=False, highlight=False, soft_wrap=True)


@takedown_app.command(
    "draft",
    help=_(
        "Draft a takedown request for every location of the case's "
        "items, in each language: a .txt and an .eml with the hash "
        "list and the evidence summary (never media). Items flagged "
        "as a possible minor are in no draft. Nothing is sent."
    ),
)
def draft_cmd(
    case_id: Annotated[int, typer.Argument(help=_("The case number."))],
    lang: Annotated[
        str | None,
        typer.Option(help=_("Languages, e.g. ko,en (default: all of ko,en,ja,zh,ru,vi,th).")),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "--to",
            help=_("Write here (default: the case's folder in the data directory)."),
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help=_("Print what was drafted as one JSON object."))
    ] = False,
) -> None:
    from haechi.services.drafts import draft
    from haechi.takedown.templates import parse_languages

    languages = parse_languages(lang)
    report = draft(state.db(), state.settings(), case_id, languages, _actor(), out_dir=out_dir)
    if as_json:
        print_json(report.to_json())
        return
    for r in report.drafted:
        _say(
            _("request {id} drafted for {platform}: {location}").format(
                id=r.id, platform=r.platform, location=r.location
            )
        )
        if not r.verified:
            _say(
                "  "
                + _("the contact channel of {platform} is not verified: check it first").format(
                    platform=r.platform
                )
            )
    for loc, rid in report.existing:
        _say(_("already requested ({id}): {location}").format(id=rid, location=loc))
    if report.minors_excluded:
        _say(
            _(
                "{n} item(s) flagged as a possible minor are in no draft: report them to the "
                "police or KCSC (1377) as child sexual abuse material"
            ).format(n=report.minors_excluded)
        )
    if report.without_location:
        _say(
            _(
                "{n} item(s) were seen nowhere a request can be sent (a folder, a private chat)"
            ).format(n=report.without_location)
        )
    _say_unlinked(report.unlinked)
    for p in report.referrals:
        where = ", ".join(x for x in (p.channel.phone, p.channel.url) if x)
        _say(_("also: {name} {where}").format(name=p.name, where=where))
    if report.drafted:
        _say(
            _("{n} request(s) in {langs} written to {folder}").format(
                n=len(report.drafted), langs=",".join(languages), folder=report.folder
            )
        )
        _say(_("next: `haechi takedown approve {id} --by NAME`").format(id=report.drafted[0].id))
    elif not report.existing:
        _say(_("no location to send a request to: capture the pages first (`haechi capture URL`)"))


UNLINKED_SHOWN = 20


def _say_unlinked(unlinked: tuple[Unlinked, ...]) -> None:
    """Places no request can point to, each named, so that none is forgotten."""
    if not unlinked:
        return
    _say(
        _(
            "{n} place(s) have no link a request can point to: report each from inside the app "
            "(Telegram: the message's menu, Report), or name it to the police:"
        ).format(n=len(unlinked))
    )
    for u in unlinked[:UNLINKED_SHOWN]:
        if u.room is not None:
            where = _("room {name} ({room}), message {msg}").format(
                name=visible(u.room_name or "?"),
                room=visible(u.room),
                msg=visible(u.message_id or "?"),
            )
        else:
            where = visible(u.locator)
        _say("  " + _("{where}: item {sha}").format(where=where, sha=u.sha256[:12]))
    if len(unlinked) > UNLINKED_SHOWN:
        _say(
            "  " + _("… and {n} more (`--json` lists all)").format(n=len(unlinked) - UNLINKED_SHOWN)
        )


def _table(views: list[RequestView]) -> Table:
    table = Table()
    for col in ("id", _("case"), _("platform"), _("state"), _("since"), _("due"), _("location")):
        table.add_column(col)
    for v in views:
        since = v.dates.get(v.state)
        due = f"{v.due_at:%Y-%m-%d}" if v.due_at else "-"
        table.add_row(
            str(v.id),
            str(v.case_id),
            v.platform,
            v.state + (" " + _("(overdue)") if v.overdue else ""),
            f"{since:%Y-%m-%d}" if since else "-",
            due,
            Text(v.location),
        )
    return table


@takedown_app.command("list", help=_("List takedown requests with their state and due date."))
def list_cmd(
    case: Annotated[int | None, typer.Option(help=_("Only this case's requests."))] = None,
    overdue: Annotated[
        bool, typer.Option("--overdue", help=_("Only requests past the platform's expected time."))
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help=_("JSON Lines, one per request."))
    ] = False,
) -> None:
    from haechi.services.takedown import list_requests

    views = list_requests(state.db(), case_id=case, overdue=overdue)
    if as_json:
        for v in views:
            print_json(v.to_json())
        return
    out.print(_table(views))
    if not views:
        _say(_("no requests: `haechi takedown draft CASE`"))


@takedown_app.command(
    "approve", help=_("Approve a drafted request after reading it: nothing is sent without this.")
)
def approve_cmd(
    request_id: Annotated[int, typer.Argument(help=_("The request number."))],
    by: Annotated[str, typer.Option("--by", help=_("Who checked and approves the request."))],
) -> None:
    from haechi.services.takedown import approve

    v = approve(state.db(), request_id, by, _actor())
    _say(_("request {id} approved by {by}").format(id=v.id, by=v.approved_by))
    if not v.verified:
        _say(
            _("the contact channel of {platform} is not verified: check it first").format(
                platform=v.platform
            )
        )
    _say(
        _(
            "next: `haechi takedown send {id}`, or send the .eml yourself and "
            "`haechi takedown mark {id} sent`"
        ).format(id=v.id)
    )


@takedown_app.command(
    "send",
    help=_(
        "Send an approved request's e-mail through the SMTP server "
        "in settings (takedown.smtp_*). This uses the network."
    ),
)
def send_cmd(
    request_id: Annotated[int, typer.Argument(help=_("The request number."))],
    lang: Annotated[
        str | None, typer.Option(help=_("Send this language (default: the platform's)."))
    ] = None,
) -> None:
    from haechi.services.takedown import send

    v, server = send(state.db(), state.settings(), request_id, _actor(), language=lang)
    _say(
        _("request {id} sent through {server} (this used the network)").format(
            id=v.id, server=server
        )
    )
    _say(
        _("next: `haechi takedown mark {id} acknowledged|removed|refused|no_answer`").format(
            id=v.id
        )
    )


@takedown_app.command(
    "mark", help=_("Record what happened to a request: sent by hand, or the platform's answer.")
)
def mark_cmd(
    request_id: Annotated[int, typer.Argument(help=_("The request number."))],
    new_state: Annotated[
        str, typer.Argument(help=_("sent, acknowledged, removed, refused or no_answer."))
    ],
    at: Annotated[
        str | None, typer.Option(help=_("When it happened (YYYY-MM-DD or ISO time; default: now)."))
    ] = None,
) -> None:
    from haechi.services.takedown import mark

    when = _parse_time(at) if at else None
    v = mark(state.db(), request_id, new_state, _actor(), at=when)
    _say(_("request {id} is now {state}").format(id=v.id, state=v.state))
    if v.state == "sent" and v.due_at:
        _say(
            _("an answer is expected by {due}; next: `haechi takedown list --overdue`").format(
                due=f"{v.due_at:%Y-%m-%d}"
            )
        )
    elif v.state == "removed":
        _say(
            _("next: `haechi recheck --case {case}` checks that it stays down").format(
                case=v.case_id
            )
        )


def _parse_time(text: str) -> datetime:
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(
            _("--at {value}: use YYYY-MM-DD or an ISO time").format(value=repr(text))
        ) from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


@takedown_app.command(
    "platforms",
    help=_("The platform directory: channels, expected response times, and which are verified."),
)
def platforms_cmd(
    as_json: Annotated[
        bool, typer.Option("--json", help=_("JSON Lines, one per platform."))
    ] = False,
) -> None:
    from dataclasses import asdict

    from haechi.services.takedown import directory

    d = directory(state.settings())
    if as_json:
        for p in d.platforms:
            print_json(asdict(p))
        return
    table = Table()
    for col in ("id", _("name"), _("channel"), _("days"), _("verified")):
        table.add_column(col)
    for p in d.platforms:
        ch = p.channel
        where = ch.address or (ch.phone if ch.kind == "phone" else ch.url) or ""
        table.add_row(
            p.id,
            Text(p.name),
            Text(f"{ch.kind} {where}".strip()),
            str(p.response_days),
            _("yes") if p.verified else _("no"),
        )
    out.print(table)
    _say(_("from: {files}").format(files=", ".join(map(str, d.files))))


@app.command(
    help=_(
        "Fetch again the location of every request still followed "
        "(this uses the network) and scan the sources named with "
        "--source (offline): content back up after removal becomes a "
        'new finding and the request "reappeared"; content gone from '
        "a sent request marks it removed."
    )
)
def recheck(
    case: Annotated[int | None, typer.Option(help=_("Only this case's requests."))] = None,
    source: Annotated[
        list[Path] | None,
        typer.Option(
            "--source",
            help=_(
                "Also scan this source (a new export of the room, a "
                "collected folder; repeatable) and look in it for the "
                "requests' content."
            ),
        ),
    ] = None,
    fetch: Annotated[
        bool,
        typer.Option(
            "--fetch/--no-fetch", help=_("Fetch the requests' locations again (the network).")
        ),
    ] = True,
    as_json: Annotated[
        bool, typer.Option("--json", help=_("Print the checks as one JSON object."))
    ] = False,
) -> None:
    from haechi.services.recheck import recheck as run
    from haechi.services.recheck import recheck_sources

    results = run(state.db(), state.settings(), _actor(), case_id=case) if fetch else []
    console = err if as_json else out
    if fetch:
        console.print(
            _("recheck used the network: {n} location(s) fetched").format(n=len(results)),
            markup=False,
            highlight=False,
        )
    if source:
        found = recheck_sources(state.db(), state.settings(), _actor(), source, case_id=case)
        console.print(
            _("{n} source(s) scanned for the requests' content (no network)").format(n=len(source)),
            markup=False,
            highlight=False,
        )
        results += found
    if as_json:
        print_json({"network": fetch, "checked": [r.to_json() for r in results]})
        return
    for r in results:
        line = _("request {id}: {result} ({location})").format(
            id=r.request_id, result=r.result, location=r.location
        )
        _say(line)
        if r.result == "reappeared":
            _say(
                "  "
                + _(
                    "back up ({how} match): finding {finding}; next: `haechi takedown draft {case}`"
                ).format(how=r.how, finding=r.finding_id, case=r.case_id)
            )
