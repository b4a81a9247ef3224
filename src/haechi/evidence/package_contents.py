"""What goes inside an evidence package: the manifest, the media (encrypted to the recipients'
age keys, or plain when asked), the custody extract and its timestamp, the reports, and
SHA256SUMS; and the zip of it all. `export_package` (package.py) builds it under a temporary
name and moves it into place."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pyrage
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import select
from sqlalchemy.orm import Session

from haechi import __version__
from haechi.config import Settings
from haechi.errors import IntegrityError, NotFoundError
from haechi.evidence.context import tsa_config
from haechi.evidence.relations import attach_files, item_relations
from haechi.i18n import _
from haechi.private import create_private
from haechi.redact import without_biometrics
from haechi.store import items as store
from haechi.store.custody import entries, record_json
from haechi.store.custody_anchor import current_anchor
from haechi.store.custody_hash import format_time
from haechi.store.db import Database
from haechi.store.evidence_models import CustodyTimestamp, EvidenceItem
from haechi.store.findings import Finding
from haechi.store.models import SignalRow
from haechi.store.vault import Vault

MediaMode = Literal["age", "plain", "none"]
FORMAT = "haechi-evidence-package"
FORMAT_VERSION = 1


def write_contents(
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
    """Write everything but SHA256SUMS into `build`: media, custody extract, reports, manifest.
    `withheld` items (possible minors) leave no copy; `not_preserved` ones are listed with the
    reason. Returns the manifest (without biometrics) and the custody rows written."""
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
    write_json(build / "custody" / "head.json", head or {"seq": 0, "head_hash": "0" * 64})
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


def write_json(path: Path, obj: Any) -> None:
    """Pretty-printed UTF-8 JSON, as every JSON file of a package is written."""
    obj = without_biometrics(obj)
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True) + "\n", "utf-8")


def sha256_file(path: Path) -> str:
    """The file's SHA-256 in hex, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def write_sha256sums(folder: Path) -> str:
    """The coreutils format (`HASH  path`), every file but itself (a package's own SHA256SUMS
    inside, as in a police report, is listed), sorted; the SHA256SUMS file's own hash."""
    sums = folder / "SHA256SUMS"
    lines = []
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p != sums:
            lines.append(f"{sha256_file(p)}  {p.relative_to(folder).as_posix()}\n")
    sums.write_text("".join(lines), "utf-8")
    return sha256_file(sums)


def zip_folder(folder: Path, tmp: Path, top: str) -> None:
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
