"""`haechi evidence …` as a user runs it, and the tamper tests through `evidence verify`."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pyrage
import pytest
from conftest import jpeg_bytes, noise_image, run
from evidence_world import captured_world, vault_blob

from haechi.store.custody_hash import compute_entry_hash, details_hash


def test_init_capture_verify_log_export(tmp_path: Path) -> None:
    home = tmp_path / "h"
    init = run(home, "init")
    key = home.resolve() / "keys" / "vault.key"
    assert "evidence vault created" in init.stdout
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert not key.is_relative_to(home.resolve() / "vault")
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.jpg").write_bytes(jpeg_bytes(noise_image(5)))
    run(home, "scan", str(src), "--json")
    item = json.loads(run(home, "items", "--json").stdout.splitlines()[0])["sha256"]
    env = {"HAECHI_ACTOR": "counsellor-kim"}
    cap = run(home, "evidence", "capture", item[:8], "--reason", "finding 3", env=env)
    assert f"{item}  preserved" in cap.stdout
    ok = run(home, "evidence", "verify")
    assert "INTACT" in ok.stdout and "blobs checked:     1 (1 intact)" in ok.stdout
    log = run(home, "evidence", "log", "--json")
    (entry,) = [json.loads(x) for x in log.stdout.splitlines()]
    assert entry["actor"] == "counsellor-kim" and entry["action"] == "captured"
    assert entry["object"] == f"item:{item}"
    recipient = str(pyrage.x25519.Identity.generate().to_public())
    exp = run(
        home, "evidence", "export", item, "--to", str(tmp_path / "pkg"), "-r", recipient, env=env
    )
    assert "evidence package written" in exp.stdout
    check = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=tmp_path / "pkg", capture_output=True, check=False
    )
    assert check.returncode == 0
    log2 = run(home, "evidence", "log", "--item", item[:10]).stdout
    assert "captured" in log2 and "exported" in log2
    head = tmp_path / "usb" / "head.json"
    head.parent.mkdir()
    run(home, "evidence", "head", "--to", str(head))
    assert "anchor checked" in run(home, "evidence", "verify", "--head-file", str(head)).stdout


def _sql(home: Path, *statements: str) -> None:
    con = sqlite3.connect(home / "haechi.db")
    with con:
        for st in statements:
            con.execute(st)
    con.close()


def _flip(home: Path, shas: list[str]) -> str:
    p = vault_blob(home, shas[1])
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0x01
    p.write_bytes(bytes(data))
    return f"[blob_altered] blob {shas[1]}"


def _swap(home: Path, shas: list[str]) -> str:
    a, b = vault_blob(home, shas[0]), vault_blob(home, shas[2])
    da, db_ = a.read_bytes(), b.read_bytes()
    a.write_bytes(db_)
    b.write_bytes(da)
    return f"[blob_swapped] blob {shas[0]}: the file holds blob {shas[2]} instead"


def _edit(home: Path, _: list[str]) -> str:
    _sql(home, "UPDATE custody_log SET actor = 'someone-else' WHERE seq = 4")
    return "[entry_altered] entry 4 was altered"


def _delete(home: Path, _: list[str]) -> str:
    _sql(home, "DELETE FROM custody_log WHERE seq = 5")
    return "[entry_deleted] entry 5 deleted"


def _reorder(home: Path, _: list[str]) -> str:
    _sql(
        home,
        "UPDATE custody_log SET seq = -1 WHERE seq = 5",
        "UPDATE custody_log SET seq = 5 WHERE seq = 6",
        "UPDATE custody_log SET seq = 6 WHERE seq = -1",
    )
    return "[entries_reordered] entries 5 and 6 were reordered"


def _insert(home: Path, _: list[str]) -> str:
    con = sqlite3.connect(home / "haechi.db")
    row = con.execute("SELECT * FROM custody_log WHERE seq = 8").fetchone()
    con.close()
    # A careful forger: a well-formed entry whose hashes are right, chained to the last one.
    at = datetime.fromisoformat(row[1]).replace(tzinfo=UTC)
    dh = details_hash({})
    eh = compute_entry_hash(9, at, "intruder", "viewed", row[4], dh, row[8])
    cols = "seq, at, actor, action, object, details, details_hash, prev_hash, entry_hash"
    forged = (9, row[1], "intruder", "viewed", row[4], "{}", dh, row[8], eh)
    _sql(home, f"INSERT INTO custody_log ({cols}) VALUES {forged!r}")
    return "[entry_inserted] entry 9 appended without going through the custody writer"


def _truncate(home: Path, _: list[str]) -> str:
    _sql(home, "DELETE FROM custody_log WHERE seq >= 7")
    return "[log_truncated] log truncated: it ends at seq 6 but custody_head records seq 8"


TAMPERS: dict[str, Callable[[Path, list[str]], str]] = {
    "flip a blob byte": _flip,
    "swap two blobs": _swap,
    "edit an entry": _edit,
    "delete an entry": _delete,
    "reorder entries": _reorder,
    "insert an entry": _insert,
    "truncate the log": _truncate,
}


@pytest.mark.sqlite_only
@pytest.mark.parametrize("tamper", list(TAMPERS))
def test_verify_names_each_tampering(tmp_path: Path, tamper: str) -> None:
    home, shas = captured_world(tmp_path)
    expected = TAMPERS[tamper](home, shas)
    proc = run(home, "evidence", "verify", check=False)
    assert proc.returncode == 5, proc.stdout + proc.stderr
    assert "FAILED" in proc.stdout and expected in proc.stdout, proc.stdout
    data = json.loads(run(home, "evidence", "verify", "--json", check=False).stdout)
    assert not data["ok"] and len({p["kind"] for p in data["problems"]}) == 1, data


def test_wrong_key_is_a_clear_cli_error(tmp_path: Path) -> None:
    home, _ = captured_world(tmp_path)
    other = tmp_path / "other.key"
    other.write_text(os.urandom(32).hex())
    other.chmod(0o600)
    proc = run(home, "evidence", "verify", check=False, env={"HAECHI_VAULT__KEY_FILE": str(other)})
    assert proc.returncode == 2
    assert "the vault key does not match this vault" in proc.stderr
    assert str(other) in proc.stderr
