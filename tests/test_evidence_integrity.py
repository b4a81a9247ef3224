"""`evidence verify` against a destroyed or rewritten custody log, and `forget` against the
traces a person leaves in the log and the vault. Everything through the real CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import person_consent, run, testdata
from evidence_world import captured_world, vault_blob
from sqlalchemy import delete, insert, select, update

from haechi.config import load_settings
from haechi.evidence.context import open_vault
from haechi.store.custody_hash import GENESIS_HASH, compute_entry_hash
from haechi.store.db import Database, make_engine
from haechi.store.evidence_models import CustodyHead, CustodyLogEntry, EvidenceItem

# -- verify: the log destroyed or rewritten ----------------------------------------------------


def _verify(home: Path, *args: str) -> tuple[int, str, dict[str, object]]:
    proc = run(home, "evidence", "verify", *args, check=False)
    data = json.loads(run(home, "evidence", "verify", "--json", *args, check=False).stdout)
    return proc.returncode, proc.stdout + proc.stderr, data


def _kinds(data: dict[str, object]) -> list[str]:
    problems = data["problems"]
    assert isinstance(problems, list)
    return sorted(p["kind"] for p in problems)


def _engine(home: Path):  # type: ignore[no-untyped-def]
    return make_engine(load_settings(home=home, workers=1).db_url)


def test_a_clean_log_says_whether_an_external_anchor_was_checked(tmp_path: Path) -> None:
    home, _ = captured_world(tmp_path)
    code, out, data = _verify(home)
    assert code == 0, out
    assert "INTACT as far as the database goes; no external anchor was checked" in out
    assert "blobs checked:     3 (3 intact)" in out and data["fully_anchored"] is False
    head = tmp_path / "usb" / "head.json"
    head.parent.mkdir()
    run(home, "evidence", "head", "--to", str(head))
    code, out, data = _verify(home, "--head-file", str(head))
    assert code == 0 and "INTACT, anchored" in out and data["anchored_seq"] == 8, out


@pytest.mark.sqlite_only
def test_verify_with_the_database_deleted_creates_nothing_and_alerts(tmp_path: Path) -> None:
    home, _ = captured_world(tmp_path)
    for p in home.glob("haechi.db*"):
        p.unlink()
    code, out, data = _verify(home)
    assert code == 5, out
    assert "there is no database at" in out and "the custody log is gone" in out
    # The blobs are checked all the same, and each one is an alert.
    assert _kinds(data) == ["blob_unlogged"] * 3 + ["database_missing"], data
    assert data["blobs_checked"] == 3 and data["blobs_intact"] == 3
    assert not list(home.glob("haechi.db*")), "verify created a database"


@pytest.mark.sqlite_only
def test_verify_of_a_home_that_does_not_exist_creates_nothing(tmp_path: Path) -> None:
    home = tmp_path / "nowhere"
    proc = run(home, "evidence", "verify", check=False)
    assert proc.returncode == 4 and "no database" in proc.stderr, proc.stderr
    assert not home.exists()


@pytest.mark.sqlite_only
@pytest.mark.parametrize("keep", [0, 4096])
def test_verify_with_the_database_truncated(tmp_path: Path, keep: int) -> None:
    home, _ = captured_world(tmp_path)
    db = home / "haechi.db"
    for p in home.glob("haechi.db-*"):
        p.unlink()
    with db.open("r+b") as fh:
        fh.truncate(keep)
    code, out, data = _verify(home)
    assert code == 5, out
    kinds = _kinds(data)
    assert kinds.count("blob_unlogged") == 3, data
    assert {"log_missing", "database_damaged"} & set(kinds), data
    assert db.stat().st_size == keep, "verify wrote to the database"


def test_verify_with_the_custody_log_emptied(tmp_path: Path) -> None:
    home, _ = captured_world(tmp_path)
    engine = _engine(home)
    with engine.begin() as conn:
        conn.execute(delete(CustodyLogEntry))
        conn.execute(delete(CustodyHead))
    engine.dispose()
    code, out, data = _verify(home)
    assert code == 5, out
    assert "the custody log is empty, but 3 item(s) are listed as preserved" in out
    assert _kinds(data) == ["blob_unlogged"] * 3 + ["evidence_unlogged"] * 3 + ["log_missing"]


def test_a_deleted_capture_entry_with_its_blob_altered_is_found(tmp_path: Path) -> None:
    """A careful forger: drops item 3's entries and its evidence row, renumbers and rehashes
    the rest of the chain and the head, and alters the blob. The chain verifies; the blob
    no entry records still gives it away, and is checked."""
    home, shas = captured_world(tmp_path)
    gone = f"item:{shas[2]}"
    engine = _engine(home)
    with engine.begin() as conn:
        rows = conn.execute(select(CustodyLogEntry.__table__).order_by("seq")).mappings().all()
        conn.execute(delete(CustodyLogEntry))
        prev, seq = GENESIS_HASH, 0
        for r in rows:
            if r["object"] == gone:
                continue
            seq += 1
            eh = compute_entry_hash(
                seq, r["at"], r["actor"], r["action"], r["object"], r["details_hash"], prev
            )
            conn.execute(
                insert(CustodyLogEntry).values(
                    {**r, "seq": seq, "prev_hash": prev, "entry_hash": eh}
                )
            )
            prev = eh
        conn.execute(update(CustodyHead).values(last_seq=seq, head_hash=prev))
        conn.execute(delete(EvidenceItem).where(EvidenceItem.sha256 == shas[2]))
    engine.dispose()
    blob = vault_blob(home, shas[2])
    data_ = bytearray(blob.read_bytes())
    data_[len(data_) // 2] ^= 1
    blob.write_bytes(bytes(data_))
    code, out, data = _verify(home)
    assert code == 5, out
    assert _kinds(data) == ["blob_unlogged"], data
    assert "blobs checked:     3 (2 intact), 1 not in the log" in out
    assert f"blob {shas[2]} is in the vault but no capture entry records it" in out
    assert "failed authentication" in out


def test_an_interrupted_capture_is_a_harmless_note(tmp_path: Path) -> None:
    home, _ = captured_world(tmp_path)
    settings = load_settings(home=home, workers=1)
    extra = tmp_path / "extra.bin"
    extra.write_bytes(b"interrupted " * 1000)
    import hashlib

    sha = hashlib.sha256(extra.read_bytes()).hexdigest()
    open_vault(settings).stage_stream(lambda: extra.open("rb"), expect=sha)  # never committed
    code, out, _ = _verify(home)
    assert code == 0 and "1 unfinished write(s)" in out, out


# -- forget: notes, and her items in the vault --------------------------------------------------

ALIAS = "김민지"
REASON = f"{ALIAS} says this photo was posted by her ex (marker q7zx)"
TITLE = f"Case of {ALIAS} (marker t4kw)"
NO_CAPTURE = {"HAECHI_VAULT__CAPTURE_FINDINGS": "false"}
CASE_TITLE = f"{ALIAS} / 학교 단톡방 (marker c9pq)"
CASE_NOTE = "her mother called, the room is 3학년 2반 (marker n3vb)"
OTHER_NOTE = f"the seller also posted {ALIAS}'s photo (marker i5lo)"


def _needles(*texts: str) -> list[bytes]:
    out: list[bytes] = []
    for t in texts:
        out += [
            t.encode("utf-8"),
            t.encode("utf-16-le"),
            t.encode("utf-16-be"),
            json.dumps(t)[1:-1].encode("ascii"),  # \\uXXXX escapes, as JSON columns store it
        ]
    return out


def _enrolled_with_a_match(tmp_path: Path, env: dict[str, str] | None = None) -> tuple[Path, str]:
    faces = testdata("faces")
    home = tmp_path / "h"
    corpus = tmp_path / "collected"
    corpus.mkdir()
    for name in ("img10.jpg", "img12.jpg"):  # person_01 and someone else
        shutil.copy(faces / name, corpus / name)
    consent = person_consent("match faces")
    run(
        home,
        "enrol",
        "--alias",
        ALIAS,
        "--consent",
        consent.text,
        "--consent-by",
        ALIAS,
        str(faces / "img1.jpg"),
        env=env,
    )
    run(home, "scan", str(corpus), env=env)
    (finding,) = [json.loads(x) for x in run(home, "findings", "--json").stdout.splitlines()]
    return home, finding["item_sha256"]


@pytest.mark.slow
def test_forget_leaves_no_trace_of_her_name_in_notes_and_says_what_remains(
    tmp_path: Path,
) -> None:
    home, sha = _enrolled_with_a_match(tmp_path, NO_CAPTURE)
    run(home, "evidence", "capture", sha, "--reason", REASON)
    pkg = tmp_path / "pkg"
    run(home, "evidence", "export", sha, "--to", str(pkg), "--no-media", "--title", TITLE)
    run(home, "evidence", "shared", sha, "--with", "police", "--note", REASON)
    # Her case, with a note; an investigation's case whose note names her.
    hers = json.loads(
        run(home, "case", "new", "--person", ALIAS, "--title", CASE_TITLE, "--json").stdout
    )["id"]
    run(home, "case", "note", str(hers), CASE_NOTE)
    other = json.loads(run(home, "case", "new", "--title", "seller room", "--json").stdout)["id"]
    run(home, "case", "note", str(other), OTHER_NOTE)
    log = run(home, "evidence", "log", "--json").stdout
    assert REASON in log and TITLE in log  # readable with the vault key before forget
    files = [p for p in home.rglob("*") if p.is_file()]
    assert not any(n in p.read_bytes() for p in files for n in _needles(REASON, TITLE))

    proc = run(home, "forget", ALIAS, "--yes")
    assert "erased 3 free-text note(s)" in proc.stdout, proc.stdout
    assert "remains: 1 preserved item(s)" in proc.stdout and sha in proc.stdout, proc.stdout
    assert "do not name her" in proc.stdout

    files = [p for p in home.rglob("*") if p.is_file()]
    for p in files:
        blob = p.read_bytes()
        for needle in _needles(
            ALIAS, REASON, TITLE, CASE_TITLE, CASE_NOTE, OTHER_NOTE, "q7zx", "t4kw", "c9pq", "n3vb"
        ):
            assert needle not in blob, f"{needle!r} survives in {p.relative_to(home)}"
    # Her case stays, unnamed, with its item; the other case keeps its own title.
    case = json.loads(run(home, "case", "show", str(hers), "--json").stdout)
    assert case["title"] == "[erased with person]" and sha in json.dumps(case["items"])
    assert "[erased with person]" in json.dumps(case)
    assert json.loads(run(home, "case", "show", str(other), "--json").stdout)["title"] == (
        "seller room"
    )
    log = run(home, "evidence", "log", "--json").stdout
    assert log.count("[erased with person]") == 3 and "q7zx" not in log
    code, out, data = _verify(home)
    assert code == 0 and data["ok"], out
    assert vault_blob(home, sha).is_file()  # the evidence stays unless she asks otherwise


@pytest.mark.slow
def test_forget_with_delete_evidence_removes_her_items_on_record(tmp_path: Path) -> None:
    home, sha = _enrolled_with_a_match(tmp_path)  # the finding is preserved on its own
    assert vault_blob(home, sha).is_file()
    proc = run(home, "forget", ALIAS, "--yes", "--delete-evidence")
    assert "deleted 1 preserved item(s)" in proc.stdout and "remains" not in proc.stdout
    assert not vault_blob(home, sha).exists()
    db = Database(load_settings(home=home, workers=1))
    with db.session() as s:
        assert s.get(EvidenceItem, sha) is None
    db.close()
    log = [json.loads(x) for x in run(home, "evidence", "log", "--json").stdout.splitlines()]
    about_items = [e for e in log if e["object"].startswith("item:")]
    assert [e["action"] for e in about_items] == ["captured", "deleted"]
    assert about_items[1]["object"] == f"item:{sha}" and ALIAS not in json.dumps(log)
    # The erasure is logged with it (same transaction), then the deletions it asked for.
    assert [e["action"] for e in log[-2:]] == ["forgotten", "deleted"]
    code, out, data = _verify(home)
    assert code == 0 and data["deletions_logged"] == 1, out
    assert "logged deletions:  1" in out
