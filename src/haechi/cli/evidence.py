"""`haechi evidence …`: capture items into the vault, verify the vault and custody log, export
evidence packages, show the log. The custody log names the actor from HAECHI_ACTOR or the OS
user. Only `timestamp` (and capture/export when a TSA is configured) uses the network, and only
to send the TSA one hash."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from haechi.cli.app import add_row, app, err, esc, out, print_json, state, text_block
from haechi.errors import HaechiError, InputError, IntegrityError
from haechi.i18n import _, ngettext

# Each command imports the store parts it uses: `haechi scan` loads this module too.

evidence_app = typer.Typer(
    help=_("Preserve evidence: encrypted vault, custody log, evidence packages."),
    no_args_is_help=True,
)
app.add_typer(evidence_app, name="evidence")


def _timestamp_if_configured() -> None:
    from haechi.evidence.context import tsa_config
    from haechi.services.evidence import timestamp_custody_head
    from haechi.store.tsa import TimestampError

    cfg = tsa_config(state.settings())
    if cfg is None:
        return
    try:
        stamp = timestamp_custody_head(state.db(), cfg)
        seq, gen = stamp.seq, stamp.gen_time
        err.print(
            _("custody head (seq {seq}) timestamped by {url} at {time}Z").format(
                seq=seq, url=esc(cfg.url), time=f"{gen:%Y-%m-%d %H:%M:%S}"
            )
        )
    except TimestampError as exc:
        err.print(
            _("[yellow]warning:[/] the custody head was not timestamped: {reason}").format(
                reason=esc(exc)
            )
        )


@evidence_app.command(
    "capture",
    help=_(
        "Preserve items: their bytes go into the encrypted vault, their sightings into the log."
    ),
)
def capture_cmd(
    items: Annotated[list[str], typer.Argument(help=_("Items: SHA-256 or a unique prefix."))],
    reason: Annotated[str | None, typer.Option(help=_("Why it is preserved (logged)."))] = None,
    as_json: Annotated[bool, typer.Option("--json", help=_("One JSON line per item."))] = False,
) -> None:
    from haechi.evidence.capture import capture_item
    from haechi.evidence.context import actor_name

    settings, db = state.settings(), state.db()
    actor = actor_name(settings)
    failed = 0
    for ref in items:
        try:
            res = capture_item(db, settings, ref, actor, reason)
        except HaechiError as exc:
            failed += 1
            err.print(
                _("[red]not captured[/] {item}: {reason}").format(item=esc(ref), reason=esc(exc)),
                highlight=False,
                soft_wrap=True,
            )
            continue
        if res.vault_created:
            err.print(
                _("created the evidence vault in {path} (key: {key})").format(
                    path=esc(settings.vault_dir), key=esc(settings.vault_key_file)
                )
            )
        if as_json:
            print_json(res.__dict__)
        elif res.custody_seq is None:
            out.print(_("{sha}  already preserved, no new sightings").format(sha=res.sha256))
        else:
            msg = (
                _("{sha}  new sightings recorded ({n} sighting(s), custody seq {seq})")
                if res.already_preserved
                else _("{sha}  preserved ({n} sighting(s), custody seq {seq})")
            )
            out.print(msg.format(sha=res.sha256, n=res.new_sightings, seq=res.custody_seq))
    _timestamp_if_configured()
    if failed:
        raise typer.Exit(1)
    if not as_json:
        out.print(
            _("next: `haechi evidence export ITEM… --to FOLDER --recipient age1…`"),
            markup=False,
            highlight=False,
        )


@evidence_app.command(
    "verify",
    help=_(
        "Check the custody chain, its head and anchors, the list of "
        "preserved items, and decrypt every blob in the vault. Opens "
        "the database read-only and creates nothing. Exits 5 and "
        "names what was altered, deleted, reordered or inserted when "
        "anything is wrong; says whether an external anchor (head "
        "file, timestamp token) was checked."
    ),
)
def verify_cmd(
    head_file: Annotated[
        list[Path] | None,
        typer.Option("--head-file", help=_("A head file kept elsewhere (anchor); repeatable.")),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=_("Print the result as JSON."))] = False,
) -> None:
    from haechi.evidence.verify import verify_evidence

    report = verify_evidence(state.settings(), head_file or [])
    if as_json:
        print_json(
            {
                "ok": report.ok,
                "verdict": report.verdict(),
                "anchored_seq": report.anchored_seq,
                "fully_anchored": report.fully_anchored,
                "database": report.database,
                "entries": report.entries,
                "head_hash": report.head_hash,
                "blobs_checked": report.blobs_checked,
                "blobs_intact": report.blobs_intact,
                "blobs_unlogged": report.blobs_unlogged,
                "deletions_logged": report.deletions_logged,
                "notes": report.notes,
                "problems": [
                    {"kind": p.kind.value, "seq": p.seq, "blob": p.blob, "message": p.message}
                    for p in report.problems
                ],
            }
        )
    else:
        out.print(text_block(report.render()), highlight=False, end="")
    if not report.ok:
        raise typer.Exit(IntegrityError.exit_code)


@evidence_app.command(
    "export",
    help=_(
        "Write an evidence package: manifest.json, media, custody "
        "excerpt, report (Korean and English, HTML and PDF) and "
        "SHA256SUMS."
    ),
)
def export_cmd(
    items: Annotated[
        list[str] | None, typer.Argument(help=_("Items: SHA-256 or a unique prefix."))
    ] = None,
    to: Annotated[
        Path | None, typer.Option("--to", "--out", help=_("New folder, or a path ending in .zip."))
    ] = None,
    case: Annotated[
        int | None, typer.Option("--case", help=_("Package every item of this case."))
    ] = None,
    recipient: Annotated[
        list[str] | None,
        typer.Option("--recipient", "-r", help=_("The investigator's age public key (age1…).")),
    ] = None,
    plain_media: Annotated[
        bool, typer.Option("--plain-media", help=_("Write media unencrypted (explicit choice)."))
    ] = False,
    no_media: Annotated[
        bool, typer.Option("--no-media", help=_("Hashes, sightings and log only; no media."))
    ] = False,
    title: Annotated[str | None, typer.Option(help=_("Case title for the report."))] = None,
    authorise_minor: Annotated[
        bool,
        typer.Option(
            "--authorise-minor",
            help=_(
                "Include media of items flagged as a possible minor (logged; "
                "authorised investigators only)."
            ),
        ),
    ] = False,
) -> None:
    from haechi.evidence.context import actor_name
    from haechi.evidence.package import export_package

    settings, db = state.settings(), state.db()
    if to is None:
        raise InputError(_("say where the package goes: --to FOLDER (or a path ending in .zip)"))
    actor = actor_name(settings)
    if case is not None:
        from haechi.services.evidence import export_case

        res = export_case(
            db,
            settings,
            case,
            to,
            actor=actor,
            extra_items=items or [],
            title=title,
            recipients=recipient or [],
            plain_media=plain_media,
            include_media=not no_media,
            authorise_minor=authorise_minor,
        )
    else:
        res = export_package(
            db,
            settings,
            list(items or []),
            to,
            actor=actor,
            title=title,
            recipients=recipient or [],
            plain_media=plain_media,
            include_media=not no_media,
            authorise_minor=authorise_minor,
        )
    out.print(_("evidence package written: {path}").format(path=esc(res.path)))
    out.print(
        "  "
        + _("items: {items}, files: {files}, media: {media}").format(
            items=len(res.items), files=res.files, media=res.media
        )
    )
    for sha, why in res.left_out:
        err.print(
            _("[yellow]left out[/] {sha}: {reason}").format(sha=sha, reason=esc(why)),
            highlight=False,
            soft_wrap=True,
        )
    for sha, why in res.not_preserved:
        err.print(
            _("[yellow]listed without a preserved copy[/] {sha}: {reason}").format(
                sha=sha, reason=esc(why)
            ),
            highlight=False,
            soft_wrap=True,
        )
    seqs = ", ".join(map(str, res.custody_seqs))
    out.print(f"  SHA256SUMS sha256: {res.sha256sums} (custody seq {seqs})")  # no-i18n
    _timestamp_if_configured()
    out.print(
        _(
            "next: hand the package over, then record it: `haechi evidence shared ITEM… "
            "--with RECIPIENT`"
        ),
        markup=False,
        highlight=False,
    )


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
    sys.stdout.buffer.flush()
