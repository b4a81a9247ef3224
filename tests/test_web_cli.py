"""`haechi users …` and `haechi serve` through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import POSTGRES, haechi, run


def test_users_add_list_disable_and_keys(tmp_path: Path) -> None:
    home = tmp_path / "h"
    pw = tmp_path / "pw"
    pw.write_text("first admin password\n")
    out = run(home, "users", "add", "ada", "--role", "admin", "--password-file", str(pw))
    assert "user ada added (admin)" in out.stdout and "next:" in out.stdout
    short = tmp_path / "short"
    short.write_text("short\n")
    bad = run(
        home,
        "users",
        "add",
        "bo",
        "--role",
        "counsellor",
        "--password-file",
        str(short),
        check=False,
    )
    assert bad.returncode == 3 and "too short" in bad.stderr
    # Only a victim's account names a person.
    staff_person = run(
        home,
        "users",
        "add",
        "c1",
        "--role",
        "counsellor",
        "--person",
        "nobody",
        "--password-file",
        str(pw),
        check=False,
    )
    assert staff_person.returncode == 3 and "--person" in staff_person.stderr
    ghost = run(
        home,
        "users",
        "add",
        "v",
        "--role",
        "victim",
        "--person",
        "nobody",
        "--password-file",
        str(pw),
        check=False,
    )
    assert ghost.returncode == 6 and "not enrolled" in ghost.stderr
    key = run(home, "users", "key", "ada", "--scope", "read", "--scope", "hma").stdout
    assert key.startswith("hk_")
    users = [json.loads(x) for x in run(home, "users", "list", "--json").stdout.splitlines()]
    assert users == [
        {
            "name": "ada",
            "role": "admin",
            "person": None,
            "disabled": False,
            "created_at": users[0]["created_at"],
        }
    ]
    if not POSTGRES:  # only hashes are stored
        db_bytes = (home / "haechi.db").read_bytes()
        assert b"first admin password" not in db_bytes and key.split()[0].encode() not in db_bytes
    run(home, "users", "disable", "ada")
    assert json.loads(run(home, "users", "list", "--json").stdout)["disabled"] is True
    # A victim's account may name no enrolment yet: she enrols herself in the browser.
    run(home, "users", "add", "v0", "--role", "victim", "--password-file", str(pw))
    listed = run(home, "users", "list", "--json").stdout.splitlines()
    assert {"name": "v0", "person": None}.items() <= json.loads(listed[-1]).items()


def test_serve_stays_on_loopback_unless_told(tmp_path: Path) -> None:
    r = haechi(tmp_path / "h", "serve", "--host", "0.0.0.0", check=False)
    assert r.returncode == 2 and "--public" in r.stderr and "TLS" in r.stderr


@pytest.mark.slow  # two server processes started and stopped, about 9 s
def test_serve_with_two_processes_answers_from_each(tmp_path: Path) -> None:
    """`--processes 2`: both processes build the app from the data directory given with
    --home (not the current directory) and answer with the key made through the CLI."""
    import os
    import socket
    import subprocess
    import sys
    import time

    import httpx

    home = tmp_path / "h"
    pw = tmp_path / "pw"
    pw.write_text("first admin password\n")
    haechi(home, "users", "add", "ada", "--role", "admin", "--password-file", str(pw))
    key = haechi(home, "users", "key", "ada", "--scope", "hma").stdout.split()[0]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "haechi",
            "--home",
            str(home),
            "serve",
            "--port",
            str(port),
            "--processes",
            "2",
        ],
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "HAECHI_HOME"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        answers: list[int] = []
        while len(answers) < 20 and time.monotonic() < deadline:
            try:
                # A new connection each time, so that both processes get some.
                r = httpx.get(
                    f"http://127.0.0.1:{port}/status",
                    headers={"Authorization": f"Bearer {key}"},
                    timeout=10,
                )
                answers.append(r.status_code)
            except httpx.HTTPError:
                time.sleep(0.3)
        assert answers == [200] * 20, answers
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=60)
    assert not (tmp_path / "haechi-data").exists(), stderr  # not the default data directory
