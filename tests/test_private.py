"""Everything haechi writes is private to the user who runs it, whatever umask the caller has:
the data directory, the database and its log, face templates, captured WARCs, the vault and its
key, and an evidence export. A data directory left open to other users is reported."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import jpeg_bytes, noise_image, run, testdata

pytestmark = [
    pytest.mark.skipif(os.name != "posix", reason="POSIX modes"),
    pytest.mark.sqlite_only,
]


def _haechi_umask022(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real CLI started the way a login shell with the common umask 022 would start it."""
    env = {**os.environ, "COLUMNS": "200", "HAECHI_CAPTURE__ALLOW_PRIVATE": "true"}
    proc = subprocess.run(
        [sys.executable, "-m", "haechi", "--home", str(home), "--workers", "1", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        preexec_fn=lambda: os.umask(0o022),
    )
    assert proc.returncode == 0, f"haechi {args} exited {proc.returncode}\n{proc.stderr}"
    return proc


def _open_to_others(root: Path) -> list[str]:
    found = []
    for p in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(p.lstat().st_mode)
        if mode & 0o077:
            found.append(f"{p.relative_to(root.parent)} {mode:04o}")
    return found


@pytest.fixture
def page_server(tmp_path: Path) -> Iterator[str]:
    picture = jpeg_bytes(noise_image(8))
    page = b'<html><body><img src="/a.jpg"></body></html>'

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body, ctype = (page, "text/html") if self.path == "/" else (picture, "image/jpeg")
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_nothing_written_is_readable_by_other_users(tmp_path: Path, page_server: str) -> None:
    home = tmp_path / "data"
    corpus = tmp_path / "collected"
    corpus.mkdir()
    shutil.copy(testdata("faces") / "img10.jpg", corpus / "a.jpg")
    (corpus / "b.jpg").write_bytes(jpeg_bytes(noise_image(3)))
    _haechi_umask022(home, "init")
    consent = ["--consent", "I agree (test)", "--consent-by", "person_01", "--scope", "faces"]
    _haechi_umask022(home, "enrol", "--alias", "p", *consent, str(testdata("faces") / "img1.jpg"))
    scanned = _haechi_umask022(home, "scan", str(corpus), "--json", "--no-progress").stdout
    items = [json.loads(x)["sha256"] for x in scanned.splitlines()]
    _haechi_umask022(home, "capture", page_server)
    _haechi_umask022(home, "evidence", "capture", *items)
    export = tmp_path / "export"
    _haechi_umask022(home, "evidence", "export", *items, "--to", str(export), "--plain-media")

    written = {p.name for p in home.rglob("*")}
    assert {"haechi.db", "vault.key", "face-templates.faiss"} <= written
    assert any(n.endswith(".warc.gz") for n in written) and any(n.endswith(".enc") for n in written)
    assert any((export / "media").iterdir())
    assert _open_to_others(home) == []
    assert _open_to_others(export) == []


def test_an_open_data_directory_is_reported(tmp_path: Path) -> None:
    home = tmp_path / "data"
    run(home, "init")
    home.chmod(0o755)
    (home / "haechi.db").chmod(0o644)
    proc = run(home, "items")
    assert "can be read by other users" in proc.stderr
    assert f"chmod -R go-rwx '{home.resolve()}'" in proc.stderr
    doctor = run(home, "doctor", check=False)
    assert doctor.returncode != 0
    assert "FAIL  data directory privacy" in doctor.stdout
    assert "haechi.db" in doctor.stdout
    subprocess.run(["chmod", "-R", "go-rwx", str(home)], check=True)
    assert "can be read by other users" not in run(home, "items").stderr
