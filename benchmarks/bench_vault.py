"""Vault throughput: storing (hash, encrypt, fsync) and reading back (decrypt, authenticate,
hash) a large random file, against a plain SHA-256 read of the same file in the same run."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from run import Result

from haechi.store.vault import KeyFile, Vault

SIZE_MB = int(os.environ.get("HAECHI_BENCH_VAULT_MB", "100"))


def _best(fn: object, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return min(times)


def run(tmp: Path) -> list[Result]:
    tmp.mkdir(parents=True)
    src = tmp / "video.bin"
    with src.open("wb") as fh:
        for _ in range(SIZE_MB):
            fh.write(os.urandom(1_000_000))
    n = src.stat().st_size
    vault = Vault.init(tmp / "vault", KeyFile(tmp / "keys" / "vault.key"))

    def sha_read() -> None:
        h = hashlib.sha256()
        with src.open("rb") as fh:
            while b := fh.read(1 << 20):
                h.update(b)

    def put() -> None:
        for sha in list(vault.iter_blobs()):
            vault.delete(sha)
        vault.put_file(src)

    def get() -> None:
        (sha,) = list(vault.iter_blobs())
        with vault.open_blob(sha) as r:
            for _ in r:
                pass
        assert r.verified

    base = n / _best(sha_read) / 1e6
    put_mbps = n / _best(put) / 1e6
    get_mbps = n / _best(get) / 1e6
    return [
        Result(
            f"vault put_file {SIZE_MB} MB (encrypt+fsync)", put_mbps, "MB/s", "sha256 read", base
        ),
        Result(f"vault read {SIZE_MB} MB (decrypt+verify)", get_mbps, "MB/s", "sha256 read", base),
    ]
