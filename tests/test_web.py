"""The web app and REST API in process (FastAPI's TestClient over httpx): the access matrix
read from the app's own route table, no leak between victims, CSRF, login throttling, session
expiry, cookie flags and security headers, problem details and pagination, and a reveal in the
review queue logged in the custody log."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import run
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update
from web_world import ACCOUNTS, PASSWORD, ROLES, World, build_world, login

from haechi.services.users import UserView, add_api_key
from haechi.store.db import Database
from haechi.store.users import WebSession
from haechi.web import create_app
from haechi.web.access import Principal, check_every_route_has_a_rule, route_rules
from haechi.web.problems import API_PREFIXES

SCOPES = ("read", "review", "takedown", "persons", "evidence", "hma", "admin")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(tmp_path_factory.mktemp("web"))


@pytest.fixture(scope="module")
def app(world: World) -> Iterator[FastAPI]:
    db = Database(world.settings())
    yield create_app(world.settings(), db)
    db.close()


def _client(app: FastAPI, **kw: object) -> TestClient:
    return TestClient(app, follow_redirects=False, **kw)  # type: ignore[arg-type]


def _fill(path: str, world: World) -> str:
    return (
        path.replace("{case_id}", str(world.cases["p1"]))
        .replace("{finding_id}", str(world.findings["p1"][0]))
        .replace("{request_id}", "999999")
        .replace("{cluster}", "no-such-cluster")
        .replace("{code}", "en")
        .replace("{name}", "style.css")
    )


def _caller(label: str) -> Principal | None:
    """The principal a label stands for, to ask the declared rule what it expects."""
    now = datetime.now(UTC)
    if label == "anonymous":
        return None
    if label.startswith("key:"):
        return Principal(UserView(0, "k", "admin", None, False, now), "key", frozenset({label[4:]}))
    return Principal(UserView(0, "u", label, None, False, now), "session", csrf="x")


def test_every_route_x_every_role_matches_its_declared_rule(app: FastAPI, world: World) -> None:
    """Generated from app.routes: every route, every role and anonymous, and API keys of every
    scope; the expectation comes from the rule the route declares. A route without a rule
    fails here (and the app refuses to start)."""
    routes = route_rules(app)
    assert len(routes) >= 60
    assert all(r.rules for r in routes), [r.path for r in routes if not r.rules]
    callers: dict[str, tuple[TestClient, dict[str, str]]] = {"anonymous": (_client(app), {})}
    for role in ROLES:
        c = _client(app)
        # The CSRF token goes with every session request: this test is about the rules.
        callers[role] = (c, {"X-CSRF-Token": login(c, ACCOUNTS[role])})
    db: Database = app.state.db
    for scope in SCOPES:
        key = add_api_key(db, "kim" if scope in ("evidence", "hma") else "ada", [scope])
        callers[f"key:{scope}"] = (_client(app), {"Authorization": f"Bearer {key}"})
    checked = 0
    for r in routes:
        url = _fill(r.path, world)
        for method in sorted(r.methods - {"HEAD"}):
            for label, (c, headers) in callers.items():
                resp = c.request(method, url, headers=headers)
                assert resp.headers["x-content-type-options"] == "nosniff"
                assert "frame-ancestors 'none'" in resp.headers["content-security-policy"]
                to_login = resp.status_code == 303 and resp.headers.get("location") == "/login"
                if r.allows(_caller(label)):
                    assert resp.status_code not in (401, 403) and not to_login, (
                        f"{label} refused {method} {url}: {resp.status_code} {resp.text[:300]}"
                    )
                elif label == "anonymous":
                    assert (
                        to_login if not r.path.startswith(API_PREFIXES) else resp.status_code == 401
                    ), f"anonymous reached {method} {url}"
                else:
                    assert resp.status_code == 403, f"{label} reached {method} {url}"
                checked += 1
    assert checked >= 30 * len(callers)


def test_a_counsellor_drafts_from_a_finding_and_another_person_approves(
    app: FastAPI, world: World
) -> None:
    """Before the review tests below flag p1's item as a possible minor (which keeps it out of
    every draft): from a finding on the case page to drafted requests, their text, the .eml,
    approval by a second person, a mark, the overdue list and a recheck."""
    import email
    from email import policy

    from web_world import CHANNEL_LINK

    case_id, fid = world.cases["p1"], world.findings["p1"][0]
    lee = _client(app)
    token = login(lee, "lee")
    case_page = lee.get(f"/cases/{case_id}").text
    link = f"/cases/{case_id}/takedowns?finding={fid}"
    assert f'href="{link}"' in case_page and "uses the network" in case_page
    form = lee.get(link).text
    assert form.count('name="lang"') == 7 and form.count(" checked>") == 7
    r = lee.post(f"/cases/{case_id}/takedowns", data={"csrf": token, "lang": ["ko", "en"]})
    assert r.status_code == 200 and "1 request(s) drafted. Nothing was sent" in r.text
    (req,) = lee.get(f"/api/v1/takedowns?case={case_id}").json()["items"]
    rid = req["id"]
    assert (req["platform"], req["location"], req["state"]) == ("telegram", CHANNEL_LINK, "drafted")
    assert req["verified"] is False and req["languages"] == ["ko", "en"]
    row = r.text.split(f'id="request-{rid}"')[1].split("</tr>")[0]
    assert "telegram" in row and "no: check it first" in row and "drafted" in row

    text = lee.get(f"/takedowns/{rid}?lang=ko").text
    body = text.split('id="request-text">')[1].split("</pre>")[0]
    assert CHANNEL_LINK in body and req["items"][0] in body and "<" not in body.replace("&lt;", "")
    assert 'lang="en"' in text and f"/takedowns/{rid}/files/ko.eml" in text
    eml = lee.get(f"/takedowns/{rid}/files/en.eml")
    assert eml.headers["content-type"] == "message/rfc822"
    assert eml.headers["content-disposition"].startswith("attachment")
    msg = email.message_from_bytes(eml.content, policy=policy.default)
    assert msg["X-Haechi-Channel-Verified"].startswith("no")
    assert lee.get(f"/takedowns/{rid}/files/..%2Fsecret").status_code == 404

    # Four eyes: the counsellor who drafted it cannot approve it; the admin can, by name.
    assert 'id="approve"' not in text and "You drafted this request" in text
    refused = lee.post(f"/takedowns/{rid}/approve", data={"csrf": token})
    assert refused.status_code == 403 and "another person" in refused.text
    ada = _client(app)
    ada_token = login(ada, "ada")
    assert 'id="approve"' in ada.get(f"/takedowns/{rid}").text
    assert ada.post(f"/takedowns/{rid}/approve", data={"csrf": ada_token}).status_code == 303
    shown = ada.get(f"/takedowns/{rid}").text
    assert 'id="approved-by">ada<' in shown and "web:lee" in shown
    ten_days = (datetime.now(UTC) - timedelta(days=10)).date().isoformat()
    marked = lee.post(
        f"/takedowns/{rid}/mark", data={"csrf": token, "state": "sent", "on": ten_days}
    )
    assert marked.status_code == 303
    dashboard = lee.get("/").text
    assert "Overdue takedown requests" in dashboard and f'id="request-{rid}"' in dashboard
    assert [o["id"] for o in lee.get("/api/v1/dashboard").json()["overdue_takedowns"]] == [rid]
    assert f'id="request-{rid}"' in lee.get("/takedowns?overdue=true").text

    # The recheck says it uses the network; a private t.me/c link is not fetched at all.
    rechecked = lee.post(f"/cases/{case_id}/recheck", data={"csrf": token})
    assert "used the network" in rechecked.text and "not_checkable" in rechecked.text
    key = add_api_key(app.state.db, "kim", ["read", "takedown"])
    h = {"Authorization": f"Bearer {key}"}
    assert c_post(app, f"/api/v1/cases/{case_id}/recheck", h, {}).status_code == 422
    api = c_post(app, f"/api/v1/cases/{case_id}/recheck", h, {"use_network": True}).json()
    assert api["network"] is True and [x["result"] for x in api["checked"]] == ["not_checkable"]
    answered = c_post(app, f"/api/v1/takedowns/{rid}/mark", h, {"state": "acknowledged"})
    assert answered.json()["state"] == "acknowledged"
    detail = _client(app).get(f"/api/v1/takedowns/{rid}", headers=h).json()
    assert detail["drafted_by"] == "web:lee" and detail["approved_by"] == "ada"
    assert [x["state"] for x in detail["history"] if "state" in x] == [
        "drafted",
        "approved",
        "sent",
        "acknowledged",
    ]
    log = _log(world)
    approved = next(e for e in log if e["details"].get("what") == "takedown_approved")
    assert approved["actor"] == "web:ada" and approved["details"]["by"] == "ada"


def c_post(app: FastAPI, url: str, headers: dict[str, str], body: object) -> Any:
    return _client(app).post(url, headers=headers, json=body)


def test_a_victim_reaches_only_her_own_pages(app: FastAPI) -> None:
    own = {"/", "/me", "/me/forget", "/logout", "/api/v1/me", "/api/v1/me/forget", "/api/v1/whoami"}
    own |= {"/me/enrol", "/api/v1/me/enrol"}
    victim = _caller("victim")
    reachable = {r.path for r in route_rules(app) if r.allows(victim) and not r.allows(None)}
    assert reachable == own


def test_victim_a_never_sees_victim_b(app: FastAPI, world: World) -> None:
    c = _client(app)
    login(c, "victim_a")
    mine = c.get("/api/v1/me").json()
    assert mine["person"]["alias"] == "p1"
    assert [x["id"] for x in mine["cases"]] == [world.cases["p1"]]
    # The page's words, not its random tokens (a CSRF token may hold "p2" by chance).
    words = set(re.findall(r"[\w-]+", re.sub(r'value="[^"]*"', "", c.get("/me").text)))
    assert "p1" in words and "p2" not in words
    for url in (
        f"/cases/{world.cases['p2']}",
        f"/api/v1/cases/{world.cases['p2']}",
        "/api/v1/cases",
    ):
        assert c.get(url).status_code == 403
    fid = world.findings["p2"][0]
    assert c.get(f"/review/{fid}/blurred.png").status_code == 403
    assert c.get("/api/v1/persons").status_code == 403


def test_session_cookie_flags(world: World) -> None:
    db = Database(world.settings())
    secure_app = create_app(world.settings(secure_cookies=True), db)
    c = _client(secure_app, base_url="https://testserver")
    page = c.get("/login")
    token = page.text.split('name="login_token" value="')[1].split('"')[0]
    r = c.post("/login", data={"name": "lee", "password": PASSWORD, "login_token": token})
    cookie = next(
        v for k, v in r.headers.multi_items() if k == "set-cookie" and "haechi_session" in v
    )
    flags = {f.strip().split("=")[0].lower() for f in cookie.split(";")}
    assert {"httponly", "secure", "max-age", "path"} <= flags
    assert "samesite=strict" in cookie.lower()
    db.close()


def test_state_changes_need_the_csrf_token(app: FastAPI, world: World) -> None:
    c = _client(app)
    token = login(c, "lee")
    url = f"/cases/{world.cases['p1']}/notes"
    assert c.post(url, data={"text": "no token", "csrf": ""}).status_code == 403
    assert c.post(url, data={"text": "wrong", "csrf": "x" * 43}).status_code == 403
    assert c.post("/api/v1/cases/1/notes", json={"text": "no header"}).status_code == 403
    r = c.post(url, data={"text": "called her back", "csrf": token})
    assert r.status_code == 303
    timeline = c.get(f"/api/v1/cases/{world.cases['p1']}").json()["timeline"]
    assert [e["text"] for e in timeline if e["kind"] == "note"] == ["called her back"]
    assert timeline[-1]["actor"] == "web:lee"


def test_login_is_throttled_per_account_and_address(app: FastAPI) -> None:
    c = _client(app, client=("10.0.0.7", 5000))
    for _ in range(5):
        page = c.get("/login")
        tok = page.text.split('name="login_token" value="')[1].split('"')[0]
        r = c.post("/login", data={"name": "kim", "password": "wrong guess!", "login_token": tok})
        assert r.status_code == 401
    page = c.get("/login")
    tok = page.text.split('name="login_token" value="')[1].split('"')[0]
    r = c.post("/login", data={"name": "kim", "password": PASSWORD, "login_token": tok})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 60
    other = _client(app, client=("10.0.0.8", 5000))  # the owner, from elsewhere
    login(other, "kim")


def test_login_form_needs_its_cookie(app: FastAPI) -> None:
    c = _client(app)
    r = c.post("/login", data={"name": "lee", "password": PASSWORD, "login_token": "forged"})
    assert r.status_code == 403 and "haechi_session" not in r.headers.get("set-cookie", "")


def test_sessions_expire_when_idle_and_absolutely(app: FastAPI) -> None:
    db: Database = app.state.db
    for column in ("last_seen", "expires_at"):
        c = _client(app)
        login(c, "ada")
        assert c.get("/").status_code == 200
        with db.session() as s:
            past = datetime.now(UTC) - timedelta(hours=1 if column == "last_seen" else 0, minutes=1)
            s.execute(update(WebSession).values({column: past}))
        assert c.get("/").headers.get("location") == "/login"
        assert c.get("/api/v1/whoami").status_code == 401


def test_logout_ends_the_session(app: FastAPI) -> None:
    c = _client(app)
    token = login(c, "ada")
    cookie = c.cookies.get("haechi_session")
    assert c.post("/logout", data={"csrf": token}).headers["location"] == "/login"
    c.cookies.set("haechi_session", cookie or "")
    assert c.get("/").headers.get("location") == "/login"


def test_errors_are_problem_details_and_lists_paginate(app: FastAPI, world: World) -> None:
    c = _client(app)
    key = add_api_key(app.state.db, "lee", ["read"])
    h = {"Authorization": f"Bearer {key}"}
    r = c.get("/api/v1/cases/999", headers=h)
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == 404 and "no case 999" in body["detail"] and body["title"]
    bad = c.get("/api/v1/cases?per_page=0", headers=h)
    assert bad.status_code == 422 and bad.json()["errors"][0]["where"] == "query.per_page"
    anon = c.get("/api/v1/cases")
    assert anon.status_code == 401 and anon.headers["www-authenticate"] == "Bearer"
    assert c.get("/api/v1/cases", headers={"Authorization": "Bearer hk_nope"}).status_code == 401
    page1 = c.get("/api/v1/cases?per_page=1", headers=h).json()
    assert page1["total"] == 2 and len(page1["items"]) == 1 and page1["next"]
    page2 = c.get(page1["next"], headers=h).json()
    assert page2["next"] is None and page2["items"][0]["id"] != page1["items"][0]["id"]
    schema = c.get("/openapi.json").json()
    assert "/api/v1/cases/{case_id}" in schema["paths"] and "/login" not in schema["paths"]


def test_the_hma_router_is_mounted_behind_its_one_rule(world: World) -> None:
    """The HMA-compatible API sits at HMA's paths behind one rule: a key of scope "hma", or an
    admin's or investigator's session; a key of another scope and a counsellor are refused."""
    db = Database(world.settings())
    app = create_app(world.settings(), db)
    c = _client(app)
    good = add_api_key(db, "kim", ["hma"])
    other = add_api_key(db, "kim", ["read"])
    banks = c.get("/c/banks", headers={"Authorization": f"Bearer {good}"})
    assert banks.status_code == 200 and isinstance(banks.json(), list)
    assert c.get("/c/banks", headers={"Authorization": f"Bearer {other}"}).status_code == 403
    assert c.get("/m/index/status").status_code == 401
    login(c, "lee")
    assert c.get("/c/banks").status_code == 403  # a counsellor's session

    bare = APIRouter()

    @bare.get("/unprotected")
    def unprotected() -> None: ...

    app.include_router(bare)
    with pytest.raises(RuntimeError, match="/unprotected"):
        check_every_route_has_a_rule(app)
    db.close()


def _log(world: World) -> list[dict[str, Any]]:
    out = run(world.home, "evidence", "log", "--json").stdout
    return [json.loads(x) for x in out.splitlines()]


def test_reveal_one_item_is_logged_and_minor_media_is_restricted(
    app: FastAPI, world: World
) -> None:
    fid = world.findings["p1"][0]
    c = _client(app)
    token = login(c, "lee")
    before = len(_log(world))
    queue = c.get("/review").text
    assert f"/review/{fid}/blurred.png" in queue
    blurred = c.get(f"/review/{fid}/blurred.png")
    assert blurred.headers["content-type"] == "image/png"
    r = c.post(f"/review/{fid}/reveal", data={"csrf": token})
    assert r.status_code == 200 and 'src="data:image/png;base64,' in r.text
    log = _log(world)[before:]
    views = [(e["actor"], e["action"], e["details"]["mode"]) for e in log]
    assert views == [("web:lee", "viewed", "blurred"), ("web:lee", "viewed", "unblurred")]
    assert "INTACT" in run(world.home, "evidence", "verify").stdout

    inv = _client(app)
    inv_token = login(inv, "kim")
    r = inv.post(
        f"/api/v1/review/{fid}/actions",
        json={"action": "minor", "reason": "looks young"},
        headers={"X-CSRF-Token": inv_token},
    )
    assert r.json() == {"finding_id": fid, "status": "escalated"}
    assert c.get(f"/review/{fid}/blurred.png").status_code == 403  # counsellor
    assert "possible minor: media only" in c.get("/review").text
    assert inv.get(f"/review/{fid}/blurred.png").status_code == 200  # investigator, blurred
    refused = inv.post(f"/api/v1/review/{fid}/reveal", headers={"X-CSRF-Token": inv_token})
    assert refused.status_code == 422 and "possible minor" in refused.json()["detail"]


def test_investigator_downloads_a_case_package_without_clear_media(
    app: FastAPI, world: World
) -> None:
    import io
    import zipfile

    c = _client(app)
    token = login(c, "kim")
    r = c.post(f"/cases/{world.cases['p2']}/package", data={"csrf": token})
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    assert any(n.endswith("manifest.json") for n in names)
    assert not any("/media/" in n for n in names)  # no age key given: no media at all
    counsellor = _client(app)
    login(counsellor, "lee")
    assert counsellor.get(f"/cases/{world.cases['p2']}").status_code == 200
    timeline = counsellor.get(f"/api/v1/cases/{world.cases['p2']}").json()["timeline"]
    assert timeline[-1]["kind"] == "exported" and timeline[-1]["actor"] == "web:kim"


def test_language_is_switched_and_remembered(app: FastAPI) -> None:
    c = _client(app)
    r = c.get("/lang/ko?next=//evil.example")
    assert r.headers["location"] == "/"  # never an open redirect
    assert c.cookies.get("haechi_lang") == "ko"
    assert '<html lang="ko">' in c.get("/login").text
    c.get("/lang/en?next=/login")
    assert '<html lang="en">' in c.get("/login").text


def test_no_api_answer_carries_a_face_vector(app: FastAPI, world: World) -> None:
    from biometric_leaks import leaks

    staff = _client(app)
    login(staff, "ada")
    victim = _client(app)
    login(victim, "victim_a")
    checked = 0
    for r in route_rules(app):
        if not r.path.startswith("/api/") or "GET" not in r.methods:
            continue
        for c in (staff, victim):
            resp = c.get(_fill(r.path, world))
            if resp.headers.get("content-type") == "application/json":
                assert leaks(resp.text, r.path) == []
                checked += 1
    assert checked >= 8


def test_investigator_sees_custody_log_verifies_and_downloads_a_police_report(
    app: FastAPI, world: World
) -> None:
    import io
    import zipfile

    kim = _client(app)
    token = login(kim, "kim")
    log = kim.get("/custody").text
    assert "Custody log" in log and "captured" in log
    only = kim.get("/custody?action=case").text
    assert "captured</td>" not in only and "case</td>" in only
    verdict = kim.get("/custody/verify")
    assert 'id="verdict"><strong>Intact' in verdict.text and "INTACT" in verdict.text
    api = kim.get("/api/v1/custody/verify").json()
    assert api["ok"] is True and api["entries"] > 5
    r = kim.post(f"/cases/{world.cases['p1']}/report", data={"csrf": token})
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    assert {n.split("/", 1)[1] for n in names} >= {"report.html", "report.pdf", "SHA256SUMS"}
    assert not any("/media/" in n for n in names)
    reported = [e for e in _log(world) if e["action"] == "reported"]
    assert reported[-1]["actor"] == "web:kim"
    lee = _client(app)
    login(lee, "lee")
    assert lee.get("/custody").status_code == 403
    assert lee.post(f"/cases/{world.cases['p1']}/report", data={"csrf": "x"}).status_code == 403


def test_admin_sees_every_reveal(app: FastAPI, world: World) -> None:
    ada = _client(app)
    token = login(ada, "ada")
    fid = world.findings["p2"][0]
    assert ada.post(f"/review/{fid}/reveal", data={"csrf": token}).status_code == 200
    audit = ada.get("/audit/reveals").text
    rows = [x.split("</tr>")[0] for x in audit.split('<tr class="reveal">')[1:]]
    assert any("web:ada" in x and f"<td>{fid}</td>" in x for x in rows)
    key = add_api_key(app.state.db, "ada", ["admin"])
    api = _client(app).get("/api/v1/audit/reveals", headers={"Authorization": f"Bearer {key}"})
    assert {(x["actor"], x["details"]["finding"]) for x in api.json()["items"]} >= {
        ("web:ada", fid)
    }
    assert all(x["details"]["mode"] == "unblurred" for x in api.json()["items"])


def test_admin_manages_accounts_and_a_key_is_shown_once(app: FastAPI) -> None:
    ada = _client(app)
    token = login(ada, "ada")
    listed = ada.get("/admin/users").text
    assert all(f'id="user-{n}"' in listed for n in ("ada", "lee", "kim", "victim_a"))
    short = ada.post(
        "/admin/users",
        data={"csrf": token, "name": "nia", "role": "counsellor", "password": "short"},
    )
    assert short.status_code == 422 and "too short" in short.text
    added = ada.post(
        "/admin/users",
        data={"csrf": token, "name": "nia", "role": "counsellor", "password": PASSWORD},
    )
    assert added.status_code == 200 and "Account nia added" in added.text
    made = ada.post("/admin/users/nia/keys", data={"csrf": token, "scope": ["read", "takedown"]})
    key = made.text.split('id="new-key">')[1].split("<")[0]
    assert key.startswith("hk_")
    assert key not in ada.get("/admin/users").text  # shown once
    h = {"Authorization": f"Bearer {key}"}
    who = _client(app).get("/api/v1/whoami", headers=h).json()
    assert who == {
        "name": "nia",
        "role": "counsellor",
        "via": "key",
        "scopes": ["read", "takedown"],
    }
    wrong = ada.post("/admin/users/nia/keys", data={"csrf": token, "scope": "evidence"})
    assert wrong.status_code == 422 and "may not hold" in wrong.text
    off = ada.post("/admin/users/nia/disable", data={"csrf": token, "disabled": "yes"})
    assert off.status_code == 303
    assert _client(app).get("/api/v1/whoami", headers=h).status_code == 401
    row = ada.get("/admin/users").text.split('id="user-nia"')[1].split("</tr>")[0]
    assert "disabled" in row


def test_investigator_sees_the_network_picture_and_the_messages_behind_roles(
    app: FastAPI,
) -> None:
    kim = _client(app)
    login(kim, "kim")
    net = kim.get("/network").text
    cluster = net.split('href="/network/')[1].split('"')[0]
    page = kim.get(f"/network/{cluster}").text
    assert 'src="data:image/svg+xml;base64,' in page and "never a verdict" in page
    claim = page.split('<section class="card claim">')[1].split("</section>")[0]
    assert "creator candidate" in claim and "Seller" in claim and "Channel 4242 #11" in claim
    api = kim.get(f"/api/v1/network/{cluster}").json()
    assert api["claims"][0]["evidence"][0]["message_id"] == 11
    assert kim.get(f"/api/v1/network/{cluster}/picture.svg").text.startswith("<svg")
    lee = _client(app)
    login(lee, "lee")
    assert lee.get("/network").status_code == 403


def test_staff_read_leads_from_the_scanned_export_and_a_victim_cannot(app: FastAPI) -> None:
    """The room the channel advertised becomes a lead once its messages are read (a POST with
    the form's CSRF token); the page and the API list it with the message that named it."""
    lee = _client(app)
    token = login(lee, "lee")
    assert lee.post("/leads", data={"csrf": token}).status_code == 303
    page = lee.get("/leads").text
    assert "@backup4242" in page and "https://t.me/backup4242" in page
    assert "Channel 4242" in page and "new set tonight" in page
    api = lee.get("/api/v1/leads").json()
    assert [x["lead"] for x in api["items"]] == ["@backup4242"]
    assert api["items"][0]["seen"][0]["message_id"] == 10
    assert lee.post("/api/v1/leads", headers={"X-CSRF-Token": token}).json()["new_leads"] == 0
    victim = _client(app)
    login(victim, "victim_a")
    assert victim.get("/leads").status_code == 403
    assert victim.get("/api/v1/leads").status_code == 403


def test_a_victim_enrols_herself_and_no_photo_is_kept(app: FastAPI, world: World) -> None:
    from conftest import testdata

    c = _client(app)
    token = login(c, "victim_c")
    me = c.get("/me").text
    assert "Enrol myself" in me and "The photos themselves are not kept" in me
    photos = [testdata("faces", n).read_bytes() for n in ("img16.jpg", "img17.jpg")]
    files = [("photos", (f"me{i}.jpg", b, "image/jpeg")) for i, b in enumerate(photos)]
    no_consent = c.post("/me/enrol", data={"csrf": token, "alias": "p3"}, files=files)
    assert no_consent.status_code == 422 and "consent" in no_consent.text
    assert c.get("/api/v1/me").json()["person"] is None
    r = c.post("/me/enrol", data={"csrf": token, "alias": "p3", "agree": "yes"}, files=files)
    assert r.status_code == 200 and "2 face template(s)" in r.text, r.text
    mine = c.get("/api/v1/me").json()
    assert mine["person"]["alias"] == "p3" and mine["person"]["templates"] == 2
    assert "I agree that haechi keeps face templates" in mine["person"]["consent"]["text"]
    # Nothing of an uploaded photo is anywhere in the data directory (the database included).
    # Searched from another process: closing a descriptor of the live SQLite file in this one
    # would drop the locks the app's connections hold on it (POSIX locks are per process).
    probes = [p[len(p) // 2 : len(p) // 2 + 64] for p in photos] + photos
    search = (
        "import sys, pathlib\n"
        "probes = [bytes.fromhex(x) for x in sys.argv[2:]]\n"
        "for f in pathlib.Path(sys.argv[1]).rglob('*'):\n"
        "    if f.is_file() and any(p in f.read_bytes() for p in probes): print(f)\n"
    )

    def search_in(folder: Path) -> str:
        args = [sys.executable, "-c", search, str(folder), *(x.hex() for x in probes)]
        return subprocess.run(args, capture_output=True, text=True, check=True).stdout

    assert search_in(world.home) == ""
    assert "img16.jpg" in search_in(testdata("faces"))  # the search does find them
    persons = [
        json.loads(x)["alias"] for x in run(world.home, "persons", "--json").stdout.splitlines()
    ]
    assert "p3" in persons


def test_a_victim_erases_herself(app: FastAPI, world: World) -> None:
    """Last in the module: p2 is gone afterwards."""
    c = _client(app)
    token = login(c, "victim_b")
    wrong = c.post("/me/forget", data={"csrf": token, "confirm": "someone"})
    assert wrong.status_code == 422
    r = c.post("/me/forget", data={"csrf": token, "confirm": "p2"})
    assert r.status_code == 200 and "erased" in r.text.lower()
    assert c.get("/me").headers.get("location") == "/login"  # her session ended
    persons = [
        json.loads(x)["alias"] for x in run(world.home, "persons", "--json").stdout.splitlines()
    ]
    assert "p2" not in persons and "p1" in persons
    users = [json.loads(x) for x in run(world.home, "users", "list", "--json").stdout.splitlines()]
    b = next(u for u in users if u["name"] == "victim_b")
    assert b["disabled"] and b["person"] is None


def test_ended_sessions_and_old_failures_do_not_pile_up(app: FastAPI) -> None:
    from sqlalchemy import func, select

    from haechi.store.users import LoginFailure

    db: Database = app.state.db
    c = _client(app)
    login(c, "ada")
    with db.session() as s:
        s.execute(update(WebSession).values(expires_at=datetime.now(UTC) - timedelta(days=1)))
        s.execute(update(LoginFailure).values(last_at=datetime.now(UTC) - timedelta(days=1)))
    stranger = _client(app, client=("10.9.9.9", 1))
    page = stranger.get("/login").text
    tok = page.split('name="login_token" value="')[1].split('"')[0]
    stranger.post("/login", data={"name": "x", "password": "y", "login_token": tok})
    login(_client(app), "lee")
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(WebSession)) == 1
        assert s.scalar(select(func.count()).select_from(LoginFailure)) == 1
