"""Takedown requests through the CLI: drafted from a case's captured locations in seven languages
(text and .eml, hashes and summary attached, never media, never a minor's item), approved by a
person, sent through a local SMTP server, followed to overdue, and rechecked against a local
web server from which the content disappears and comes back. Every step is in the case's
timeline and the custody log, and `evidence verify` still passes."""

from __future__ import annotations

import email
import json
import os
import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import enrol_her, jpeg_bytes, noise_image, run
from conftest import testdata as shared_file

from haechi.errors import ConfigError
from haechi.takedown.platforms import load_directory
from haechi.takedown.templates import (
    DATA,
    LANGUAGES,
    DraftContext,
    DraftItem,
    check_tables,
    render,
    table,
)

LOCAL = {"HAECHI_CAPTURE__ALLOW_PRIVATE": "true", "HAECHI_ACTOR": "counsellor-kim"}
# Words each language's counsellor note uses to say a channel is not verified.
UNVERIFIED = {
    "ko": "확인되지 않은 연락 창구",
    "en": "not verified",
    "ja": "確認されていません",
    "zh": "未经核实",
    "ru": "не проверен",
    "vi": "chưa được xác minh",
    "th": "ยังไม่ได้รับการยืนยัน",
}


@dataclass
class Site:
    base: str
    files: dict[str, bytes] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)


@pytest.fixture
def site() -> Iterator[Site]:
    """A web server on 127.0.0.1 whose files the test adds and takes away."""
    state = Site("")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.hits.append(self.path)
            body = state.files.get(self.path)
            if body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html" if body[:1] == b"<" else "image/jpeg")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def _jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(x) for x in text.splitlines() if x.strip()]


def _capture(home: Path, *urls: str, env: dict[str, str] | None = None) -> dict[str, str]:
    """URL -> SHA-256 of what `haechi capture` stored for it."""
    out = run(home, "capture", *urls, "--json", env={**LOCAL, **(env or {})}).stdout
    return {i["url"]: i["sha256"] for cap in _jsonl(out) for i in cap["items"]}


def _draft(home: Path, case: str, *args: str, env: dict[str, str]) -> list[dict[str, Any]]:
    out = run(home, "takedown", "draft", case, *args, "--json", env=env).stdout
    drafted: list[dict[str, Any]] = json.loads(out)["drafted"]
    return drafted


def _recheck(home: Path, *args: str, env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    out = json.loads(run(home, "recheck", *args, "--json", env=env or LOCAL).stdout)
    assert out["network"] is ("--no-fetch" not in args)
    checked: list[dict[str, Any]] = out["checked"]
    return checked


def _eml(path: Path) -> EmailMessage:
    msg = email.message_from_bytes(path.read_bytes(), policy=default_policy)
    assert isinstance(msg, EmailMessage)
    return msg


# --------------------------------------------------------------------------- templates


def test_every_language_renders_every_platform_with_nothing_missing() -> None:
    assert check_tables() == []
    directory = load_directory()
    item = DraftItem("a" * 64, "b" * 32, "c" * 64, "video", 10, "2026-12-01")
    for platform in directory.platforms:
        ctx = DraftContext(7, "HAECHI-1-7", 1, platform, ("https://x.test/p",), (item,), "C", None)
        for lang in LANGUAGES:
            text = render(lang, ctx)
            for part in (text.subject, text.note, text.body, text.summary):
                assert "{" not in part and "}" not in part, (platform.id, lang, part)
            assert "HAECHI-1-7" in text.body and "https://x.test/p" in text.body
            t = table(lang)
            for key in platform.legal_basis:  # each legal basis line the platform cites
                assert t[key].split("{")[0] in text.body, (platform.id, lang, key)
            assert (UNVERIFIED[lang] in text.note) is (not platform.verified)


def test_a_missing_key_or_placeholder_or_untranslated_string_is_caught(tmp_path: Path) -> None:
    root = tmp_path / "takedown"
    shutil.copytree(DATA, root)
    ja = (root / "ja.yaml").read_text(encoding="utf-8")
    ja = "\n".join(x for x in ja.splitlines() if not x.strip().startswith("closing:"))
    (root / "ja.yaml").write_text(ja, encoding="utf-8")
    ru = (root / "ru.yaml").read_text(encoding="utf-8")
    ru = ru.replace("Уважаемая команда {platform}!", "Уважаемая команда!")
    (root / "ru.yaml").write_text(ru + "\n  signature: 'Yours sincerely,'\n", encoding="utf-8")
    problems = check_tables(root)
    assert "ja: missing key closing" in problems
    assert any(p.startswith("ru: greeting has placeholders []") for p in problems)
    assert "ru: signature is not translated" in problems

    ctx = DraftContext(1, "R", 1, load_directory().get("x"), ("https://x.com/a",), (), "", None)
    with pytest.raises(ConfigError, match=r"ja\.yaml: the ja takedown text cannot be rendered"):
        render("ja", ctx, root)


@pytest.mark.slow
def test_a_centre_directory_overrides_and_a_bad_one_is_named(tmp_path: Path) -> None:
    own = tmp_path / "centre.yaml"
    own.write_text(
        "platforms:\n"
        "  - id: reddit\n    verified: true\n    response_days: 3\n"
        "  - id: forum\n    name: A forum\n    domains: [forum.example]\n"
        "    channel: {kind: email, address: abuse@forum.example}\n"
        "    legal_basis: [spa_14_2]\n    response_days: 5\n    verified: true\n"
    )
    env = {"HAECHI_TAKEDOWN__PLATFORMS_FILE": str(own)}
    listed = _jsonl(run(tmp_path / "h", "takedown", "platforms", "--json", env=env).stdout)
    by_id = {p["id"]: p for p in listed}
    assert by_id["reddit"]["verified"] is True and by_id["reddit"]["response_days"] == 3
    assert by_id["reddit"]["channel"]["address"] == "contact@reddit.com"  # kept from the package
    assert by_id["forum"]["domains"] == ["forum.example"]
    assert not by_id["telegram"]["verified"]  # FIELD-NOTES: third-party pages only

    own.write_text("platforms:\n  - id: forum\n    name: A forum\n    response_days: soon\n")
    bad = run(tmp_path / "h", "takedown", "platforms", env=env, check=False)
    assert bad.returncode == 2
    assert str(own) in bad.stderr and "'forum'" in bad.stderr and "channel.kind" in bad.stderr


def test_private_telegram_links_are_not_fetched_by_a_recheck() -> None:
    from haechi.services.recheck import checkable

    assert not checkable("https://t.me/c/1234567/89")  # members only: a fetch proves nothing
    assert checkable("https://t.me/somechannel/89") and checkable("http://127.0.0.1:8/a.jpg")
    assert not checkable("file:///etc/passwd")


# --------------------------------------------------------------------------- the whole flow


@pytest.mark.slow
def test_drafts_in_seven_languages_without_a_minors_item_then_track_and_recheck(
    tmp_path: Path, site: Site
) -> None:
    home = tmp_path / "h"
    run(home, "init")
    enrol_her(home)
    her = shared_file("faces", "img10.jpg").read_bytes()
    site.files["/her.jpg"] = her
    site.files["/young.jpg"] = shared_file("faces", "img11.jpg").read_bytes()
    shas = _capture(home, f"{site.base}/her.jpg", f"{site.base}/young.jpg")
    her_url, young_url = f"{site.base}/her.jpg", f"{site.base}/young.jpg"
    case = str(json.loads(run(home, "case", "new", "--person", "p1", "--json").stdout)["id"])
    queue = _jsonl(run(home, "review", "--case", case, "--json").stdout)
    young = next(f for f in queue if f["item_sha256"] == shas[young_url])
    run(home, "review", "minor", str(young["finding_id"]))

    # One command: every location gets its request, in all seven languages.
    report = json.loads(run(home, "takedown", "draft", case, "--json", env=LOCAL).stdout)
    assert report["minors_excluded"] == 1
    drafted = report["drafted"]
    assert [(d["location"], d["platform"], d["state"]) for d in drafted] == [
        (her_url, "hosting", "drafted")
    ]
    req = drafted[0]
    folder = Path(req["folder"])
    assert folder.is_relative_to(home.resolve() / "cases" / case)
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    assert sorted(req["languages"]) == sorted(LANGUAGES)
    assert len(req["files"]) == 1 + 3 * len(LANGUAGES)
    for lang in LANGUAGES:
        txt = (folder / f"{lang}.txt").read_text(encoding="utf-8")
        assert her_url in txt and shas[her_url] in txt and UNVERIFIED[lang] in txt
        msg = _eml(folder / f"{lang}.eml")
        assert msg["X-Haechi-Channel-Verified"].startswith("no")
        names = [p.get_filename() for p in msg.iter_attachments()]
        assert names == ["hashes.csv", "summary.txt"]
        assert all(p.get_content_maintype() == "text" for p in msg.walk() if not p.is_multipart())
    # The minor's item, its URL and its bytes are in no file; no file holds media at all.
    for f in folder.iterdir():
        data = f.read_bytes()
        assert shas[young_url].encode() not in data and b"young.jpg" not in data
        assert her not in data and b"\xff\xd8\xff" not in data
    again = run(home, "takedown", "draft", case, env=LOCAL).stdout
    assert f"already requested ({req['id']})" in again and "possible minor" in again

    # Nothing moves without a person; the counsellor sent it herself ten days ago.
    rid = str(req["id"])
    early = run(home, "takedown", "mark", rid, "sent", check=False, env=LOCAL)
    assert early.returncode == 3 and "drafted: it can become approved" in early.stderr
    run(home, "takedown", "approve", rid, "--by", "supervisor-lee", env=LOCAL)
    ten_days = (datetime.now(UTC) - timedelta(days=10)).date().isoformat()
    run(home, "takedown", "mark", rid, "sent", "--at", ten_days, env=LOCAL)
    overdue = _jsonl(run(home, "takedown", "list", "--overdue", "--json").stdout)
    assert [(o["id"], o["overdue"]) for o in overdue] == [(req["id"], True)]
    assert "overdue" in run(home, "takedown", "list", "--case", case).stdout

    # Gone from the server: the recheck marks it removed; then back: "reappeared".
    del site.files["/her.jpg"]
    first = run(home, "recheck", "--case", case, "--json", env=LOCAL)
    assert "used the network" in first.stderr and json.loads(first.stdout)["network"] is True
    checked = json.loads(first.stdout)["checked"]
    assert [(r["result"], r["state"]) for r in checked] == [("removed", "removed")]
    assert run(home, "takedown", "list", "--overdue", "--json").stdout.strip() == ""
    still = _recheck(home)
    assert [r["result"] for r in still] == ["still_gone"]
    site.files["/her.jpg"] = her
    back = _recheck(home, "--case", case)
    assert [(r["result"], r["how"]) for r in back] == [("reappeared", "sha256")]
    (listed,) = _jsonl(run(home, "takedown", "list", "--json").stdout)
    assert listed["state"] == "reappeared" and listed["reappeared_finding"] == back[0]["finding"]
    assert set(listed["dates"]) == {"drafted", "approved", "sent", "removed", "reappeared"}
    findings = _jsonl(run(home, "review", "--case", case, "--json").stdout)
    assert any(f["finding_id"] == back[0]["finding"] for f in findings)
    # A new request can be drafted for what came back.
    redraft = json.loads(run(home, "takedown", "draft", case, "--lang", "ko,en", "--json").stdout)[
        "drafted"
    ]
    assert [(r["location"], r["languages"]) for r in redraft] == [(her_url, ["ko", "en"])]

    # Every step is in the timeline and the custody log, and the log still verifies.
    timeline = json.loads(run(home, "case", "show", case, "--json").stdout)["timeline"]
    kinds = [e["kind"] for e in timeline if e["kind"].startswith("takedown")]
    assert kinds == [
        "takedown_drafted",
        "takedown_approved",
        "takedown_sent",
        "takedown_removed",
        "takedown_recheck",
        "takedown_reappeared",
        "takedown_drafted",
    ]
    log = _jsonl(run(home, "evidence", "log", "--json").stdout)
    whats = [e["details"]["what"] for e in log if e["action"] == "case"]
    assert [w for w in whats if w.startswith("takedown")] == kinds
    approved = next(e for e in log if e["details"].get("what") == "takedown_approved")
    assert approved["details"]["by"] == "supervisor-lee" and approved["actor"] == "counsellor-kim"
    assert "INTACT" in run(home, "evidence", "verify").stdout


# --------------------------------------------------------------------------- sending


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(  # noqa: N802 (the name aiosmtpd calls)
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.mark.slow
def test_send_only_approved_through_the_configured_smtp_server(tmp_path: Path, site: Site) -> None:
    from aiosmtpd.controller import Controller

    home = tmp_path / "h"
    own = tmp_path / "centre.yaml"
    # The centre looked up this host's abuse address: its own directory says so.
    own.write_text(
        "platforms:\n  - id: hosting\n    channel: {kind: email, address: abuse@host.test}\n"
        "    verified: true\n"
    )
    env = {
        **LOCAL,
        "HAECHI_ANALYZERS": '["pdq"]',
        "HAECHI_TAKEDOWN__PLATFORMS_FILE": str(own),
        "HAECHI_TAKEDOWN__ORGANISATION": "Seoul Centre",
        "HAECHI_TAKEDOWN__SENDER": "centre@seoul.test",
    }
    site.files["/a.jpg"] = jpeg_bytes(noise_image(4))
    (sha,) = _capture(home, f"{site.base}/a.jpg", env=env).values()
    case = str(json.loads(run(home, "case", "new", "--json", env=env).stdout)["id"])
    run(home, "case", "add", case, sha, env=env)
    (req,) = _draft(home, case, env=env)
    rid = str(req["id"])

    inbox = _Inbox()
    with socket.socket() as probe:  # a free port (aiosmtpd checks readiness on the port given)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        smtp = {
            **env,
            "HAECHI_TAKEDOWN__SMTP_HOST": "127.0.0.1",
            "HAECHI_TAKEDOWN__SMTP_PORT": str(port),
            "HAECHI_TAKEDOWN__SMTP_STARTTLS": "false",
        }
        unapproved = run(home, "takedown", "send", rid, env=smtp, check=False)
        assert unapproved.returncode == 3 and "only an approved request" in unapproved.stderr
        run(home, "takedown", "approve", rid, "--by", "supervisor-lee", env=smtp)
        # Edited after approval: not sent until a person approves it again.
        eml = Path(req["folder"]) / "en.eml"
        eml.write_bytes(eml.read_bytes().replace(b"Seoul Centre", b"Seoul  Centre", 1))
        edited = run(home, "takedown", "send", rid, env=smtp, check=False)
        assert edited.returncode == 3 and "changed after it was approved" in edited.stderr
        run(home, "takedown", "approve", rid, "--by", "supervisor-lee", env=smtp)
        no_server = run(home, "takedown", "send", rid, env=env, check=False)
        assert no_server.returncode == 2 and "no SMTP server" in no_server.stderr
        assert inbox.messages == []
        sent = run(home, "takedown", "send", rid, env=smtp)
        assert "used the network" in sent.stdout
    finally:
        controller.stop()

    ((mail_from, rcpt, raw),) = inbox.messages
    assert mail_from == "centre@seoul.test" and rcpt == ["abuse@host.test"]
    msg = email.message_from_bytes(raw, policy=default_policy)
    assert isinstance(msg, EmailMessage)
    assert msg["Content-Language"] == "en" and "HAECHI-" in msg["Subject"]
    assert "X-Haechi-Channel-Verified" not in msg
    assert [p.get_filename() for p in msg.iter_attachments()] == ["hashes.csv", "summary.txt"]
    body = msg.get_body(("plain",))
    assert body is not None and "Article 14-2" in body.get_content()
    (listed,) = _jsonl(run(home, "takedown", "list", "--json").stdout)
    assert listed["state"] == "sent" and listed["due_at"] is not None
    again = run(home, "takedown", "send", rid, env=smtp, check=False)
    assert again.returncode == 3 and "is sent" in again.stderr
    log = _jsonl(run(home, "evidence", "log", "--json").stdout)
    (entry,) = [e for e in log if e["details"].get("what") == "takedown_sent"]
    assert entry["details"]["how"] == "smtp" and entry["details"]["to"] == "abuse@host.test"
    assert "INTACT" in run(home, "evidence", "verify").stdout


@pytest.mark.slow
def test_a_re_encoded_copy_back_at_the_url_is_matched_by_pdq(tmp_path: Path, site: Site) -> None:
    home = tmp_path / "h"
    env = {**LOCAL, "HAECHI_ANALYZERS": '["pdq"]'}
    picture = noise_image(5, (480, 360))
    site.files["/p.jpg"] = jpeg_bytes(picture, quality=92)
    (sha,) = _capture(home, f"{site.base}/p.jpg", env=env).values()
    case = str(json.loads(run(home, "case", "new", "--json", env=env).stdout)["id"])
    run(home, "case", "add", case, sha, env=env)
    (req,) = _draft(home, case, "--lang", "en", env=env)
    rid = str(req["id"])
    run(home, "takedown", "approve", rid, "--by", "lee", env=env)
    run(home, "takedown", "mark", rid, "sent", env=env)
    # A page without the picture is no proof of removal: nothing changes, a person looks.
    site.files["/p.jpg"] = b"<html><body>nothing here</body></html>"
    (unclear,) = _recheck(home, env=env)
    assert (unclear["result"], unclear["state"]) == ("unclear", "sent")
    run(home, "takedown", "mark", rid, "removed", env=env)
    # Someone uploads it again, re-encoded: other bytes, the same picture.
    site.files["/p.jpg"] = jpeg_bytes(picture.resize((400, 300)), quality=70)
    (r,) = _recheck(home, env=env)
    assert (r["result"], r["how"]) == ("reappeared", "pdq")
    detail = json.loads(run(home, "case", "show", case, "--json").stdout)
    assert len(detail["items"]) == 2  # the new copy joined the case
    assert os.environ.get("HAECHI_CAPTURE__ALLOW_PRIVATE") is None  # only the CLI was told


@pytest.mark.slow
def test_a_named_source_is_rescanned_offline_and_a_reupload_there_reappears(
    tmp_path: Path, site: Site
) -> None:
    """`recheck --source DIR --no-fetch`: a new export or a collected folder is scanned without
    the network; the removed content found there (re-encoded) is back up, wherever it now is."""
    home = tmp_path / "h"
    env = {**LOCAL, "HAECHI_ANALYZERS": '["pdq"]'}
    picture = noise_image(8, (480, 360))
    site.files["/q.jpg"] = jpeg_bytes(picture, quality=92)
    (sha,) = _capture(home, f"{site.base}/q.jpg", env=env).values()
    case = str(json.loads(run(home, "case", "new", "--json", env=env).stdout)["id"])
    run(home, "case", "add", case, sha, env=env)
    (req,) = _draft(home, case, "--lang", "en", env=env)
    rid = str(req["id"])
    run(home, "takedown", "approve", rid, "--by", "lee", env=env)
    run(home, "takedown", "mark", rid, "sent", env=env)
    collected = tmp_path / "collected"
    collected.mkdir()
    (collected / "other.jpg").write_bytes(jpeg_bytes(noise_image(9, (480, 360))))
    # Not in this source: one source is not the whole web; nothing changes.
    (absent,) = _recheck(home, "--source", str(collected), "--no-fetch", env=env)
    assert (absent["result"], absent["state"]) == ("absent", "sent")
    run(home, "takedown", "mark", rid, "removed", env=env)
    (collected / "again.jpg").write_bytes(jpeg_bytes(picture.resize((360, 270)), quality=75))
    (back,) = _recheck(home, "--source", str(collected), "--no-fetch", env=env)
    assert (back["result"], back["how"], back["state"]) == ("reappeared", "pdq", "reappeared")
    assert site.hits.count("/q.jpg") == 1  # the capture only: the rechecks fetched nothing
    findings = [json.loads(x) for x in run(home, "findings", "--json", env=env).stdout.splitlines()]
    assert any(f["kind"] == "reupload" and str(collected) in f["reason"] for f in findings)
