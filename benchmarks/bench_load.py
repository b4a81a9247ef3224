"""Sustained load on loopback: the HMA lookup (`GET /m/lookup`, a PDQ hash against a bank of
100,000) and the review listing (`GET /api/v1/review`), each driven by concurrent keep-alive
clients for a fixed time against `haechi serve` in its own process; requests/s, p50, p99 and
errors. The baseline is `GET /status` of the same router: routing and API-key check only.

    make bench BENCH=load                                   # 10 s per endpoint
    HAECHI_BENCH_LOAD_SECONDS=60 make bench BENCH=load      # the issue's 60 s

The clients run in this process (asyncio, a bare HTTP/1.1 client) on the same machine as the
server, so they take part of the CPU the server could use: the figures are a floor, not a
ceiling.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
from run import Result
from sqlalchemy import insert, select

from haechi.config import load_settings
from haechi.services.banks import create_bank
from haechi.services.users import add_api_key, add_user
from haechi.store.banks import Bank, BankContent, BankSignal
from haechi.store.db import Database

SECONDS = float(os.environ.get("HAECHI_BENCH_LOAD_SECONDS", "10"))
CLIENTS = int(os.environ.get("HAECHI_BENCH_LOAD_CLIENTS", "16"))
BANK_SIZE = int(os.environ.get("HAECHI_BENCH_LOAD_HASHES", "100000"))
# Server processes (`haechi serve --processes`): one per core of this 2-core machine.
PROCESSES = int(os.environ.get("HAECHI_BENCH_LOAD_PROCESSES", "2"))
PASSWORD = "bench password 1234"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _hashes(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [bytes(row).hex() for row in rng.integers(0, 256, (n, 32), dtype=np.uint8)]


def _setup(home: Path) -> tuple[str, list[str]]:
    """An investigator with a key for HMA and reading, and a bank of BANK_SIZE random PDQ
    hashes, inserted in bulk (the service adds them one flush at a time)."""
    db = Database(load_settings(home=home))
    add_user(db, "bench", "investigator", PASSWORD)
    create_bank(db, "bench", "BENCH_BANK")
    hashes = _hashes(BANK_SIZE, 11)
    with db.session() as s:
        bank_id = s.scalars(select(Bank.id).where(Bank.name == "BENCH_BANK")).one()
        s.execute(
            insert(BankContent),
            [
                {"id": i + 1, "bank_id": bank_id, "source": "bench", "added_by": "bench"}
                for i in range(len(hashes))
            ],
        )
        s.execute(
            insert(BankSignal),
            [
                {
                    "content_id": i + 1,
                    "bank_id": bank_id,
                    "signal_type": "pdq",
                    "value": h,
                    "quality": 100,
                }
                for i, h in enumerate(hashes)
            ],
        )
    key = add_api_key(db, "bench", ["hma", "read"])
    db.close()
    # Half the queries are banked hashes (a match), half are not.
    return key, hashes[:500] + _hashes(500, 12)


async def _request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes) -> int:
    """One request on a keep-alive connection: its status code (the body is read and dropped)."""
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def _drive(port: int, headers: dict[str, str], paths: list[str]) -> tuple[list[float], int]:
    """CLIENTS concurrent clients on keep-alive connections for SECONDS, cycling `paths`.

    A bare HTTP/1.1 client on asyncio streams (requests prepared once, responses parsed by
    Content-Length): it shares the 2 cores with the server, and a full client library would
    spend more CPU per request than the server's lookup itself."""
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + SECONDS
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    raws = [
        f"GET {p} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}\r\n".encode("ascii") for p in paths
    ]

    async def client(k: int) -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        i = k
        try:
            while time.perf_counter() < stop:
                t = time.perf_counter()
                try:
                    ok = await _request(reader, writer, raws[i % len(raws)]) == 200
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    ok = False
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                latencies.append(time.perf_counter() - t)
                errors += not ok
                i += CLIENTS
        finally:
            writer.close()

    await asyncio.gather(*(client(k) for k in range(CLIENTS)))
    return latencies, errors


def _wait(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("haechi serve did not start") from None
            time.sleep(0.2)


def run(tmp: Path) -> list[Result]:
    home = tmp / "home"
    key, queries = _setup(home)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "HAECHI_WEB__SECURE_COOKIES": "false"}
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
            str(PROCESSES),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    headers = {"Authorization": f"Bearer {key}"}
    targets = {
        "status (baseline)": ["/status"],
        f"HMA lookup, PDQ against {BANK_SIZE}": [
            f"/m/lookup?signal_type=pdq&signal={q}" for q in queries
        ],
        "review listing, 50 per page": ["/api/v1/review?per_page=50"],
    }
    try:
        _wait(port, proc)
        # The first lookups build each process's index: not part of the sustained figures.
        for _ in range(4 * PROCESSES):
            with httpx.Client(base_url=base, headers=headers, timeout=120) as c:
                c.get(targets[list(targets)[1]][0])
        measured = {name: asyncio.run(_drive(port, headers, p)) for name, p in targets.items()}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    base_rps = len(measured["status (baseline)"][0]) / SECONDS
    results = []
    for name, (lat, errors) in measured.items():
        rps = len(lat) / SECONDS
        q = statistics.quantiles(lat, n=100)
        label = f"load {name} ({CLIENTS} clients, {PROCESSES} processes, {SECONDS:.0f} s)"
        results.append(Result(f"{label}: requests/s", rps, "req/s", "status", base_rps))
        results.append(Result(f"{label}: p50", q[49] * 1000, "ms", higher_is_better=False))
        results.append(Result(f"{label}: p99", q[98] * 1000, "ms", higher_is_better=False))
        results.append(Result(f"{label}: errors", errors, "errors", higher_is_better=False))
    return results
