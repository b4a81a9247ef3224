"""Evidence test data: scanned pictures that carry a marker no clear copy may hold, and a data
directory with captured items and a custody log, built in-process for the evidence tests."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

from conftest import jpeg_bytes, noise_image

from haechi.config import Settings, load_settings
from haechi.evidence.capture import capture_item
from haechi.scan import scan_paths
from haechi.store.custody import CustodyAction, CustodyEvent, append
from haechi.store.db import Database

CANARY = b"HAECHI-CANARY-7f3a9c-do-not-store-in-clear"


def canary_jpeg(seed: int) -> bytes:
    """A picture whose bytes carry a distinctive marker (a JPEG comment)."""
    return jpeg_bytes(noise_image(seed), comment=CANARY + bytes(str(seed), "ascii"))


def scanned(tmp_path: Path, settings: Settings, db: Database) -> tuple[Path, list[str]]:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.jpg").write_bytes(canary_jpeg(1))
    (src / "b.jpg").write_bytes(canary_jpeg(2))
    with zipfile.ZipFile(src / "bundle.zip", "w") as zf:
        zf.writestr("inner/c.jpg", canary_jpeg(3))
    scan_paths(db, settings, [src])
    shas = [
        hashlib.sha256((src / "a.jpg").read_bytes()).hexdigest(),
        hashlib.sha256((src / "b.jpg").read_bytes()).hexdigest(),
        hashlib.sha256(canary_jpeg(3)).hexdigest(),
    ]
    return src, shas


def captured_world(tmp_path: Path) -> tuple[Path, list[str]]:
    """Three captured items plus a few later entries (8 in all), built in-process."""
    settings = load_settings(home=tmp_path / "h", workers=1)
    db = Database(settings)
    try:
        _, shas = scanned(tmp_path, settings, db)
        for sha in shas:
            capture_item(db, settings, sha, "u")
        with db.session() as s:
            for sha in shas:
                append(s, CustodyEvent("reviewer", CustodyAction.VIEWED, f"item:{sha}"))
            append(s, CustodyEvent("reviewer", CustodyAction.ANALYSED, f"item:{shas[0]}"))
            append(s, CustodyEvent("reviewer", CustodyAction.SHARED, f"item:{shas[0]}"))
    finally:
        db.close()
    return settings.home_dir, shas


def vault_blob(home: Path, sha: str) -> Path:
    """Where the vault keeps the encrypted copy of `sha`."""
    return home / "vault" / sha[:2] / sha[2:4] / f"{sha}.enc"
