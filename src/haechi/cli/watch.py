"""`haechi watch telegram`: read the configured Telegram chats live and scan their new media."""

from __future__ import annotations

from typing import Annotated

import typer

from haechi.cli.app import app, err, out, print_json, state, text
from haechi.errors import ConfigError
from haechi.i18n import _

watch_app = typer.Typer(
    help=_("Watch live sources (Telegram) and scan new media as it is posted."),
    no_args_is_help=True,
)
app.add_typer(watch_app, name="watch")


@watch_app.command(
    "telegram",
    help=_(
        "Read Telegram chats with your own user session (read-only) "
        "and scan their media. Uses the network: it connects to "
        "Telegram. See docs/telegram-live.md first."
    ),
)
def telegram(
    chat: Annotated[
        list[str] | None,
        typer.Option("--chat", help=_("A chat to watch (id or @name); repeat. Default: settings.")),
    ] = None,
    once: Annotated[
        bool, typer.Option(help=_("Catch up on each chat's history, then stop (for cron jobs)."))
    ] = False,
    login: Annotated[
        bool,
        typer.Option(help=_("Log in first (asks for phone number and code in this terminal).")),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help=_("Print the summary as JSON."))] = False,
) -> None:
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

    from haechi.services.watch import watch_telegram

    session = settings.telegram_session
    session.parent.mkdir(parents=True, exist_ok=True, mode=0o700)

    def connect() -> TelegramClient:
        # Made inside the stream's event loop: Telethon binds a client to the loop it uses.
        return TelegramClient(
            str(session),
            tg.api_id,
            tg.api_hash.get_secret_value() if tg.api_hash else "",
            # Handlers run one at a time, in order; every flood wait reaches the watcher's own
            # handling (logged and bounded) instead of being slept through silently.
            sequential_updates=True,
            flood_sleep_threshold=0,
        )

    sm = watch_telegram(
        state.db(),
        settings,
        connect,
        chats=chat or None,
        login=login,
        once=once,
        log=lambda m: err.print(text(m)),
    )
    line = {
        "source": sm.source,
        "messages": sm.messages,
        "rooms": sm.rooms,
        "messages_with_media": sm.seen,
        "new": sm.new_items,
        "known": sm.known_items,
        "errors": sm.errors,
        "findings": sm.findings,
    }
    if as_json:
        print_json(line)
    else:
        out.print(
            text(
                _(
                    "{source}: {messages} messages in {rooms} rooms, {media} media, {new} new, "
                    "{known} known, {errors} skipped"
                ).format(
                    source=sm.source,
                    messages=sm.messages,
                    rooms=sm.rooms,
                    media=sm.seen,
                    new=sm.new_items,
                    known=sm.known_items,
                    errors=sm.errors,
                )
            ),
            highlight=False,
        )
