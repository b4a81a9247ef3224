"""Web app and API on loopback: requests per second and p50/p99 latency of a page (the
dashboard), the login page, an API list (cases, with an API key) and a static asset (the
baseline: no database, no template), served by `haechi serve` in its own process."""

from __future__ import annotations

import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from run import Result

from haechi.config import load_settings
from haechi.services.cases import add_note, open_case
from haechi.services.users import add_api_key, add_user
from haechi.store.db import Database

SECONDS = float(os.environ.get("HAECHI_BENCH_WEB_SECONDS", "3"))
CLIENTS = int(os.environ.get("HAECHI_BENCH_WEB_CLIENTS", "4"))
PASSWORD = "bench password 1234"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _setup(home: Path) -> str:
    db = Database(load_settings(home=home))
    add_user(db, "bench", "counsellor", PASSWORD)
    for i in range(50):
        case = open_case(db, "bench", title=f"investigation {i}")
        add_note(db, case.id, "a note", "bench")
    key = add_api_key(db, "bench", ["read"])
    db.close()
    return key


def _load(url: str, headers: dict[str, str], cookies: dict[str, str]) -> list[float]:
    """CLIENTS threads, each with its own keep-alive connection, for SECONDS."""
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.perf_counter() + SECONDS

    def client() -> None:
        mine = []
        with httpx.Client(headers=headers, cookies=cookies) as c:
            while time.perf_counter() < stop:
                t = time.perf_counter()
                r = c.get(url)
                mine.append(time.perf_counter() - t)
                assert r.status_code == 200, (url, r.status_code)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies


def _login(base: str) -> dict[str, str]:
    with httpx.Client(base_url=base) as c:
        page = c.get("/login")
        token = re.search(r'name="login_token" value="([^"]+)"', page.text)
        assert token
        r = c.post(
            "/login",
            data={"name": "bench", "password": PASSWORD, "login_token": token.group(1)},
        )
        assert r.status_code == 303, r.text
        return {"haechi_session": r.cookies["haechi_session"]}


def run(tmp: Path) -> list[Result]:
    home = tmp / "home"
    key = _setup(home)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "HAECHI_WEB__SECURE_COOKIES": "false"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "haechi", "--home", str(home), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("haechi serve did not start") from None
                time.sleep(0.2)
        session = _login(base)
        targets = {
            "static asset": (f"{base}/static/style.css", {}, {}),
            "login page": (f"{base}/login", {}, {}),
            "dashboard page (session)": (f"{base}/", {}, session),
            "API cases, 50 per page (key)": (
                f"{base}/api/v1/cases?per_page=50",
                {"Authorization": f"Bearer {key}"},
                {},
            ),
        }
        measured = {name: _load(*spec) for name, spec in targets.items()}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    base_rps = len(measured["static asset"]) / SECONDS
    results = []
    for name, lat in measured.items():
        rps = len(lat) / SECONDS
        q = statistics.quantiles(lat, n=100)
        results.append(Result(f"web {name}: requests/s", rps, "req/s", "static asset", base_rps))
        results.append(Result(f"web {name}: p50", q[49] * 1000, "ms", higher_is_better=False))
        results.append(Result(f"web {name}: p99", q[98] * 1000, "ms", higher_is_better=False))
    return results
