"""Evidence packages: a folder (or zip) an investigator can check with standard tools.

    manifest.json     items, hashes (SHA-256, MD5, PDQ), sightings, versions, custody head
    media/            the evidentiary copies: `<sha256>.<ext>.age` (encrypted to the
                      recipients' age keys) or, only when asked explicitly, plain files
    custody/          custody.jsonl (the entries about these items), head.json, and the
                      latest RFC 3161 token with the TSA certificate when there is one
    report.html/.pdf  the same facts for people, in Korean and English
    SHA256SUMS        `sha256sum -c SHA256SUMS` checks every other file

The package is built beside its destination under a `.partial` name and moved into place
whole, inside the transaction that records one `exported` entry per item naming the SHA-256
of SHA256SUMS, so the log proves exactly which package left and a package killed halfway is
never found at the place asked for (tests/test_crash_trials_more.py). Nothing is written
inside the data directory.

One item that cannot be exported never stops the others: an item whose bytes can no longer be
read (never preserved, source gone) or whose vault copy is damaged is left out, and the
manifest and the command name it and the reason. With `--no-media` an item that cannot be
preserved is still listed (its hashes and sightings are what such a package carries), marked
as not preserved."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyrage

from haechi.config import Settings
from haechi.errors import HaechiError, InputError, IntegrityError, NotFoundError
from haechi.evidence import report
from haechi.evidence.capture import capture_item
from haechi.evidence.context import init_vault, open_vault, vault_exists
from haechi.evidence.package_contents import (
    MediaMode,
    write_contents,
    write_json,
    write_sha256sums,
    zip_folder,
)
from haechi.i18n import _
from haechi.private import private_tree
from haechi.store import items as store
from haechi.store.custody import (
    CustodyAction,
    CustodyEvent,
    append,
)
from haechi.store.db import Database
from haechi.store.evidence_models import EvidenceItem
from haechi.store.findings import minor_items
from haechi.store.notes import persons_of_items, seal


@dataclass(frozen=True)
class PackageResult:
    """What an export wrote: where, which items, how the media travel, the SHA256SUMS digest the
    custody entries name, and what was left out or not preserved, with why."""

    path: Path
    items: tuple[str, ...]
    media: MediaMode
    sha256sums: str  # SHA-256 of the SHA256SUMS file, as logged in the custody entries
    files: int
    custody_seqs: tuple[int, ...]
    # (SHA-256, why): items left out of the package, and (with --no-media) items listed in it
    # without a preserved copy.
    left_out: tuple[tuple[str, str], ...] = ()
    not_preserved: tuple[tuple[str, str], ...] = ()


def _recipients(keys: Sequence[str]) -> list[pyrage.x25519.Recipient]:
    out = []
    for k in keys:
        try:
            out.append(pyrage.x25519.Recipient.from_str(k.strip()))
        except (pyrage.RecipientError, ValueError) as exc:
            raise InputError(
                _("{k!r} is not an age public key (age1…): {exc}").format(k=k, exc=exc)
            ) from None
    return out


def export_package(
    db: Database,
    settings: Settings,
    items: Sequence[str],
    to: Path,
    *,
    actor: str,
    title: str | None = None,
    case_ref: str | None = None,
    recipients: Sequence[str] = (),
    plain_media: bool = False,
    include_media: bool = True,
    as_zip: bool | None = None,
    authorise_minor: bool = False,
) -> PackageResult:
    """Build an evidence package of `items` (SHA-256s or unique prefixes). Items not yet in
    the vault are captured first. `case_ref`/`title` name the case the package is for (cases
    call this with their own items). Media is encrypted to `recipients` (age public keys);
    plain media only with `plain_media`; none with `include_media=False`."""
    if not items:
        raise InputError(_("name at least one item to export"))
    mode: MediaMode
    if not include_media:
        mode = "none"
    elif recipients:
        if plain_media:
            raise InputError(_("give either age recipients or --plain-media, not both"))
        mode = "age"
    elif plain_media:
        mode = "plain"
    else:
        raise InputError(
            _(
                "media must be encrypted to the investigator: give "
                "--recipient AGE_PUBLIC_KEY (or --plain-media to write "
                "unencrypted copies, or --no-media for hashes only)"
            )
        )
    age_keys = _recipients(recipients) if mode == "age" else []
    dest = to.expanduser().resolve()
    if dest.exists():
        raise InputError(
            _("{dest}: already exists; choose a new place for the package").format(dest=dest)
        )
    if dest.is_relative_to(settings.home_dir):
        raise InputError(
            _("{dest}: is inside the data directory; export to a place outside it").format(
                dest=dest
            )
        )
    if not dest.parent.is_dir():
        raise InputError(_("{parent}: no such folder").format(parent=dest.parent))
    zipped = dest.suffix.lower() == ".zip" if as_zip is None else as_zip

    with db.session() as s:
        all_shas = list(dict.fromkeys(store.get_item(s, ref).sha256 for ref in items))
        minors = minor_items(s, all_shas)
    withheld = set() if authorise_minor else minors
    failures: dict[str, HaechiError] = {}
    for sha in all_shas:
        try:
            _preserve(db, settings, sha, actor)
        except HaechiError as exc:
            failures[sha] = exc
    not_preserved = {sha: str(e) for sha, e in failures.items()} if mode == "none" else {}
    vault = open_vault(settings) if vault_exists(settings) else None
    for sha in all_shas:
        if sha in failures:
            continue
        problems = vault.verify_blob(sha) if vault is not None else []
        if problems:
            failures[sha] = IntegrityError(
                _(
                    "refusing to export a damaged evidentiary copy: {problems}; "
                    "run `haechi evidence verify`"
                ).format(problems=problems[0])
            )
    left_out = {sha: str(e) for sha, e in failures.items() if sha not in not_preserved}
    shas = [sha for sha in all_shas if sha not in left_out]
    if not shas:
        if len(failures) == 1:
            raise next(iter(failures.values()))
        reasons = "; ".join(f"{sha}: {why}" for sha, why in left_out.items())
        raise InputError(_("no item could be exported ({reasons})").format(reasons=reasons))

    package_id = uuid.uuid4().hex
    build = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent))
    try:
        manifest, custody_rows = write_contents(
            db,
            settings,
            vault,
            shas,
            build,
            mode,
            age_keys,
            recipients,
            actor,
            title,
            case_ref,
            withheld,
            not_preserved,
        )
        manifest["package_id"] = package_id
        manifest["left_out"] = [{"sha256": k, "reason": v} for k, v in left_out.items()]
        write_json(build / "manifest.json", manifest)
        (build / "report.html").write_text(report.render_html(manifest, custody_rows), "utf-8")
        report.render_pdf(manifest, custody_rows, build / "report.pdf")
        sums = write_sha256sums(build)
        files = sum(1 for p in build.rglob("*") if p.is_file())
        # Plain media and the report are the case itself: no other account may read them,
        # whatever the umask (reportlab and pyrage create files with the umask's mode).
        private_tree(build)
        if zipped:
            ready = dest.with_name(f".{dest.name}.partial")
            zip_folder(build, ready, top=dest.stem)
            shutil.rmtree(build)
        else:
            ready = build
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    try:
        seqs = []
        with db.session() as s:
            whom = persons_of_items(s, shas)
            # Sealing needs the vault key, even for a package of hashes only.
            sealer = vault if vault is not None or not title else init_vault(settings, db)[0]
            for sha in shas:
                # The title may name the person: sealed, under a key forget destroys.
                sealed_title = seal(s, sealer, title, whom) if title and sealer else None
                rec = append(
                    s,
                    CustodyEvent(
                        actor,
                        CustodyAction.EXPORTED,
                        f"item:{sha}",
                        {
                            "package_id": package_id,
                            "package": dest.name,
                            "sha256sums": sums,
                            "media": mode,
                            "recipients": list(recipients),
                            "case": case_ref,
                            "title": sealed_title,
                        }
                        | (
                            {"minor_media_authorised": True}
                            if authorise_minor and sha in minors and mode != "none"
                            else {}
                        ),
                    ),
                )
                seqs.append(rec.seq)
            # Moved into place last, inside the transaction that logs it: until here only a
            # `.partial` name exists, which is never the package; a kill between this rename
            # and the commit (a few ms) is the one moment a whole package can be unlogged.
            ready.replace(dest)
    except BaseException:
        # An export the log does not record must not exist.
        for path in (ready, dest):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        raise
    return PackageResult(
        dest,
        tuple(shas),
        mode,
        sums,
        files,
        tuple(seqs),
        tuple(left_out.items()),
        tuple(not_preserved.items()),
    )


def _preserve(db: Database, settings: Settings, sha: str, actor: str) -> None:
    """Make sure the vault holds the item: capture it when it never was, and store it again
    when its copy has gone from the vault (the custody entry says `restored`)."""
    with db.session() as s:
        preserved = s.get(EvidenceItem, sha) is not None
    missing = preserved and not (vault_exists(settings) and open_vault(settings).has(sha))
    if preserved and not missing:
        return
    try:
        capture_item(db, settings, sha, actor, reason="exported")
    except HaechiError as exc:
        if missing:
            raise NotFoundError(
                _("its copy is missing from the vault, and {exc}").format(exc=exc)
            ) from None
        raise
