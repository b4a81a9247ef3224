"""Capturing scanned items into the vault, against a real scan and a real per-test database."""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import pytest
from conftest import database_for, haechi, jpeg_bytes, noise_image
from evidence_world import CANARY, canary_jpeg, scanned
from sqlalchemy import select

from haechi.config import Settings, load_settings
from haechi.evidence import context
from haechi.evidence.capture import capture_item
from haechi.evidence.context import init_vault, open_vault
from haechi.scan import scan_paths
from haechi.store.custody import CustodyAction, CustodyEvent, append, entries
from haechi.store.custody_verify import verify
from haechi.store.db import Database
from haechi.store.evidence_models import EvidenceItem
from haechi.store.notes import unseal
from haechi.store.vault import VaultKeyError
from haechi.store.vault_settle import settle_temp_files


def test_capture_stores_bit_exact_copy_and_logs_sightings(
    tmp_path: Path, settings: Settings, db: Database
) -> None:
    src, (a, _, c) = scanned(tmp_path, settings, db)
    res = capture_item(db, settings, a[:10], "counsellor-1", reason="finding 12")
    assert res.sha256 == a and res.vault_created and res.custody_seq == 1
    vault = open_vault(settings)
    assert vault.read_bytes(a) == (src / "a.jpg").read_bytes()
    # From inside a zip archive too.
    assert capture_item(db, settings, c, "counsellor-1").custody_seq == 2
    assert vault.read_bytes(c) == canary_jpeg(3)
    with db.session() as s:
        (first, second) = entries(s)
        rep = verify(s, vault)
        # The reason is free text: sealed in the log, readable with the vault key.
        assert unseal(s, vault, first.details["reason"]) == "finding 12"
    assert first.action == CustodyAction.CAPTURED and first.actor == "counsellor-1"
    sg = first.details["sightings"]
    assert [x["locator"] for x in sg] == ["a.jpg"] and "finding 12" not in str(first.details)
    assert first.details["analyzers"]["hashes"]
    assert second.details["sightings"][0]["locator"] == "bundle.zip!inner/c.jpg"
    assert rep.ok and rep.blobs_intact == 2, rep.render()


def test_capture_again_records_only_new_sightings(
    tmp_path: Path, settings: Settings, db: Database
) -> None:
    src, (a, _, _) = scanned(tmp_path, settings, db)
    capture_item(db, settings, a, "u")
    again = capture_item(db, settings, a, "u")
    assert again.custody_seq is None and again.already_preserved
    (src / "copy").mkdir()
    (src / "copy" / "a2.jpg").write_bytes((src / "a.jpg").read_bytes())
    scan_paths(db, settings, [src])
    more = capture_item(db, settings, a, "u")
    assert more.new_sightings == 1 and more.custody_seq == 2
    with db.session() as s:
        last = entries(s)[-1]
        ev = s.get(EvidenceItem, a)
    assert [x["locator"] for x in last.details["sightings"]] == ["copy/a2.jpg"]
    assert ev is not None and len(ev.sighting_ids) == 2
    # A lost evidentiary copy is stored again from the source, and the log says so.
    open_vault(settings).delete(a)
    restored = capture_item(db, settings, a, "u")
    assert (
        restored.custody_seq == 3
        and open_vault(settings).read_bytes(a) == (src / "a.jpg").read_bytes()
    )
    with db.session() as s:
        assert entries(s)[-1].details["restored"] is True


def test_capture_without_a_readable_copy_says_rescan(
    tmp_path: Path, settings: Settings, db: Database
) -> None:
    src, (a, b, _) = scanned(tmp_path, settings, db)
    (src / "a.jpg").unlink()
    (src / "b.jpg").write_bytes(canary_jpeg(99))  # changed since the scan
    for sha in (a, b):
        with pytest.raises(Exception, match=f"no readable copy of item {sha} is left; rescan"):
            capture_item(db, settings, sha, "u")
    with db.session() as s:
        assert entries(s) == []
        assert list(s.scalars(select(EvidenceItem))) == []
    vault = open_vault(settings)
    assert list(vault.iter_blobs()) == []  # the changed file was refused before any write


@pytest.mark.sqlite_only
def test_no_plaintext_of_preserved_media_anywhere_in_the_data_directory(
    tmp_path: Path, settings: Settings, db: Database
) -> None:
    src, shas = scanned(tmp_path, settings, db)
    for sha in shas:
        capture_item(db, settings, sha, "u")
    originals = [(src / "a.jpg").read_bytes(), (src / "b.jpg").read_bytes(), canary_jpeg(3)]
    # Distinctive windows of each file: the marker and slices of the compressed pixels.
    needles = [CANARY]
    for data in originals:
        needles += [data[i : i + 48] for i in range(200, len(data) - 48, max(1, len(data) // 8))]
    files = [p for p in settings.home_dir.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"haechi.db", "haechi.db-wal", "vault.json"} <= names  # the WAL is searched too
    assert sum(p.suffix == ".enc" for p in files) == 3
    for p in files:
        blob = p.read_bytes()
        for n in needles:
            assert n not in blob, f"plaintext found in {p}"
    # Nothing left in the temp directory either (the vault writes ciphertext temps only).
    for p in Path(os.environ.get("TMPDIR", "/tmp")).glob(".*.tmp"):
        assert CANARY not in p.read_bytes()


def test_wrong_key_fails_clearly(tmp_path: Path, settings: Settings, db: Database) -> None:
    _, (a, _, _) = scanned(tmp_path, settings, db)
    capture_item(db, settings, a, "u")
    settings.vault_key_file.unlink()
    settings.vault_key_file.write_text(os.urandom(32).hex() + "\n")
    settings.vault_key_file.chmod(0o600)
    with pytest.raises(VaultKeyError, match="vault key does not match this vault"):
        open_vault(settings)
    missing = load_settings(home=settings.home, vault={"key_file": tmp_path / "nope.key"})
    with pytest.raises(VaultKeyError, match=r"nope\.key does not exist"):
        open_vault(missing)


def test_passphrase_vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAECHI_VAULT__PASSPHRASE", "해치 지킴이 2024")
    s = load_settings(home=tmp_path / "h")
    vault, created = init_vault(s)
    assert created and not s.vault_key_file.exists()  # no key file with a passphrase
    sha = vault.put_bytes(b"x" * 1000).sha256
    assert open_vault(s).read_bytes(sha) == b"x" * 1000
    monkeypatch.setenv("HAECHI_VAULT__PASSPHRASE", "wrong")
    with pytest.raises(VaultKeyError, match=r"HAECHI_VAULT__PASSPHRASE.*does not match"):
        open_vault(load_settings(home=tmp_path / "h"))


@pytest.mark.slow
def test_a_capture_killed_between_its_entry_and_the_move_is_finished_not_swept(
    tmp_path: Path,
) -> None:
    """Capture logs a blob, then moves its file into place. Killed in between, the only copy
    is the unfinished file beside its place: `evidence verify` says so and passes, and the next
    capture (of another item) moves it in. Before, that capture deleted it as a leftover and
    the logged evidence was gone."""
    home = tmp_path / "h"
    database_for(home)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in (1, 2):
        (corpus / f"n{i}.jpg").write_bytes(jpeg_bytes(noise_image(300 + i)))
    haechi(home, "scan", "--no-progress", str(corpus), env={"HAECHI_ANALYZERS": '["pdq"]'})
    listed = haechi(home, "items", "--json").stdout.splitlines()
    first, second = (json.loads(x)["sha256"] for x in listed)
    killed = haechi(
        home, "evidence", "capture", first, "--reason", "t",
        env={"HAECHI_FAILPOINT": "after_capture_logged:1"}, check=False,
    )  # fmt: skip
    assert killed.returncode == -9, killed.stderr
    settings = load_settings(home=home)
    assert not open_vault(settings).has(first)
    report = json.loads(haechi(home, "evidence", "verify", "--json").stdout)
    assert report["ok"] and any("before the move into place" in n for n in report["notes"])

    haechi(home, "evidence", "capture", second, "--reason", "t")
    vault = open_vault(settings)
    assert vault.has(first) and vault.verify_blob(first) == []
    assert list(vault.iter_temp_files()) == []
    report = json.loads(haechi(home, "evidence", "verify", "--json").stdout)
    assert report["ok"] and report["blobs_intact"] == 2, report
    log = [json.loads(x) for x in haechi(home, "evidence", "log", "--json").stdout.split("\n") if x]
    assert [e["object"] for e in log if e["action"] == "captured"] == [
        f"item:{first}",
        f"item:{second}",
    ]


def test_a_leftover_of_a_capture_killed_before_its_entry_is_removed(
    tmp_path: Path, settings: Settings, db: Database
) -> None:
    """An unfinished write whose blob the log does not record is removed by the next capture,
    and never moved into place (an unlogged blob would be an alert in `verify`)."""
    folder, _ = scanned(tmp_path, settings, db)
    vault, _created = init_vault(settings)
    picture = next(folder.glob("*.jpg"))
    sha = hashlib.sha256(picture.read_bytes()).hexdigest()
    staged = vault.stage_stream(lambda: picture.open("rb"), expect=sha)
    assert staged.tmp is not None and staged.lock is not None
    # While its writer lives, the file is left alone, whatever its age.
    os.utime(staged.tmp, (0, 0))
    assert settle_temp_files(vault, 1e12, recorded=lambda prefix: []).removed == 0
    # The writer dies: its lock goes with it, and nothing records the blob.
    os.close(staged.lock)
    settled = settle_temp_files(vault, 1e12, recorded=lambda prefix: [])
    assert settled.removed == 1 and not settled.finished
    assert not staged.tmp.exists() and not vault.has(sha)


def test_a_derived_picture_stopped_before_its_move_is_finished(
    tmp_path: Path, settings: Settings, db: Database
) -> None:
    """A difference picture is logged (`derived`) before its move too: the next process that
    opens the vault moves it in rather than deleting it."""
    init_vault(settings, db)
    vault = open_vault(settings)
    data = jpeg_bytes(noise_image(77))
    sha = hashlib.sha256(data).hexdigest()
    staged = vault.stage_stream(lambda: io.BytesIO(data), expect=sha)
    with db.session() as s:
        event = CustodyEvent("t", CustodyAction.DERIVED, f"derived:{sha}", {"size": len(data)})
        append(s, event)
    assert staged.tmp is not None and staged.lock is not None
    os.close(staged.lock)  # the process dies here
    os.utime(staged.tmp, (0, 0))
    context._swept.clear()  # a new process
    init_vault(settings, db)
    assert vault.has(sha) and vault.read_bytes(sha) == data
