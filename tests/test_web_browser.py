"""The pages end to end in a real browser: `haechi serve` in a subprocess, Debian's chromium
driven by Playwright (never a downloaded browser). A counsellor opens the review queue and
reveals one item (the custody log records the look); a victim sees only her own case.
Screenshots of the main pages are written to docs/screenshots/ when HAECHI_SCREENSHOTS is set."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import database_for, haechi
from web_world import PASSWORD, World, build_world

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.slow
SHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _world_env(world: World) -> dict[str, str]:
    """The server reads the world's database (on PostgreSQL a database of its own)."""
    url = database_for(world.home)
    return {**os.environ, **({"HAECHI_DATABASE_URL": url} if url else {})}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, str]]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is missing (make sysdeps installs it)")
        pytest.skip("no chromium: `make sysdeps` (as root) installs Debian's package")
    world = build_world(tmp_path_factory.mktemp("browser"))
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "haechi", "--home", str(world.home), "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_world_env(world),
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"haechi serve exited: {proc.stderr.read() if proc.stderr else ''}")
            time.sleep(0.2)
    try:
        yield world, url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield b
        b.close()


def _login(browser: object, url: str, name: str) -> object:
    page = browser.new_page()  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{url}/login")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    page.errors = errors
    return page


def _shot(page: object, name: str) -> None:
    if os.environ.get("HAECHI_SCREENSHOTS"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def test_counsellor_reveals_one_item_and_the_log_has_the_look(
    served: tuple[World, str], browser: object
) -> None:
    world, url = served
    page = _login(browser, url, "lee")
    assert page.url == f"{url}/"  # type: ignore[attr-defined]
    _shot(page, "dashboard")
    page.get_by_role("link", name="Review").first.click()  # type: ignore[attr-defined]
    fid = world.findings["p1"][0]
    img = page.locator(f"#finding-{fid} img")  # type: ignore[attr-defined]
    img.wait_for()
    assert page.evaluate("(i) => i.complete && i.naturalWidth > 0", img.element_handle())  # type: ignore[attr-defined]
    _shot(page, "review")
    page.locator(f"#reveal-{fid}").click()  # type: ignore[attr-defined]
    page.wait_for_load_state()  # type: ignore[attr-defined]
    assert page.locator("img.revealed").count() == 1  # type: ignore[attr-defined]
    log = [
        json.loads(x) for x in haechi(world.home, "evidence", "log", "--json").stdout.splitlines()
    ]
    looks = [
        e["details"]["mode"] for e in log if e["actor"] == "web:lee" and e["action"] == "viewed"
    ]
    assert looks.count("unblurred") == 1 and "blurred" in looks
    page.goto(f"{url}/cases/{world.cases['p1']}")  # type: ignore[attr-defined]
    assert "Timeline" in page.content()  # type: ignore[attr-defined]
    _shot(page, "case")
    assert page.errors == []  # type: ignore[attr-defined]  # no CSP violation, no script error


def test_counsellor_goes_from_a_finding_to_a_drafted_takedown(
    served: tuple[World, str], browser: object
) -> None:
    from web_world import CHANNEL_LINK

    world, url = served
    page = _login(browser, url, "lee")
    page.get_by_role("link", name="Cases").first.click()  # type: ignore[attr-defined]
    page.get_by_role("link", name=str(world.cases["p1"]), exact=True).click()  # type: ignore[attr-defined]
    fid = world.findings["p1"][0]
    page.locator(f"#takedown-from-{fid}").click()  # type: ignore[attr-defined]
    page.wait_for_load_state()  # type: ignore[attr-defined]
    boxes = page.locator('input[name="lang"]')  # type: ignore[attr-defined]
    assert boxes.count() == 7
    page.get_by_label("Tiếng Việt").uncheck()  # type: ignore[attr-defined]
    page.locator("#draft").click()  # type: ignore[attr-defined]
    page.wait_for_load_state()  # type: ignore[attr-defined]
    assert "1 request(s) drafted" in page.locator("#draft-report").inner_text()  # type: ignore[attr-defined]
    row = page.locator("tr.request").first  # type: ignore[attr-defined]
    assert "telegram" in row.inner_text() and CHANNEL_LINK in row.inner_text()
    _shot(page, "takedown-drafted")
    row.get_by_role("link").first.click()
    page.wait_for_load_state()  # type: ignore[attr-defined]
    assert CHANNEL_LINK in page.locator("#request-text").inner_text()  # type: ignore[attr-defined]
    assert page.locator('a[lang="vi"]').count() == 0  # type: ignore[attr-defined]
    _shot(page, "takedown")
    listed = json.loads(haechi(world.home, "takedown", "list", "--json").stdout.splitlines()[0])
    assert listed["state"] == "drafted" and "vi" not in listed["languages"]
    assert page.errors == []  # type: ignore[attr-defined]


def test_victim_sees_only_her_case_in_korean(served: tuple[World, str], browser: object) -> None:
    world, url = served
    page = _login(browser, url, "victim_a")
    assert page.url == f"{url}/me"  # type: ignore[attr-defined]
    assert page.locator("#alias").inner_text() == "p1"  # type: ignore[attr-defined]
    assert page.locator("tr.my-case").count() == 1  # type: ignore[attr-defined]
    # The visible text and links, not the raw HTML: a random CSRF token may contain "p2".
    seen = page.locator("body").inner_text()  # type: ignore[attr-defined]
    assert re.search(r"\bp2\b", seen) is None
    assert page.locator(f'a[href="/cases/{world.cases["p2"]}"]').count() == 0  # type: ignore[attr-defined]
    page.get_by_role("link", name="한국어").click()  # type: ignore[attr-defined]
    page.wait_for_load_state()  # type: ignore[attr-defined]
    assert page.locator("html").get_attribute("lang") == "ko"  # type: ignore[attr-defined]
    _shot(page, "victim")
    for other in (f"/cases/{world.cases['p2']}", "/takedowns", f"/cases/{world.cases['p1']}"):
        page.goto(f"{url}{other}")  # type: ignore[attr-defined]
        assert page.locator("h1").inner_text() in ("Forbidden", "접근할 수 없습니다")  # type: ignore[attr-defined]
