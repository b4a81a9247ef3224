"""`haechi discover`: evasive spellings of search terms, leads (rooms named in what was scanned),
a deliberate public Telegram search, and capturing a lead's public preview."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from haechi.cli.app import add_row, app, err, esc, out, print_json, state, text, text_block
from haechi.errors import ConfigError
from haechi.i18n import _

discover_app = typer.Typer(
    help=_("Find rooms before the victims do: variants, leads, public search, capture."),
    no_args_is_help=True,
)
app.add_typer(discover_app, name="discover")


# Characters drawn as nothing: shown as escapes so a person can see (and copy) them.
_INVISIBLE = frozenset("\u3164\u115f\u1160\uffa0")


def _visible(value: str) -> str:
    return "".join(
        f"\\u{ord(c):04x}" if not c.isprintable() or c in _INVISIBLE else c for c in value
    )


def _say(line: str) -> None:
    out.print(line, markup=False, highlight=False)


@discover_app.command(
    "variants",
    help=_(
        "Spellings that evade keyword filters, each one read back as its term by the "
        "lexicon. Made by the rules the chat-text lexicon folds (spacing, dots, "
        "zero-width and filler characters, split jamo, initial consonants, look-alike "
        "letters, the spellings the lexicon generates and the ones counsellors wrote "
        "in). No network."
    ),
)
def variants(
    terms: Annotated[list[str], typer.Argument(help=_("Terms (Korean or English)."))],
    as_json: Annotated[bool, typer.Option("--json", help=_("One JSON object per term."))] = False,
) -> None:
    from haechi.services.discover import term_variants

    for tv in term_variants(state.settings(), terms):
        if as_json:
            print_json(tv.to_json())
            continue
        where = (
            _("lexicon entry {entry}").format(entry=tv.entry)
            if tv.entry
            else _("not in the lexicon")
        )
        out.print(text(f"{tv.term} ({where}): {len(tv.variants)}"), highlight=False)
        for v in tv.variants:
            out.print(text(f"  {v.rule:<10} {_visible(v.text)}"), highlight=False)
    if not as_json:
        _say(_("next: `haechi discover search TERM --dry-run` (the queries a search would make)"))


@discover_app.command(
    "leads",
    help=_(
        "Rooms named in what haechi read or found by a search, most urgent first. Every "
        "t.me link, invite link and @name in stored messages (exports, live chats) and "
        "on captured pages is a lead, with where, when and by whom it was named; a room "
        "advertised by a flagged room comes first. No network."
    ),
)
def leads(
    as_json: Annotated[
        bool, typer.Option("--json", help=_("JSON Lines, one lead per line, most urgent first."))
    ] = False,
    refresh: Annotated[
        bool, typer.Option(help=_("Read every stored message and WARC again, not only new ones."))
    ] = False,
    limit: Annotated[int, typer.Option(help=_("Show at most this many leads (0: all)."))] = 0,
) -> None:
    from haechi.services.leads import harvest_leads, rank_leads

    settings, db = state.settings(), state.db()
    done = harvest_leads(db, settings, refresh=refresh)
    for problem in done.problems:
        err.print(text(problem), highlight=False)
    ranked = rank_leads(db, settings)
    shown = ranked[:limit] if limit > 0 else ranked
    if as_json:
        for lead in shown:
            print_json(lead.to_json())
        return
    table = Table(title=_("leads: rooms named in what haechi read"))
    cols = (_("score"), _("lead"), _("times"), _("held"), _("why"))
    for i, col in enumerate(cols):
        table.add_column(col, justify="right" if i in (0, 2) else "left")
    for lead in shown:
        why = text("; ".join(lead.reasons[:2]))
        if lead.shown:
            n = lead.shown[0]
            where = n.url or n.room
            by = f" {n.author}" if n.author else ""
            why.append("\n").append_text(text(f"{where}{by}: {n.excerpt[:80]}"))
        add_row(
            table,
            Text(f"{lead.score:.2f}", style="bold red" if lead.score >= 0.5 else ""),
            text_block("\n".join(x for x in (lead.key, lead.url, lead.title) if x)),
            str(lead.times),
            _("yes") if lead.held else "-",
            why,
        )
    out.print(table)
    _say(
        _("{leads} lead(s); read {messages} message(s) and {pages} page(s), {new} new").format(
            leads=len(ranked), messages=done.messages, pages=done.pages, new=done.new_leads
        )
    )
    if ranked:
        top = next((r for r in ranked if not r.held and r.kind == "public"), None)
        if top is not None:
            _say(
                _("next: `haechi discover capture {lead}` (its public web preview)").format(
                    lead=top.key
                )
            )


@discover_app.command(
    "search",
    help=_(
        "Search Telegram's public channels and groups with your own session; results "
        "become leads. Uses the network: it connects to Telegram with the session of "
        "`watch telegram`. It never joins a room and never posts. See docs/discover.md "
        "first."
    ),
)
def search(
    terms: Annotated[list[str], typer.Argument(help=_("Terms to search for."))],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help=_("Print the queries; do not connect."))
    ] = False,
    with_variants: Annotated[
        bool, typer.Option("--variants/--no-variants", help=_("Search the terms' variants too."))
    ] = True,
    max_queries: Annotated[int, typer.Option(help=_("At most this many queries."))] = 20,
    limit: Annotated[
        int, typer.Option(help=_("Results per query (Telegram's own cap is 100)."))
    ] = 20,
    as_json: Annotated[
        bool, typer.Option("--json", help=_("One JSON object per room found."))
    ] = False,
) -> None:
    from haechi.services.discover import search_queries

    settings = state.settings()
    queries = search_queries(settings, terms, variants=with_variants, max_queries=max_queries)
    if dry_run:
        for q in queries:
            if as_json:
                print_json({"query": q})
            else:
                out.print(text(q), highlight=False)
        if not as_json:
            _say(_("dry run: {n} quer(ies), nothing sent").format(n=len(queries)))
        return
    outcome = _run_search(queries, limit)
    run = outcome.run
    err.print(
        _("used the network: {n} request(s) to Telegram, {wait} s waited for flood limits").format(
            n=run.requests, wait=f"{run.waited:.0f}"
        ),
        highlight=False,
        markup=False,
    )
    for room, risk in outcome.rooms:
        line: dict[str, Any] = {
            "query": room.query,
            "lead": room.ref.key,
            "url": room.ref.url,
            "title": room.title,
            "members": room.members,
            "kind": room.kind,
            "description": list(room.description),
            "risk": risk,
        }
        if as_json:
            print_json(line)
        else:
            members = "?" if room.members is None else str(room.members)
            out.print(
                text(f"{risk:.2f}  {room.ref.key}  {room.title}  ({members})  [{room.query}]"),
                highlight=False,
            )
    if run.stopped:
        err.print(text(run.stopped), highlight=False)
        err.print(
            text(_("not searched: {queries}").format(queries=", ".join(run.queries_left))),
            highlight=False,
        )
    if not as_json:
        _say(
            _("{rooms} room(s) found, {new} new lead(s)").format(
                rooms=len(outcome.rooms), new=outcome.new_leads
            )
        )
        _say(_("next: `haechi discover leads`"))
    if run.stopped:
        raise typer.Exit(4)


def _run_search(queries: list[str], limit: int) -> Any:
    from haechi.services.discover import search_telegram

    settings = state.settings()
    tg = settings.telegram
    if tg.api_id is None or tg.api_hash is None:
        raise ConfigError(
            _(
                "set HAECHI_TELEGRAM__API_ID and HAECHI_TELEGRAM__API_HASH "
                "(from my.telegram.org, see docs/telegram-live.md)"
            )
        )
    from telethon import TelegramClient

    session = settings.telegram_session
    if not session.with_suffix(".session").exists() and not session.exists():
        raise ConfigError(
            _(
                "no Telegram session at {path}: log in once with `haechi watch telegram --login`"
            ).format(path=session)
        )
    # Flood waits reach the search's own bounded handling instead of being slept silently.
    client = TelegramClient(
        str(session), tg.api_id, tg.api_hash.get_secret_value(), flood_sleep_threshold=0
    )

    async def connect() -> None:
        await client.connect()
        if not await client.is_user_authorized():
            raise ConfigError(
                _("the Telegram session is not logged in: `haechi watch telegram --login`")
            )

    asyncio.run(connect())
    try:
        return search_telegram(
            state.db(), settings, client, queries, limit=limit, log=lambda m: err.print(text(m))
        )
    finally:
        asyncio.run(_disconnect(client))


async def _disconnect(client: Any) -> None:
    await client.disconnect()


@discover_app.command(
    "capture",
    help=_(
        "Capture a lead's public web preview (t.me/s/NAME) as evidence, or hand it to a "
        "person. The preview is fetched through `capture` and its guard into a WARC, "
        "scanned like any other, and the rooms its posts name become leads. Uses the "
        "network. With --join nothing is fetched: it prints how to hand the room to "
        "`watch telegram` after you decide to join it."
    ),
)
def capture(
    lead: Annotated[str, typer.Argument(help=_("A lead: @name, t.me/name or an invite link."))],
    join: Annotated[
        bool,
        typer.Option(
            "--join",
            help=_(
                "Do not fetch anything: print how to hand the room to `watch telegram` after "
                "you decide to join it yourself."
            ),
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help=_("Print the result as JSON."))] = False,
) -> None:
    from haechi.services.discover import capture_lead, join_handoff

    settings = state.settings()
    if join:
        hand = join_handoff(settings, lead)
        if as_json:
            print_json(hand)
            return
        if hand["join_yourself"]:
            _say(_("haechi never joins a room. To read {url}, join it yourself with your own "
                   "Telegram account, then:").format(url=hand["url"]))  # fmt: skip
        else:
            _say(_("haechi never joins a room. If you decide to join {url} with your own "
                   "Telegram account, then:").format(url=hand["url"]))  # fmt: skip
        _say(f"  {hand['watch']}")
        _say(_("its messages and media then enter rooms, network and evidence like any other"))
        return
    got = capture_lead(state.db(), settings, lead)
    err.print(_("used the network: {url}").format(url=esc(got.capture.url)), highlight=False)
    if as_json:
        print_json(
            got.capture.to_json()
            | {
                "lead": got.ref.key,
                "scan": {"files": got.scan.seen, "new": got.scan.new_items},
                "leads": {"pages": got.harvest.pages, "new": got.harvest.new_leads},
            }
        )
        return
    _say(
        _("{lead}: captured into {warc}; {files} media file(s), {new} new lead(s)").format(
            lead=got.ref.key, warc=got.capture.warc, files=got.scan.seen, new=got.harvest.new_leads
        )
    )
    _say(_("next: `haechi discover leads`, `haechi items`"))
