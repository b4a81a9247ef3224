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

import hashlib
import json
import os
import platform
import shutil
import tempfile
import uuid
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pyrage
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import select
from sqlalchemy.orm import Session

from haechi import __version__
from haechi.config import Settings
from haechi.errors import HaechiError, InputError, IntegrityError, NotFoundError
from haechi.evidence import report
from haechi.evidence.capture import capture_item
from haechi.evidence.context import init_vault, open_vault, tsa_config, vault_exists
from haechi.evidence.relations import attach_files, item_relations
from haechi.i18n import _
from haechi.private import create_private, private_tree
from haechi.redact import without_biometrics
from haechi.store import items as store
from haechi.store.custody import (
    CustodyAction,
    CustodyEvent,
    append,
    current_anchor,
    entries,
    format_time,
    record_json,
)
from haechi.store.db import Database
from haechi.store.evidence_models import CustodyTimestamp, EvidenceItem
from haechi.store.findings import Finding, minor_items
from haechi.store.models import SignalRow
from haechi.store.notes import persons_of_items, seal
from haechi.store.vault import Vault

MediaMode = Literal["age", "plain", "none"]
FORMAT = "haechi-evidence-package"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class PackageResult:
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
        manifest, custody_rows = _write_contents(
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
        _write_json(build / "manifest.json", manifest)
        (build / "report.html").write_text(report.render_html(manifest, custody_rows), "utf-8")
        report.render_pdf(manifest, custody_rows, build / "report.pdf")
        sums = _write_sha256sums(build)
        files = sum(1 for p in build.rglob("*") if p.is_file())
        # Plain media and the report are the case itself: no other account may read them,
        # whatever the umask (reportlab and pyrage create files with the umask's mode).
        private_tree(build)
        if zipped:
            ready = dest.with_name(f".{dest.name}.partial")
            _zip_folder(build, ready, top=dest.stem)
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
            sealer = vault if vault is not None or not title else init_vault(settings)[0]
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


def _write_contents(
    db: Database,
    settings: Settings,
    vault: Vault | None,
    shas: list[str],
    build: Path,
    mode: MediaMode,
    age_keys: list[pyrage.x25519.Recipient],
    recipients: Sequence[str],
    actor: str,
    title: str | None,
    case_ref: str | None,
    withheld: set[str],
    not_preserved: dict[str, str],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    (build / "custody").mkdir()
    if mode != "none":
        (build / "media").mkdir()
    items_json: list[dict[str, Any]] = []
    analyzers: dict[str, str] = {}
    with db.session() as s:
        anchor = current_anchor(s)
        pictures = _difference_pictures(s, shas)
        related = item_relations(s, shas)
        derived = sorted({p["sha256"] for ps in pictures.values() for p in ps})
        custody_rows = [
            without_biometrics(record_json(r))
            for r in entries(
                s,
                objects=[f"item:{sha}" for sha in shas] + [f"derived:{d}" for d in derived],
            )
        ]
        for sha in shas:
            view = store.get_item(s, sha)
            ev = s.get(EvidenceItem, sha)
            if ev is None and sha not in not_preserved:
                # Captured just above; gone only if someone deleted it meanwhile.
                raise NotFoundError(_("item {sha} is not in the vault").format(sha=sha))
            for name, payload in view.signals.items():
                if isinstance(payload, dict) and "version" in payload:
                    analyzers[name] = str(payload["version"])
            items_json.append(
                {
                    "sha256": sha,
                    "md5": view.md5,
                    "size": view.size,
                    "kind": view.kind,
                    "format": view.format,
                    "width": view.width,
                    "height": view.height,
                    "duration": view.duration,
                    "pdq": view.pdq.get("pdq"),
                    "pdq_quality": view.pdq.get("quality"),
                    "preserved": ev is not None and sha not in not_preserved,
                    "not_preserved_reason": not_preserved.get(sha),
                    "captured_at": format_time(ev.captured_at) if ev else None,
                    "captured_by": ev.captured_by if ev else None,
                    "custody_seq": ev.custody_seq if ev else None,
                    "sightings": [sg.__dict__ for sg in view.sightings],
                    "media_file": None,
                    "difference_pictures": pictures.get(sha, []),
                    # Same scene face changed, source photo found: what the finding says.
                    "relations": related.get(sha, []),
                }
            )
        for name, version in s.execute(
            select(SignalRow.analyzer, SignalRow.version)
            .where(SignalRow.item_sha256.in_(shas))
            .distinct()
        ):
            analyzers[name] = version
        token = s.scalars(
            select(CustodyTimestamp).order_by(CustodyTimestamp.id.desc()).limit(1)
        ).first()
        timestamp: dict[str, Any] | None = None
        if token is not None:
            (build / "custody" / "head.tst").write_bytes(token.token)
            timestamp = {
                "seq": token.seq,
                "head_hash": token.head_hash,
                "gen_time": format_time(token.gen_time),
                "tsa_url": token.tsa_url,
                "token_file": "custody/head.tst",
                "cert_file": None,
            }
            cfg = tsa_config(settings)
            if cfg is not None:
                (build / "custody" / "tsa-cert.pem").write_bytes(
                    cfg.cert.public_bytes(Encoding.PEM)
                )
                timestamp["cert_file"] = "custody/tsa-cert.pem"
    for it in items_json:
        if mode == "none" or vault is None:
            continue
        if it["sha256"] in withheld:  # a possible minor: no copy leaves without authorisation
            it["media_withheld"] = "possible minor"
            continue
        ext = _extension(it)
        name = f"media/{it['sha256']}{ext}" + (".age" if mode == "age" else "")
        _write_media(vault, it["sha256"], build / name, mode, age_keys)
        it["media_file"] = name
        for pic in it["difference_pictures"]:
            # Only the two face regions and their difference (evidence.difference).
            pname = f"media/difference/{pic['sha256']}.png" + (".age" if mode == "age" else "")
            (build / "media" / "difference").mkdir(exist_ok=True)
            if not (build / pname).exists():
                _write_media(vault, pic["sha256"], build / pname, mode, age_keys)
            pic["file"] = pname
    for it in items_json:
        attach_files(it["relations"], it["difference_pictures"])
    with (build / "custody" / "custody.jsonl").open("w", encoding="utf-8") as fh:
        for row in custody_rows:
            fh.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
    head = {"seq": anchor.seq, "head_hash": anchor.head_hash} if anchor else None
    _write_json(build / "custody" / "head.json", head or {"seq": 0, "head_hash": "0" * 64})
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "created_at": format_time(datetime.now(UTC)),
        "created_by": actor,
        "case": {"title": title, "ref": case_ref},
        "tool": {
            "name": "haechi",
            "version": __version__,
            "python": platform.python_version(),
            "analyzers": dict(sorted(analyzers.items())),
        },
        "media": {"mode": mode, "recipients": list(recipients), "encryption": _enc(mode)},
        "items": items_json,
        "custody": {
            "hash_scheme": "haechi-custody/1 (SHA-256 chain over canonical JSON)",
            "excerpt": "custody/custody.jsonl",
            "entries": len(custody_rows),
            "head": head or {"seq": 0, "head_hash": "0" * 64},
            "timestamp": timestamp,
        },
    }
    # Everything in the package and its reports passes the same gate as command output.
    return without_biometrics(manifest), custody_rows


def _difference_pictures(s: Session, shas: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Per item, the difference pictures its `face_changed` findings name."""
    out: dict[str, list[dict[str, Any]]] = {}
    for f in s.scalars(
        select(Finding)
        .where(Finding.item_sha256.in_(shas), Finding.kind == "face_changed")
        .order_by(Finding.id)
    ):
        d = f.details or {}
        if d.get("difference_picture"):
            out.setdefault(f.item_sha256, []).append(
                {
                    "sha256": d["difference_picture"],
                    "finding": f.id,
                    "related_item": d.get("related_item"),
                    "custody_seq": d.get("picture_seq"),
                    "file": None,
                }
            )
    return out


def _enc(mode: MediaMode) -> str | None:
    return {"age": "age (X25519), https://age-encryption.org/v1", "plain": None, "none": None}[mode]


def _extension(item: dict[str, Any]) -> str:
    for sg in item["sightings"]:
        suffix = Path(sg["locator"].rsplit("!", 1)[-1]).suffix.lower()
        if suffix and len(suffix) <= 8 and suffix[1:].isalnum():
            return suffix
    fmt = (item.get("format") or "").lower()
    return f".{fmt}" if fmt.isalnum() else ".bin"


def _write_media(
    vault: Vault, sha: str, path: Path, mode: MediaMode, keys: list[pyrage.x25519.Recipient]
) -> None:
    with vault.open_blob(sha) as reader:
        if mode == "age":
            with path.open("wb") as out:
                pyrage.encrypt_io(reader, out, keys)
        else:
            with path.open("wb") as out:
                for chunk in reader:
                    out.write(chunk)
        if not reader.verified:
            raise IntegrityError(
                _("blob {sha} was not read to the end; package not written").format(sha=sha)
            )


def _write_json(path: Path, obj: Any) -> None:
    obj = without_biometrics(obj)
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True) + "\n", "utf-8")


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _write_sha256sums(folder: Path) -> str:
    """The coreutils format (`HASH  path`), every file but itself, sorted."""
    lines = []
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.name != "SHA256SUMS":
            lines.append(f"{_sha256_file(p)}  {p.relative_to(folder).as_posix()}\n")
    sums = folder / "SHA256SUMS"
    sums.write_text("".join(lines), "utf-8")
    return _sha256_file(sums)


def _zip_folder(folder: Path, tmp: Path, top: str) -> None:
    """The zip, written to `tmp` (a `.partial` name the caller renames once it is logged)."""
    try:
        os.close(create_private(tmp))
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
            for p in sorted(folder.rglob("*")):
                if p.is_file():
                    zf.write(p, f"{top}/{p.relative_to(folder).as_posix()}")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
