"""`haechi evidence …` on the custody log and the vault's contents: show the log, record a sharing,
delete preserved copies, write the head, timestamp it, open a preserved item. Registered on
`evidence_app` after capture, verify and export, so the help lists them in the same order."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from haechi.cli.app import add_row, err, esc, out, print_json, state
from haechi.cli.evidence import evidence_app
from haechi.errors import InputError
from haechi.i18n import _, ngettext

# Each command imports the store parts it uses: `haechi scan` loads this module too.


@evidence_app.command("log", help=_("Show custody log entries."))
def log_cmd(
    item: Annotated[str | None, typer.Option(help=_("Only entries about this item."))] = None,
    action: Annotated[str | None, typer.Option(help=_("Only entries of this action."))] = None,
    limit: Annotated[int, typer.Option(help=_("Show the last N entries (0: all)."))] = 0,
    as_json: Annotated[bool, typer.Option("--json", help=_("JSON Lines, one per entry."))] = False,
) -> None:
    from haechi.services.evidence import custody_log
    from haechi.store.custody import record_json
    from haechi.store.custody_hash import format_time

    logged = custody_log(state.db(), _vault_or_none(), item=item, action=action, limit=limit)
    rows = [e.record for e in logged]
    opened = [e.opened for e in logged]
    if as_json:
        for r, text in zip(rows, opened, strict=True):
            line = record_json(r)
            if text != r.details:  # sealed notes, as a person reads them (not hashed)
                line["details_opened"] = text
            print_json(line)
        return
    table = Table()
    for col in ("seq", _("time (UTC)"), _("actor"), _("action"), _("object"), _("details")):
        table.add_column(col)
    for r, text in zip(rows, opened, strict=True):
        add_row(
            table,
            str(r.seq),
            format_time(r.at)[:19],
            r.actor,
            r.action,
            r.object[:24] + ("…" if len(r.object) > 24 else ""),
            _short_details(text),
        )
    out.print(table)
    out.print(ngettext("{n} entry", "{n} entries", len(rows)).format(n=len(rows)))


def _vault_or_none() -> Any:
    """The vault to read sealed notes with; None (notes show as sealed) when it cannot open."""
    from haechi.evidence.context import open_vault, vault_exists
    from haechi.store.vault import VaultError

    settings = state.settings()
    if not vault_exists(settings):
        return None
    try:
        return open_vault(settings)
    except VaultError as exc:
        err.print(
            _("[yellow]note:[/] sealed notes stay sealed: {reason}").format(reason=esc(exc)),
            highlight=False,
        )
        return None


def _short_details(details: Any) -> str:
    if details is None:
        return _("(redacted)")
    if not details:
        return ""
    parts = []
    for k, v in details.items():
        if isinstance(v, list):
            parts.append(f"{k}=[{len(v)}]")
        elif isinstance(v, dict):
            parts.append(f"{k}={{…}}")
        else:
            parts.append(f"{k}={str(v)[:40]}")
    return " ".join(parts)[:120]


@evidence_app.command(
    "shared", help=_("Record that preserved items (or their package) were handed to someone.")
)
def shared_cmd(
    items: Annotated[list[str], typer.Argument(help=_("Items: SHA-256 or a unique prefix."))],
    with_: Annotated[str, typer.Option("--with", help=_("Who received it (an office, a role)."))],
    note: Annotated[str | None, typer.Option(help=_("How it was handed over."))] = None,
) -> None:
    from haechi.evidence.context import actor_name, open_vault
    from haechi.services.evidence import record_shared

    settings = state.settings()
    vault = open_vault(settings) if note else None
    for sha, seq in record_shared(state.db(), vault, actor_name(settings), items, with_, note):
        out.print(
            _("{sha}  shared with {whom} (custody seq {seq})").format(
                sha=sha, whom=esc(with_), seq=seq
            )
        )


@evidence_app.command(
    "delete",
    help=_(
        "Delete preserved items from the vault on purpose (an "
        "erasure request). Each deletion is logged by hash; `verify` "
        "then reports it as a logged deletion, not as tampering."
    ),
)
def delete_cmd(
    items: Annotated[list[str], typer.Argument(help=_("Preserved items: full SHA-256."))],
    yes: Annotated[bool, typer.Option("--yes", help=_("Do not ask for confirmation."))] = False,
) -> None:
    from haechi.evidence.context import actor_name, open_vault
    from haechi.evidence.delete import delete_preserved
    from haechi.services.evidence import not_preserved

    settings, db = state.settings(), state.db()
    vault = open_vault(settings)
    unknown = not_preserved(db, items)
    if unknown:
        raise InputError(
            _("not preserved items (give the full SHA-256): {items}").format(
                items=", ".join(unknown)
            )
        )
    if not yes and not typer.confirm(
        _("Delete {n} preserved item(s) from the evidence vault? This cannot be undone").format(
            n=len(items)
        )
    ):
        raise typer.Exit(1)
    seqs = delete_preserved(db, vault, list(dict.fromkeys(items)), actor_name(settings))
    for sha, seq in zip(dict.fromkeys(items), seqs, strict=True):
        out.print(_("{sha}  deleted (custody seq {seq})").format(sha=sha, seq=seq), highlight=False)
    out.print(_("next: `haechi evidence verify` (the deletions show as logged)"), markup=False)


@evidence_app.command(
    "head",
    help=_(
        "Write the custody head (seq and hash) to a file to keep on "
        "other media; give it to `verify --head-file` later to catch "
        "a rewritten log."
    ),
)
def head_cmd(
    to: Annotated[Path, typer.Option("--to", "--out", help=_("Where to write the head file."))],
) -> None:
    from haechi.services.evidence import write_custody_head

    anchor = write_custody_head(state.db(), to)
    out.print(
        _("custody head seq {seq} {hash} written to {path}").format(
            seq=anchor.seq, hash=anchor.head_hash, path=esc(to)
        )
    )
    out.print(
        _("next: keep it on other media; later `haechi evidence verify --head-file {path}`").format(
            path=esc(to)
        ),
        highlight=False,
    )


@evidence_app.command(
    "timestamp",
    help=_("Have the configured RFC 3161 timestamp authority sign the custody head (network)."),
)
def timestamp_cmd() -> None:
    from haechi.evidence.context import tsa_config
    from haechi.services.evidence import timestamp_custody_head

    cfg = tsa_config(state.settings())
    if cfg is None:
        raise InputError(
            _("no timestamp authority configured (HAECHI_VAULT__TSA_URL and _TSA_CERT)")
        )
    row = timestamp_custody_head(state.db(), cfg)
    out.print(
        _("custody head seq {seq} {hash} timestamped at {time}Z (serial {serial})").format(
            seq=row.seq,
            hash=row.head_hash,
            time=f"{row.gen_time:%Y-%m-%d %H:%M:%S}",
            serial=row.serial,
        )
    )


@evidence_app.command(
    "open",
    help=_(
        "Write a preserved item's bytes to standard output (never to a terminal); logs `viewed`."
    ),
)
def open_cmd(
    item: Annotated[str, typer.Argument(help=_("An item's SHA-256 or a unique prefix."))],
    reason: Annotated[str | None, typer.Option(help=_("Why it is viewed (logged)."))] = None,
) -> None:
    from haechi.evidence.context import actor_name, open_vault
    from haechi.services.evidence import record_viewed

    if sys.stdout.isatty():
        raise InputError(_("refusing to write media to a terminal; pipe it to a viewer"))
    settings, db = state.settings(), state.db()
    vault = open_vault(settings)
    sha = record_viewed(db, vault, actor_name(settings), item, reason)
    with vault.open_blob(sha) as reader:
        for chunk in reader:
            sys.stdout.buffer.write(chunk)
