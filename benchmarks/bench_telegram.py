"""Telegram export reading: messages/s and peak RSS on a generated result.json, against
json.load of the same file (memory baseline); and a whole scan (parse, score, store) in msg/s.

HAECHI_BENCH_TELEGRAM_MB sets the export size (default 100; 1024 for the 1 GB figure, where
json.load is skipped above HAECHI_BENCH_JSON_LOAD_MB, default 300, to spare the machine)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from run import Result

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from telegram_exports import write_big_export

MB = float(os.environ.get("HAECHI_BENCH_TELEGRAM_MB", "100"))
JSON_LOAD_MB = float(os.environ.get("HAECHI_BENCH_JSON_LOAD_MB", "300"))
SCAN_MB = 10.0

# Peak RSS is read from /proc's VmHWM: it belongs to this process's own memory map, which exec
# starts afresh. (getrusage's ru_maxrss is inherited from the parent across fork and exec, so a
# child of a big benchmark process would report the parent's size.)
_CHILD = """
import json, sys, time
from pathlib import Path
def hwm_kb():
    for line in open('/proc/self/status'):
        if line.startswith('VmHWM:'):
            return int(line.split()[1])
    return 0
mode, path = sys.argv[1], Path(sys.argv[2])
if mode == "parse":
    from haechi.sources.tdesktop import iter_messages
base = hwm_kb()  # Python and imports, before reading
t = time.perf_counter()
if mode == "parse":
    problems = []
    n = sum(1 for _ in iter_messages(path, problems=problems))
    assert not problems, problems[:3]
else:
    with path.open("rb") as fh:
        n = len(json.load(fh)["messages"])
s = time.perf_counter() - t
print(json.dumps({"n": n, "s": s, "base_kb": base,
                  "peak_kb": hwm_kb()}))
"""


def _child(mode: str, path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, mode, str(path)], check=True, capture_output=True, text=True
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _scan_rate(work: Path) -> tuple[float, int]:
    from haechi.config import load_settings
    from haechi.scan import scan_paths
    from haechi.store.db import Database

    folder = work / "scan-export"
    write_big_export(folder, int(SCAN_MB * 1024 * 1024))
    settings = load_settings(home=work / "home", workers=1)
    db = Database(settings)
    t = time.perf_counter()
    (summary,) = scan_paths(db, settings, [folder])
    rate = summary.messages / (time.perf_counter() - t)
    db.close()
    return rate, summary.messages


def run(work: Path) -> list[Result]:
    t = time.perf_counter()
    path, count = write_big_export(work / "export", int(MB * 1024 * 1024))
    size_mb = path.stat().st_size / 1024 / 1024
    print(f"  generated {size_mb:.0f} MB, {count} messages in {time.perf_counter() - t:.0f} s")
    parsed = _child("parse", path)
    assert parsed["n"] == count
    results = [
        Result(
            f"parse msg/s ({size_mb:.0f} MB export, {count} messages)",
            parsed["n"] / parsed["s"],
            "msg/s",
        ),
    ]
    rss = parsed["peak_kb"] / 1024
    if size_mb <= JSON_LOAD_MB:
        loaded = _child("json_load", path)
        results.append(
            Result(
                "parse peak RSS",
                rss,
                "MiB",
                "json.load of the same file",
                loaded["peak_kb"] / 1024,
                higher_is_better=False,
            )
        )
        results.append(
            Result("json.load msg/s (whole file in memory)", loaded["n"] / loaded["s"], "msg/s")
        )
    else:
        results.append(
            Result(
                "parse peak RSS",
                rss,
                "MiB",
                "Python + imports before parsing",
                parsed["base_kb"] / 1024,
                higher_is_better=False,
            )
        )
    rate, n = _scan_rate(work)
    results.append(Result(f"scan msg/s (parse + score + store, {n} messages)", rate, "msg/s"))
    return results
