"""Shared fixtures: each test gets its own data directory and database; media is made here."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import av
import numpy as np
import pytest
from PIL import Image
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.orm import Session

from haechi.config import Settings, load_settings
from haechi.persons.enrol import Consent
from haechi.store.db import Database
from haechi.store.vault import KeyFile, Vault

if TYPE_CHECKING:
    from fake_tsa import FakeTSA

# The public test data, copied into the repository (tests/data/SOURCES.md gives each file's origin
# and licence) so that a clone alone passes the suite; HAECHI_TESTDATA points elsewhere for trials.
TESTDATA = Path(os.environ.get("HAECHI_TESTDATA") or Path(__file__).resolve().parent / "data")
# Tests read English messages whatever the machine's locale; test_i18n asks for Korean itself.
os.environ["HAECHI_LANG"] = "en"
# When set (an admin URL of a PostgreSQL server), every test runs on its own fresh PostgreSQL
# database instead of an SQLite file: the same suite, the other backend.
POSTGRES = os.environ.get("HAECHI_TEST_POSTGRES")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: inspects SQLite files; skipped on PostgreSQL")


# Databases that outlive one test (module-scoped fixtures), keyed by the data directory.
_HOME_DATABASES: dict[Path, str] = {}


def database_for(home: Path) -> str | None:
    """The database URL for a data directory that a module-scoped fixture shares between tests:
    on PostgreSQL a database of its own (a test's own database is dropped when it ends); on
    SQLite None, meaning the file in `home`. `haechi()` passes it to the CLI."""
    if not POSTGRES:
        return None
    if home not in _HOME_DATABASES:
        _HOME_DATABASES[home] = _create_database()
    return _HOME_DATABASES[home]


def _create_database() -> str:
    assert POSTGRES is not None
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    name = f"haechi_test_{uuid.uuid4().hex[:16]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)


def _drop_database(url: str) -> None:
    assert POSTGRES is not None
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    for url in _HOME_DATABASES.values():
        _drop_database(url)


@pytest.fixture(autouse=True)
def _database_per_test(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    if not POSTGRES:
        yield
        return
    if request.node.get_closest_marker("sqlite_only"):
        pytest.skip("inspects SQLite files")
    url = _create_database()
    # The environment reaches settings built in the test and CLI subprocesses alike.
    monkeypatch.setenv("HAECHI_DATABASE_URL", url)
    try:
        yield
    finally:
        _drop_database(url)


def testdata(*parts: str) -> Path:
    path = TESTDATA.joinpath(*parts)
    if not path.exists():  # the data ships with the tests: missing data is a failure, not a skip
        pytest.fail(f"test data missing: {path} (see tests/data/SOURCES.md)")
    return path


# Its name starts with "test": without this, pytest collects it in every module that imports it
# and counts a "test" that checks nothing.
testdata.__test__ = False  # type: ignore[attr-defined]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(home=tmp_path / "home", workers=1)


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings)
    yield database
    database.close()


def noise_image(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A textured picture with structure at several scales, so PDQ has something to hash."""
    rng = np.random.default_rng(seed)
    w, h = size
    small = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
    base = np.asarray(Image.fromarray(small).resize((w, h), Image.Resampling.BICUBIC), np.float32)
    fine = rng.normal(0, 12, (h, w, 3))
    return Image.fromarray(np.clip(base + fine, 0, 255).astype(np.uint8))


def jpeg_bytes(im: Image.Image, quality: int = 90, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality, **kw)
    return buf.getvalue()


def write_video(
    path: Path,
    seconds: float,
    fps: int = 10,
    size: tuple[int, int] = (160, 120),
    scene_seconds: float = 1.0,
) -> None:
    """An H.264 clip whose picture changes every `scene_seconds` (the encoder puts keyframes
    at those cuts)."""
    w, h = size
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        for i in range(int(seconds * fps)):
            rgb = np.asarray(noise_image(int(i / (fps * scene_seconds)), (w, h)))
            for p in s.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


def haechi(
    home: Path, *args: str, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess, as a user would."""
    home_db = _HOME_DATABASES.get(home)
    full_env = {
        **os.environ,
        "COLUMNS": "200",
        **({"HAECHI_DATABASE_URL": home_db} if home_db else {}),
        **(env or {}),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "haechi", "--home", str(home), *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=600,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"haechi {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def run(
    home: Path,
    *args: str,
    check: bool = True,
    env: dict[str, str] | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in this process (Typer's CliRunner around `haechi.cli.main`, so exit
    codes and error messages are the user's), with `haechi()`'s environment: no interpreter to
    start, no imports to repeat. For commands that need no process of their own: `haechi()`
    stays for signals, `--workers` pools watched from outside and a language other than
    English (chosen when haechi is imported)."""
    from typer.testing import CliRunner

    from haechi import cli
    from haechi.cli.app import err, out, state

    home_db = _HOME_DATABASES.get(home)
    full_env = {
        "COLUMNS": "200",
        **({"HAECHI_DATABASE_URL": home_db} if home_db else {}),
        **(env or {}),
    }
    # What one process of its own starts with: no settings or database of the previous run.
    state.close()
    state._settings = None
    out.width = err.width = 200
    umask = os.umask(0o022)
    os.umask(umask)  # main() tightens it; the tests' own files keep theirs
    code = 0
    with CliRunner().isolation(input=input, env=full_env) as streams:
        try:
            cli.main(["--home", str(home), *args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except Exception:  # what the interpreter does with an uncaught one (`--debug`)
            sys.stderr.write(traceback.format_exc())
            sys.stderr.flush()
            code = 1
        finally:
            os.umask(umask)
            state._settings = None
            # What a command wrote straight to sys.stdout (an export) is still in the wrapper's
            # buffer; a process would flush it at exit.
            sys.stdout.flush()
            sys.stderr.flush()
        stdout, stderr = (s.getvalue().decode("utf-8", "replace") for s in streams[:2])
    if check and code != 0:
        raise AssertionError(f"haechi {' '.join(args)} exited {code}\n{stdout}\n{stderr}")
    return subprocess.CompletedProcess(["haechi", *args], code, stdout, stderr)


def enrol_her(home: Path, *, alias: str = "p1", photo: str = "img1.jpg") -> None:
    """Enrol `alias` from one public test photo with her consent, through the CLI as a
    counsellor does (the first step of most walks)."""
    run(home, "enrol", "--alias", alias, "--consent", "yes, by her", str(testdata("faces", photo)))


def short_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    """A command's refusal as `haechi()` or `run()` returns it: one or two lines, no trace,
    naming what it must name."""
    assert proc.returncode not in (0, 1), proc.stderr
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert "Traceback" not in proc.stderr, proc.stderr
    assert 1 <= len(lines) <= 2, proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


# --- evidence: vault and custody log on the test's own database -------------------------------


@pytest.fixture
def data_dir(settings: Settings, db: Database) -> Path:
    """The test's data directory (database already created in it)."""
    return settings.home_dir


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    # Outside the data directory, as a careful deployment keeps it.
    return tmp_path / "keys" / "vault.key"


@pytest.fixture
def vault(data_dir: Path, key_file: Path) -> Vault:
    return Vault.init(data_dir / "vault", KeyFile(key_file), chunk_size=64 * 1024)


@pytest.fixture
def engine(db: Database) -> Engine:
    return db.engine


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as s:
        yield s


@pytest.fixture
def fake_tsa() -> Iterator[tuple[FakeTSA, str]]:
    """A throw-away RFC 3161 TSA served on 127.0.0.1 (tests/fake_tsa.py): the TSA and its URL."""
    from fake_tsa import serving_fake_tsa  # the TSA's ASN.1 stack, only for the tests that ask

    with serving_fake_tsa() as served:
        yield served


def kill_scan_after_batch(home: Path, root: Path, *, workers: int, batch: int) -> None:
    """Run `haechi scan root` in a process of its own that the scan's failpoint kills (SIGKILL,
    as a power cut would) just after its `batch`-th committed batch: a crash mid-way at a point
    that does not depend on the machine's speed."""
    done = haechi(
        home,
        "--workers",
        str(workers),
        "scan",
        "--no-progress",
        str(root),
        env={"HAECHI_FAILPOINT": f"after_batch:{batch}"},
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, f"not killed at the failpoint: {done.stderr}"


def person_consent(scope: str) -> Consent:
    """person_01's consent to `scope`, as the enrolment tests record it."""
    return Consent(
        text="I agree that haechi matches my face in collected material.",
        consented_by="person_01 (test)",
        for_whom="person_01",
        scope=scope,
        verified_how="test fixture",
    )
