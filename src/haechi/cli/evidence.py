"""`haechi evidence …`: capture items into the vault, verify the vault and custody log, export
evidence packages, show the log. The custody log names the actor from HAECHI_ACTOR or the OS
user. Only `timestamp` (and capture/export when a TSA is configured) uses the network, and only
to send the TSA one hash."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from haechi.cli.app import app, err, esc, out, print_json, state, text_block
from haechi.errors import HaechiError, InputError, IntegrityError
from haechi.i18n import _

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

    sys.stdout.buffer.flush()
