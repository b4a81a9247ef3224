"""A small installation for the web tests, built once per module through the real CLI: two
enrolled persons (p1, p2), each with findings and a case, and an account for every role
(victim_a is p1, victim_b is p2). Passwords are in PASSWORD."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from conftest import database_for, jpeg_bytes, noise_image, run, testdata
from fastapi.testclient import TestClient

from haechi.config import Settings, load_settings

PASSWORD = "a long test password"
ROLES = ("admin", "counsellor", "investigator", "victim")
ACCOUNTS = {"admin": "ada", "counsellor": "lee", "investigator": "kim", "victim": "victim_a"}


@dataclass(frozen=True)
class World:
    home: Path
    cases: dict[str, int]  # alias -> case id
    findings: dict[str, list[int]]  # alias -> finding ids

    def settings(self, **web: object) -> Settings:
        return load_settings(
            home=self.home,
            database_url=database_for(self.home),
            workers=1,
            web={"secure_cookies": False, **web},
        )


def build_world(root: Path) -> World:
    home = root / "h"
    database_for(home)  # on PostgreSQL a database of its own, before the CLI writes anything
    run(home, "init")
    corpus = root / "c"
    corpus.mkdir()
    shutil.copy(testdata("faces", "img10.jpg"), corpus / "her.jpg")
    shutil.copy(testdata("faces", "img14.jpg"), corpus / "other.jpg")
    (corpus / "scene.jpg").write_bytes(jpeg_bytes(noise_image(3)))
    run(home, "enrol", "--alias", "p1", "--consent", "yes, p1", str(testdata("faces", "img1.jpg")))
    run(home, "enrol", "--alias", "p2", "--consent", "yes, p2", str(testdata("faces", "img13.jpg")))
    run(home, "scan", str(corpus), "--no-progress")
    # Her photo posted in a public channel too: a location a takedown request can name.
    _channel_export(root / "tg", testdata("faces", "img10.jpg").read_bytes())
    run(home, "scan", str(root / "tg"), "--no-progress")
    queue = [json.loads(x) for x in run(home, "review", "--json").stdout.splitlines()]
    findings: dict[str, list[int]] = {}
    for q in queue:
        findings.setdefault(str(q["person"]), []).append(int(q["finding_id"]))
    assert set(findings) == {"p1", "p2"}, queue
    cases = {}
    for alias in ("p1", "p2"):
        out = run(home, "case", "new", "--person", alias, "--title", f"{alias} case", "--json")
        cases[alias] = int(json.loads(out.stdout)["id"])
    pw = root / "pw"
    pw.write_text(PASSWORD + "\n")
    # A victim whose account names no enrolment yet: she enrols herself in the browser.
    run(home, "users", "add", "victim_c", "--role", "victim", "--password-file", str(pw))
    for role, name in ACCOUNTS.items():
        extra = ["--person", "p1"] if role == "victim" else []
        run(home, "users", "add", name, "--role", role, "--password-file", str(pw), *extra)
    run(
        home,
        "users",
        "add",
        "victim_b",
        "--role",
        "victim",
        "--person",
        "p2",
        "--password-file",
        str(pw),
    )
    return World(home, cases, findings)


CHANNEL = 4242
CHANNEL_LINK = f"https://t.me/c/{CHANNEL}/11"


def _channel_export(folder: Path, photo: bytes) -> None:
    """A Telegram Desktop JSON export of a public channel: one text post, then her photo."""
    (folder / "photos").mkdir(parents=True)
    (folder / "photos" / "p.jpg").write_bytes(photo)
    base = {"type": "message", "date": "2024-03-01T10:00:00", "date_unixtime": "1709287200"}
    who = {"from": "Seller", "from_id": "channel4242"}
    messages = [
        base | who | {"id": 10, "text": "new set tonight, backup t.me/backup4242"},
        base | who | {"id": 11, "text": "", "photo": "photos/p.jpg"},
    ]
    doc = {"name": "Channel 4242", "type": "public_channel", "id": CHANNEL, "messages": messages}
    (folder / "result.json").write_text(json.dumps(doc), encoding="utf-8")


def login(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Log in through the form; returns the session's CSRF token."""
    page = client.get("/login")
    token = re.search(r'name="login_token" value="([^"]+)"', page.text)
    assert token, page.text
    r = client.post(
        "/login",
        data={"name": name, "password": password, "login_token": token.group(1)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return csrf_of(client)


def csrf_of(client: TestClient) -> str:
    r = client.get("/", follow_redirects=True)
    m = re.search(r'name="csrf" value="([^"]+)"', r.text)
    assert m, r.text
    return m.group(1)
