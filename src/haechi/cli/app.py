"""The Typer app, the shared state (settings and database, built on first use) and output helpers.
Command modules import `app` from here and register themselves.

Every printer goes through the helpers at the end: outside strings (names, titles, paths,
messages, reasons) reach the terminal only through `esc` (inside our own markup), `text` or
`add_row` (table cells), never as markup and never with raw control characters; JSON only
through `print_json`, which drops biometric fields (haechi.redact)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import typer.rich_utils
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from haechi import __version__
from haechi.config import Settings, load_settings, unknown_env_names
from haechi.i18n import _, language
from haechi.private import exposure_warning
from haechi.redact import without_biometrics
from haechi.safe_text import json_text, visible

if TYPE_CHECKING:
    from haechi.store.db import Database

# Help texts are translated here, once, when the commands are imported; the reference (docs/cli.md)
# must be rendered in English, so it checks this.
HELP_LANGUAGE = language()
# Typer's own words around the help texts, in the reader's language too (read when help is shown).
typer.rich_utils.ARGUMENTS_PANEL_TITLE = _("Arguments")
typer.rich_utils.OPTIONS_PANEL_TITLE = _("Options")
typer.rich_utils.COMMANDS_PANEL_TITLE = _("Commands")
typer.rich_utils.REQUIRED_LONG_STRING = _("[required]")
typer.rich_utils.DEFAULT_STRING = _("[default: {}]")

app = typer.Typer(
    help=_("haechi: find, judge and preserve deepfake sexual abuse material, offline."),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console()
err = Console(stderr=True)


class _State:
    home: Path | None = None
    workers: int | None = None
    debug: bool = False
    _settings: Settings | None = None
    _db: Database | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(home=self.home, workers=self.workers)
            for warning in unknown_env_names(os.environ):
                warn(warning)
            if problem := exposure_warning(self._settings.home_dir):
                warn(problem)
        return self._settings

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def database_name(self) -> str:
        """The database for error messages (a server URL without its password)."""
        return self._db.where if self._db is not None else "the database"

    def db(self) -> Database:
        if self._db is None:
            from haechi.store.db import Database  # sqlalchemy and alembic: only when needed

            self._db = Database(self.settings())
        return self._db


state = _State()


def warn(message: str) -> None:
    """A "warning:" line on stderr; the message is shown as plain text, never as markup."""
    label = _("warning:")
    err.print(f"[yellow]{label}[/] {esc(message)}", highlight=False, soft_wrap=True)


def _version(value: bool) -> None:
    if value:
        out.print(f"haechi {__version__}")  # no-i18n (a name and a number)
        raise typer.Exit()


@app.callback()
def _main(
    home: Annotated[
        Path | None,
        typer.Option(help=_("Data directory (default: $HAECHI_HOME or ./haechi-data)."), envvar=[]),
    ] = None,
    workers: Annotated[int | None, typer.Option(help=_("Worker processes for scanning."))] = None,
    debug: Annotated[bool, typer.Option(help=_("Show the full trace on errors."))] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help=_("Show the version.")),
    ] = False,
) -> None:
    state.home, state.workers, state.debug = home, workers, debug


def human_size(n: int) -> str:
    """A byte count for people: "512 B", "1.5 MB"; GB is the largest unit."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def redact_url(url: str) -> str:
    """The URL with its user and password shown as `***` (a database URL printed by
    `haechi init`); unchanged when it carries none."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def print_json(obj: dict[str, Any]) -> None:
    """One JSON Lines record on stdout, without face vectors, safe for a terminal."""
    sys.stdout.write(json_text(without_biometrics(obj)) + "\n")
    sys.stdout.flush()


def esc(value: object) -> str:
    """An outside value for an f-string printed with markup: control characters visible,
    brackets escaped (a file named `[/]` crashed rich; `[bold red]x[/bold red].png` showed as
    `x.png`)."""
    return escape(visible(value))


def text(value: object, style: str = "") -> Text:
    """An outside value as rich text: never parsed as markup, control characters visible."""
    return Text(visible(value), style=style)


def text_block(value: object) -> Text:
    """Outside text of several lines: each line as `text`, the line breaks kept."""
    return Text("\n".join(visible(line) for line in str(value).split("\n")))


def add_row(table: Table, *cells: object) -> None:
    """A table row: `Text` cells (our own styling) as they are, every other cell as `text`."""
    table.add_row(*(c if isinstance(c, Text) else text(c) for c in cells))
