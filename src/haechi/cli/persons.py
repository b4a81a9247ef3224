"""Persons commands: enrol (with consent), persons, forget (findings: persons_findings.py).

There is no command that searches for a face: faces in scanned media are only ever compared with
the persons enrolled here."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from haechi.cli.app import add_row, app, err, esc, out, print_json, state
from haechi.i18n import _
from haechi.safe_text import visible

# Each command imports what it uses (the store, the face model): `haechi scan` loads this
# module too, and must not wait for them.


@app.command(
    "enrol",
    help=_(
        "Enrol a person, with their consent: photos become face "
        "templates, own files become hashes (PDQ, MD5); nothing else "
        "is stored. Already scanned items are matched at once. With "
        "--add, more photos or own files join an enrolled person."
    ),
)
def enrol_cmd(
    photos: Annotated[
        list[Path] | None,
        typer.Argument(help=_("1-20 photos showing only the person's face (read, never kept).")),
    ] = None,
    alias: Annotated[str, typer.Option(help=_("A name for the record (need not be real)."))] = "",
    consent: Annotated[
        str,
        typer.Option(help=_("The consent given, in words (required: no consent, no enrolment).")),
    ] = "",
    consent_by: Annotated[
        str | None, typer.Option(help=_("Who gave consent (default: the person, by alias)."))
    ] = None,
    for_whom: Annotated[
        str | None, typer.Option(help=_("Whose face and files these are (default: the alias)."))
    ] = None,
    scope: Annotated[
        str, typer.Option(help=_("What haechi may do with the templates and hashes."))
    ] = "match faces and own-media hashes in scanned material",
    verified_how: Annotated[
        str, typer.Option(help=_("How identity and consent were checked."))
    ] = "self-declared",
    own_media: Annotated[
        list[Path] | None,
        typer.Option(help=_("The person's own image or video to look for (hashed, never kept).")),
    ] = None,
    add: Annotated[
        bool,
        typer.Option(
            "--add",
            help=_(
                "Add the photos / --own-media to an already enrolled alias, "
                "under her recorded consent (her findings stay)."
            ),
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help=_("Print the result as JSON."))] = False,
) -> None:
    from haechi.persons.enrol import Consent, add_to_person, enrol

    if add:
        if consent:
            raise typer.BadParameter(
                _("--add uses the consent already recorded; leave out --consent")
            )
        result = add_to_person(state.db(), state.settings(), alias, photos or [], own_media or [])
    else:
        result = enrol(
            state.db(),
            state.settings(),
            alias,
            Consent(
                text=consent,
                consented_by=consent_by if consent_by is not None else alias,
                for_whom=for_whom if for_whom is not None else alias,
                scope=scope,
                verified_how=verified_how,
            ),
            photos or [],
            own_media or [],
        )
    if as_json:
        print_json(
            {
                "alias": result.alias,
                "templates": result.templates,
                "own_media": result.own_media,
                "refused": [{"file": r.file, "reason": r.reason} for r in result.refused],
                "findings": result.findings,
            }
        )
        return
    console = out
    for r in result.refused:
        console.print(
            _("[yellow]refused[/] {file}: {reason}").format(file=esc(r.file), reason=esc(r.reason)),
            highlight=False,
        )
    msg = (
        _(
            "added to [bold]{alias}[/]: {templates} face template(s), {own} own file(s) hashed; "
            "{findings} finding(s) in items already scanned. The photos were not stored."
        )
        if add
        else _(
            "enrolled [bold]{alias}[/]: {templates} face template(s), {own} own file(s) hashed; "
            "{findings} finding(s) in items already scanned. The photos were not stored."
        )
    )
    console.print(
        msg.format(
            alias=esc(result.alias),
            templates=result.templates,
            own=result.own_media,
            findings=result.findings,
        ),
        highlight=False,
    )
    console.print(
        _("next: `haechi scan PATH…` to look for her, `haechi findings --person {alias}`").format(
            alias=visible(result.alias)
        ),
        markup=False,
        highlight=False,
    )


@app.command(
    "persons",
    help=_("List enrolled persons with their consent record and what is stored for them."),
)
def persons_cmd(
    as_json: Annotated[bool, typer.Option("--json", help=_("JSON Lines, one per person."))] = False,
) -> None:
    from haechi.services.persons import list_persons

    table = Table()
    for col in (_("alias"), _("enrolled"), _("consent by"), _("for"), _("scope"), _("verified")):
        table.add_column(col)
    for col in (_("templates"), _("own files"), _("findings")):
        table.add_column(col, justify="right")
    for p in list_persons(state.db()):
        if as_json:
            print_json(p.to_json())
            continue
        c = p.consent
        add_row(
            table,
            p.alias,
            p.enrolled_at.strftime("%Y-%m-%d"),
            c.by if c else "-",
            c.for_whom if c else "-",
            c.scope if c else "-",
            c.verified_how if c else "-",
            str(p.templates),
            str(p.own_media),
            str(p.findings),
        )
    if not as_json:
        out.print(table)


@app.command(
    "forget",
    help=_(
        "Erase a person: consent, templates, own-media hashes, her "
        "findings, index entries, the free-text notes about her "
        "in the custody log (their keys are destroyed) and the titles "
        "and notes of her cases and of any case that names her; the "
        "database files are rewritten so none of it remains on "
        "disk.\n\nWhat remains: her preserved items in the evidence "
        "vault (evidence of a crime) with the custody entries about "
        "them, which do not name her, unless --delete-evidence is given "
        "(then the vault copies are deleted too, each deletion "
        "logged by hash); her cases, unnamed, with their items and "
        "timeline; the faces recorded in scanned media, which "
        "describe the collected material, not her. The output lists "
        "what remains."
    ),
)
def forget_cmd(
    alias: Annotated[str, typer.Argument(help=_("The alias of the enrolled person."))],
    yes: Annotated[bool, typer.Option("--yes", help=_("Do not ask for confirmation."))] = False,
    delete_evidence: Annotated[
        bool,
        typer.Option(
            "--delete-evidence",
            help=_("Also delete her preserved items from the evidence vault (logged, by hash)."),
        ),
    ] = False,
) -> None:
    from haechi.persons.forget import forget

    question = (
        _("Erase everything about {alias} (and her preserved evidence)? This cannot be undone")
        if delete_evidence
        else _("Erase everything about {alias}? This cannot be undone")
    )
    if not yes and not typer.confirm(question.format(alias=repr(alias))):
        raise typer.Exit(1)
    result = forget(state.db(), state.settings(), alias, delete_evidence=delete_evidence)
    removed = ", ".join(f"{n} {what}" for what, n in result.removed)
    out.print(
        _("forgot {alias}: removed {removed}").format(alias=esc(result.alias), removed=removed),
        highlight=False,
    )
    if result.notes_erased:
        out.print(
            _(
                "erased {n} free-text note(s) about her in the custody log "
                "(their keys are destroyed; they now read [erased with person])"
            ).format(n=result.notes_erased),
            highlight=False,
            markup=False,
        )
    if result.notes_unsearched:
        err.print(
            _(
                "[yellow]warning:[/] notes not tied to her could not be searched for her alias: "
                "{reason}"
            ).format(reason=esc(result.notes_unsearched)),
            highlight=False,
        )
    if result.evidence_deleted:
        out.print(
            _(
                "deleted {n} preserved item(s) of hers from the evidence vault; the custody log "
                "records each deletion by hash, without her name"
            ).format(n=len(result.evidence_deleted)),
            highlight=False,
        )
    if result.evidence_shared:
        out.print(
            _(
                "kept {n} preserved item(s) that are also evidence for another enrolled person"
            ).format(n=len(result.evidence_shared)),
            highlight=False,
        )
    kept = result.evidence_kept
    if kept:
        out.print(
            _(
                "remains: {n} preserved item(s) that showed her are still in the evidence "
                "vault, as evidence of a crime, with {entries} custody entries about them that "
                "do not name her. haechi no longer knows they were hers; to delete them, run "
                "`haechi evidence delete` with these SHA-256 (or forget with --delete-evidence "
                "next time):"
            ).format(n=len(kept), entries=result.custody_entries_kept),
            highlight=False,
            markup=False,
        )
        for sha in kept:
            out.print(f"  {sha}", highlight=False)
