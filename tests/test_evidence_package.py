"""Evidence packages, checked with the tools an investigator has: sha256sum, a PDF reader,
age (through pyrage), openssl ts."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pyrage
import pytest
from conftest import jpeg_bytes, noise_image
from cryptography.hazmat.primitives.serialization import Encoding
from evidence_world import CANARY, scanned
from fake_tsa import FakeTSA
from pypdf import PdfReader

from haechi.config import Settings, load_settings
from haechi.errors import InputError, IntegrityError
from haechi.evidence.capture import capture_item
from haechi.evidence.context import open_vault, tsa_config
from haechi.evidence.package import export_package
from haechi.evidence.report import TITLE_KO
from haechi.scan import scan_paths
from haechi.store.custody import CustodyAction, entries
from haechi.store.custody_verify import verify
from haechi.store.db import Database
from haechi.store.tsa import timestamp_head

needs_sha256sum = pytest.mark.skipif(shutil.which("sha256sum") is None, reason="no sha256sum")


def sha256sum_check(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=folder, capture_output=True, text=True, check=False
    )


@needs_sha256sum
def test_package_with_age_media_verifies_with_standard_tools(
    tmp_path: Path, settings: Settings, db: Database
) -> None:
    src, (a, _, c) = scanned(tmp_path, settings, db)
    investigator = pyrage.x25519.Identity.generate()
    res = export_package(
        db,
        settings,
        [a[:12], c],
        tmp_path / "pkg",
        actor="counsellor-1",
        title="사건 2024-17 / Case 2024-17",
        recipients=[str(investigator.to_public())],
    )
    pkg = res.path
    proc = sha256sum_check(pkg)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "manifest.json: OK" in proc.stdout and "report.pdf: OK" in proc.stdout
    manifest = json.loads((pkg / "manifest.json").read_text("utf-8"))
    by_sha = {it["sha256"]: it for it in manifest["items"]}
    assert set(by_sha) == {a, c} and manifest["media"]["mode"] == "age"
    item_a = by_sha[a]
    assert item_a["md5"] == hashlib.md5((src / "a.jpg").read_bytes()).hexdigest()
    assert len(item_a["pdq"]) == 64 and item_a["sightings"][0]["locator"] == "a.jpg"
    assert manifest["tool"]["analyzers"]["pdq"] and manifest["tool"]["version"]
    # The media decrypts with the investigator's key to exactly the preserved bytes, and is
    # not readable without it.
    enc = (pkg / item_a["media_file"]).read_bytes()
    assert item_a["media_file"].endswith(".jpg.age") and CANARY not in enc
    assert pyrage.decrypt(enc, [investigator]) == (src / "a.jpg").read_bytes()
    # The custody excerpt recomputes: each line's hash chain links to its predecessor's.
    lines = [json.loads(x) for x in (pkg / "custody/custody.jsonl").read_text().splitlines()]
    assert [x["action"] for x in lines] == ["captured", "captured"]
    # The log records the export, naming the exact SHA256SUMS that left.
    with db.session() as s:
        exported = [e for e in entries(s) if e.action == CustodyAction.EXPORTED]
        assert verify(s, open_vault(settings)).ok
    sums = hashlib.sha256((pkg / "SHA256SUMS").read_bytes()).hexdigest()
    assert {e.details["sha256sums"] for e in exported} == {sums} and len(exported) == 2
    # A changed file in the package is caught by sha256sum.
    (pkg / "manifest.json").write_text((pkg / "manifest.json").read_text() + " ")
    assert "manifest.json: FAILED" in sha256sum_check(pkg).stdout


def test_report_pdf_and_html_are_bilingual(
    tmp_path: Path, settings: Settings, db: Database
) -> None:
    _, (a, _, _) = scanned(tmp_path, settings, db)
    res = export_package(
        db, settings, [a], tmp_path / "pkg", actor="u", title="사건 17", include_media=False
    )
    text = "\n".join(page.extract_text() for page in PdfReader(res.path / "report.pdf").pages)
    assert TITLE_KO in text and "Digital evidence preservation report" in text
    assert "사건 17" in text and a in text.replace("\n", "")
    html = (res.path / "report.html").read_text("utf-8")
    assert TITLE_KO in html and "How to verify" in html and a in html
    assert not (res.path / "media").exists()


@needs_sha256sum
def test_zip_package_and_plain_media_only_when_asked(
    tmp_path: Path, settings: Settings, db: Database
) -> None:
    src, (a, _, _) = scanned(tmp_path, settings, db)
    with pytest.raises(InputError, match="--recipient"):
        export_package(db, settings, [a], tmp_path / "p0", actor="u")
    assert not (tmp_path / "p0").exists()
    res = export_package(db, settings, [a], tmp_path / "case.zip", actor="u", plain_media=True)
    with zipfile.ZipFile(res.path) as zf:
        zf.extractall(tmp_path / "unz")
    folder = tmp_path / "unz" / "case"
    assert sha256sum_check(folder).returncode == 0
    assert (folder / f"media/{a}.jpg").read_bytes() == (src / "a.jpg").read_bytes()
    assert not list(tmp_path.glob(".case.zip*"))  # no partial build left behind


def test_export_refuses_inside_data_dir_and_damaged_blobs(
    tmp_path: Path, settings: Settings, db: Database
) -> None:
    _, (a, _, _) = scanned(tmp_path, settings, db)
    with pytest.raises(InputError, match="inside the data directory"):
        export_package(db, settings, [a], settings.home_dir / "out", actor="u", plain_media=True)
    capture_item(db, settings, a, "u")
    vault = open_vault(settings)
    blob = vault.path_for(a)
    data = bytearray(blob.read_bytes())
    data[-20] ^= 1
    blob.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="damaged evidentiary copy"):
        export_package(db, settings, [a], tmp_path / "out", actor="u", plain_media=True)
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl")
def test_timestamp_token_in_package_verifies_with_openssl(
    tmp_path: Path,
    settings: Settings,
    db: Database,
    fake_tsa: tuple[FakeTSA, str],
) -> None:
    tsa_state, url = fake_tsa
    cert = tmp_path / "tsa.pem"
    cert.write_bytes(tsa_state.cert.public_bytes(Encoding.PEM))
    s2 = load_settings(home=settings.home, vault={"tsa_url": url, "tsa_cert": cert})
    _, (a, _, _) = scanned(tmp_path, s2, db)
    capture_item(db, s2, a, "u")
    cfg = tsa_config(s2)
    assert cfg is not None
    with db.session() as s:
        row = timestamp_head(s, cfg.__class__(url=url, cert=cfg.cert, trust_env=False))
    res = export_package(db, s2, [a], tmp_path / "pkg", actor="u", include_media=False)
    ts = json.loads((res.path / "manifest.json").read_text())["custody"]["timestamp"]
    assert ts["head_hash"] == row.head_hash and ts["cert_file"] == "custody/tsa-cert.pem"
    proc = subprocess.run(
        [
            "openssl",
            "ts",
            "-verify",
            "-digest",
            row.head_hash,
            "-token_in",
            "-in",
            "custody/head.tst",
            "-CAfile",
            "custody/tsa-cert.pem",
        ],
        cwd=res.path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0 and "Verification: OK" in proc.stdout, proc.stdout + proc.stderr
    other = "0" * 63 + "1"
    bad = subprocess.run(
        [
            *("openssl", "ts", "-verify", "-digest", other, "-token_in", "-in", "custody/head.tst"),
            *("-CAfile", "custody/tsa-cert.pem"),
        ],
        cwd=res.path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode != 0


def test_new_items_scanned_after_capture_are_exported_with_capture(
    tmp_path: Path, settings: Settings, db: Database
) -> None:
    # Exporting an item not yet preserved preserves it first.
    src = tmp_path / "more"
    src.mkdir()
    (src / "x.jpg").write_bytes(jpeg_bytes(noise_image(7)))
    scan_paths(db, settings, [src])
    sha = hashlib.sha256((src / "x.jpg").read_bytes()).hexdigest()
    export_package(db, settings, [sha], tmp_path / "pkg", actor="u", include_media=False)
    with db.session() as s:
        assert [e.action for e in entries(s)] == ["captured", "exported"]
