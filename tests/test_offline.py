"""A scan never calls the network and leaves nothing outside the data directory: watched from
outside with strace, over a scan long enough for onnxruntime's delayed usage upload (~10 s into
a scan before haechi turned it off) to have happened."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import jpeg_bytes, noise_image, testdata

STRACE = shutil.which("strace")
SCAN_SECONDS = 20
# What the syscalls name as their peer: connect's address; sendto's and sendmsg's explicit
# destination (NULL or msg_name=NULL means the connected peer, which connect showed).
_INET = re.compile(
    r"sa_family=(?P<family>AF_INET6?), sin6?_port=htons\((?P<port>\d+)\),"
    r".*?(?:inet_addr|inet_pton\(AF_INET6?, )\(?\"(?P<addr>[^\"]+)\""
)


def _with_comment(jpeg: bytes, note: str) -> bytes:
    """The same picture with other bytes (a JPEG comment): a new item that the workers analyse
    in full, for the cost of writing a file."""
    com = note.encode()
    return jpeg[:2] + b"\xff\xfe" + struct.pack(">H", len(com) + 2) + com + jpeg[2:]


def _corpus(root: Path, files: int) -> None:
    root.mkdir()
    pictures = [jpeg_bytes(noise_image(seed, (1024, 768))) for seed in range(20)]
    for i in range(files):
        data = _with_comment(pictures[i % len(pictures)], f"copy {i}")
        (root / f"n{i:04}.jpg").write_bytes(data)
    # Real faces, so that the recognition network runs as well as the detector.
    for name in ("img1.jpg", "img12.jpg"):
        shutil.copy(testdata("faces", name), root / name)


def remote_calls(trace: str) -> list[str]:
    """The strace lines that reach past this machine: an AF_INET/AF_INET6 peer that is not
    loopback, or any DNS query (port 53), loopback included (a local resolver forwards it)."""
    return [line for line in trace.splitlines() if "AF_INET" in line and not _local(line)]


def _local(line: str) -> bool:
    peers = list(_INET.finditer(line))
    if not peers:
        return False  # an internet address in a shape this cannot read: reported, not guessed
    for m in peers:
        addr = ipaddress.ip_address(m["addr"].split("%")[0])
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        if not addr.is_loopback or m["port"] == "53":
            return False
    return True


def _inet(port: int, addr: str) -> str:
    return f'{{sa_family=AF_INET, sin_port=htons({port}), sin_addr=inet_addr("{addr}")}}'


def _inet6(port: int, addr: str) -> str:
    return (
        f"{{sa_family=AF_INET6, sin6_port=htons({port}), sin6_flowinfo=htonl(0), "
        f'inet_pton(AF_INET6, "{addr}", &sin6_addr), sin6_scope_id=0}}'
    )


@pytest.mark.parametrize(
    ("line", "remote"),
    [
        ('7 connect(3, {sa_family=AF_UNIX, sun_path="/tmp/pymp-x/listener"}, 39) = 0', False),
        (f"7 connect(16, {_inet(53, '10.255.255.53')}, 16) = 0", True),
        (f"7 connect(4, {_inet(5432, '127.0.0.1')}, 16) = 0", False),
        (f"7 connect(4, {_inet(53, '127.0.0.53')}, 16) = 0", True),
        (f"7 connect(5, {_inet6(443, '2001:db8::1')}, 28 <unfinished ...>", True),
        (f"7 connect(5, {_inet6(8080, '::1')}, 28) = 0", False),
        (f"7 connect(5, {_inet6(8080, '::ffff:127.0.0.1')}, 28) = 0", False),
        ('7 sendto(16, "\\362E\\1\\0"..., 50, MSG_NOSIGNAL, NULL, 0) = 50', False),
        (f'7 sendto(6, "x", 1, 0, {_inet(443, "20.42.65.92")}, 16) = 1', True),
        (f"7 sendmmsg(6, [{{msg_hdr={{msg_name={_inet(53, '1.1.1.1')}, msg_namelen=16", True),
        ("7 connect(6, {sa_family=AF_INET, sa_data=...}, 16) = 0", True),
    ],
)
def test_remote_calls_reads_strace_lines(line: str, remote: bool) -> None:
    assert remote_calls(line) == ([line] if remote else [])


@pytest.mark.slow
@pytest.mark.sqlite_only  # the database plays no part: once, on SQLite, is enough
def test_a_scan_calls_no_one_and_leaves_nothing_in_home(tmp_path: Path) -> None:
    if STRACE is None:
        if os.environ.get("CI"):
            pytest.fail("strace is missing: `make sysdeps` installs it")
        pytest.skip("strace is not installed (`make sysdeps` installs it)")
    root = tmp_path / "corpus"
    _corpus(root, files=1000)
    home = tmp_path / "user"  # the user's home: caches land in ~/.cache
    home.mkdir()
    trace = tmp_path / "strace.txt"
    # The environment says nothing about telemetry: haechi must turn it off by itself, even
    # against a user's ORT_DISABLE_TELEMETRY=0.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HAECHI_", "XDG_"))}
    env.update(HOME=str(home), ORT_DISABLE_TELEMETRY="0", COLUMNS="200")
    cmd = [STRACE, "-f", "-qq", "--seccomp-bpf", "-e", "signal=none", "-o", str(trace)]
    cmd += ["-e", "trace=connect,sendto,sendmsg,sendmmsg"]
    cmd += [sys.executable, "-m", "haechi", "--home", str(tmp_path / "data"), "--workers", "2"]
    started = time.monotonic()
    scan = [*cmd, "scan", str(root), "--json", "--no-progress"]
    proc = subprocess.run(scan, capture_output=True, text=True, env=env)
    seconds = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # Every file analysed in full, faces recognised: the workers and their models really ran.
    by_name = {Path(x["path"]).name: x for x in map(json.loads, proc.stdout.splitlines())}
    assert len(by_name) == 1002 and not [x for x in by_name.values() if x["error"]]
    assert by_name["img1.jpg"]["faces"]["found"][0]["usable"]
    bad = remote_calls(trace.read_text(errors="replace"))
    assert not bad, "the scan reached the network:\n" + "\n".join(bad)
    assert not (home / ".cache" / "Microsoft").exists()  # onnxruntime's device id, event queue
    assert sorted(p.name for p in home.iterdir()) == [".cache"]
    assert [p.name for p in (home / ".cache").iterdir()] == ["haechi"]  # its model cache
    assert seconds >= SCAN_SECONDS, (
        f"the scan took {seconds:.0f} s: too short to catch a delayed upload; give it more files"
    )
