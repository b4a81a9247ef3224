"""PDQ index at scale: exact range search (distance ≤ 31) over N random hashes with planted
near-duplicates: recall, lookups/s, memory, build and load time; against numpy brute force over
the same N and python-threatexchange's PDQIndex (what HMA builds on) over a subset, in one run.

    HAECHI_BENCH_INDEX_N=10000000 (default)   HAECHI_BENCH_INDEX_BASELINE_N=1000000 (default)

Lookups are measured in fresh processes that open the saved index memory-mapped (the load time
is theirs), one process and then two sharing the same mapped files (this machine has 2 cores)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from run import Result  # noqa: E402

N = int(os.environ.get("HAECHI_BENCH_INDEX_N", "10000000"))
BASE_N = min(N, int(os.environ.get("HAECHI_BENCH_INDEX_BASELINE_N", "1000000")))
PLANTED = 10_000  # near-duplicates at distances 0..31, each of a random indexed hash
RANDOM_Q = 10_000  # unrelated queries (nearly all answer nothing, the common case)


def _near(rng: np.random.Generator, rows: np.ndarray, ks: np.ndarray) -> np.ndarray:
    bits = np.unpackbits(rows, axis=1)
    for i, k in enumerate(ks):
        bits[i, rng.choice(256, int(k), replace=False)] ^= 1
    return np.packbits(bits, axis=1)


def _child(folder: str, queries: str, out: str) -> None:
    """Open the index, answer the queries, print figures as JSON (run in a fresh process)."""
    from haechi.matching.pdq_index import PdqIndex

    t = time.perf_counter()
    index = PdqIndex.open(Path(folder))
    load = time.perf_counter() - t
    q = np.load(queries)
    t, cpu = time.perf_counter(), time.process_time()
    hits = index.search(q, 31)
    took, cpu = time.perf_counter() - t, time.process_time() - cpu
    found = [[h.id for h in x] for x in hits]
    Path(out).write_text(json.dumps(found))
    hwm = 0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) // 1024
    print(json.dumps({"load_s": load, "query_s": took, "cpu_s": cpu, "n": len(q), "hwm_mb": hwm}))


def _rss_mb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    return 0


def _run_children(folder: Path, parts: list[Path], tmp: Path) -> tuple[list[dict], list[list]]:
    env = {**os.environ, "PYTHONPATH": str(HERE.parent / "src")}
    procs = []
    for i, qpath in enumerate(parts):
        out = tmp / f"found{i}.json"
        cmd = [sys.executable, __file__, "--child", str(folder), str(qpath), str(out)]
        procs.append((subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env), out))
    stats, found = [], []
    for p, out in procs:
        stdout, _ = p.communicate()
        if p.returncode != 0:
            raise RuntimeError(f"index child failed ({p.returncode})")
        stats.append(json.loads(stdout.strip().splitlines()[-1]))
        found.extend(json.loads(out.read_text()))
    return stats, found


def run(tmp: Path) -> list[Result]:
    from haechi.matching.pdq_index import PdqIndex
    from haechi.matching.pdq_segment import distances

    tmp.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(2024)
    data = rng.integers(0, 256, (N, 32), dtype=np.uint8)
    rows = rng.integers(0, N, PLANTED)
    ks = np.arange(PLANTED) % 32
    q = np.concatenate([_near(rng, data[rows], ks), rng.integers(0, 256, (RANDOM_Q, 32), np.uint8)])
    order = rng.permutation(len(q))  # planted and random queries interleaved
    q = q[order]
    planted_at = {int(np.nonzero(order == i)[0][0]): int(rows[i]) for i in range(PLANTED)}

    t = time.perf_counter()
    index = PdqIndex.bulk(data, np.arange(N, dtype=np.int64))
    build = time.perf_counter() - t
    folder = tmp / "index"
    t = time.perf_counter()
    index.save(folder)
    save = time.perf_counter() - t
    disk_mb = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20
    del index
    print(f"  built {N:,} hashes in {build:.1f} s, saved in {save:.1f} s ({disk_mb:.0f} MB)")

    np.save(tmp / "q.npy", q)
    (one,), found = _run_children(folder, [tmp / "q.npy"], tmp)
    recall = sum(planted_at[i] in found[i] for i in planted_at) / len(planted_at)
    one_rate = one["n"] / one["query_s"]
    half = len(q) // 2
    np.save(tmp / "q0.npy", q[:half])
    np.save(tmp / "q1.npy", q[half:])
    two, found2 = _run_children(folder, [tmp / "q0.npy", tmp / "q1.npy"], tmp)
    two_rate = len(q) / max(s["query_s"] for s in two)
    # Wall-clock rates depend on what else the machine runs (this one is shared); the rate per
    # CPU-second of the lookup processes does not, and two processes on two idle cores add up.
    one_cpu = one["n"] / one["cpu_s"]
    two_cpu = sum(s["n"] / s["cpu_s"] for s in two)
    print(f"  load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    assert found2 == found

    # Exactness: the same answers as brute force over all N, for a sample of queries.
    sample = list(planted_at)[:8] + [i for i in range(len(q)) if i not in planted_at][:4]
    t = time.perf_counter()
    exact = True
    for i in sample:
        d = distances(data, np.broadcast_to(q[i], data.shape))
        exact &= set(np.nonzero(d <= 31)[0].tolist()) == set(found[i])
    brute_rate = len(sample) / (time.perf_counter() - t)
    print(f"  exact against brute force on {len(sample)} queries: {exact}")

    # python-threatexchange's PDQIndex (faiss underneath), on a subset: its build and memory.
    te_rate, te_recall = _threatexchange(data[:BASE_N], q, planted_at, tmp)
    return [
        Result(f"recall of planted matches ≤31 (N={N:,})", recall, "share"),
        Result("exact vs brute force (1 = identical)", float(exact), "bool"),
        Result(
            f"lookups/s, 1 process, N={N:,}", one_rate, "lookups/s", "numpy brute force", brute_rate
        ),
        Result(
            f"lookups/s, 2 processes, N={N:,}",
            two_rate,
            "lookups/s",
            f"threatexchange PDQIndex N={BASE_N:,}",
            te_rate,
        ),
        Result(f"lookups per CPU-second, 1 process, N={N:,}", one_cpu, "lookups/s"),
        Result(f"lookups per CPU-second, 2 processes summed, N={N:,}", two_cpu, "lookups/s"),
        Result("threatexchange PDQIndex recall (its subset)", te_recall, "share"),
        Result("peak RSS of a lookup process", one["hwm_mb"], "MB", higher_is_better=False),
        Result("load time (memory-mapped open)", one["load_s"], "s", higher_is_better=False),
        Result("build time", build, "s", higher_is_better=False),
        Result("index on disk", disk_mb, "MB", higher_is_better=False),
    ]


def _threatexchange(
    data: np.ndarray, q: np.ndarray, planted_at: dict[int, int], tmp: Path
) -> tuple[float, float]:
    try:
        from threatexchange.signal_type.pdq.pdq_index import PDQIndex
    except ImportError:
        print("  threatexchange not installed: no baseline")
        return 0.0, 0.0
    before = _rss_mb()
    t = time.perf_counter()
    te = PDQIndex((bytes(row).hex(), i) for i, row in enumerate(data))
    took = time.perf_counter() - t
    grew = _rss_mb() - before
    print(f"  threatexchange PDQIndex: {len(data):,} hashes built in {took:.1f} s, +{grew} MB RSS")
    sub = [i for i in planted_at if planted_at[i] < len(data)][:300]
    queries = [bytes(q[i]).hex() for i in sub]
    t = time.perf_counter()
    got = [te.query(h) for h in queries]
    rate = len(queries) / (time.perf_counter() - t)
    recall = sum(
        planted_at[i] in {m.metadata for m in g} for i, g in zip(sub, got, strict=True)
    ) / max(1, len(sub))
    return rate, recall


if __name__ == "__main__" and sys.argv[1:2] == ["--child"]:
    _child(*sys.argv[2:5])
