"""A plain `pip install .` into a clean virtual environment gives a haechi that works: the
doctor passes and a face photo gets a `faces` signal (no dev or demo extra needed)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from conftest import testdata

ROOT = Path(__file__).resolve().parents[1]


def _copy_tracked(dest: Path) -> None:
    # Build from the files git tracks, so the check sees what a clone has (and the build leaves
    # nothing in the working tree).
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    for name in filter(None, files):
        rel = Path(os.fsdecode(name))
        if rel.parts[0] in ("tests", "benchmarks", "docs"):
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, dest / rel)


@pytest.mark.slow
@pytest.mark.sqlite_only
def test_plain_pip_install_scans_faces(tmp_path: Path) -> None:
    src = tmp_path / "src"
    _copy_tracked(src)
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", str(src)], check=True, env=env, timeout=1200
    )
    haechi = [str(env_dir / "bin" / "haechi"), "--home", str(tmp_path / "home")]
    doctor = subprocess.run([*haechi, "doctor"], capture_output=True, text=True, env=env)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    photo = tmp_path / "in" / "face.jpg"
    photo.parent.mkdir()
    shutil.copy(testdata("faces", "img1.jpg"), photo)
    scan = subprocess.run(
        [*haechi, "scan", str(photo.parent), "--json"], capture_output=True, text=True, env=env
    )
    assert scan.returncode == 0, scan.stderr
    (line,) = [json.loads(x) for x in scan.stdout.splitlines() if x.startswith("{")]
    assert line["error"] is None, line
    assert line["faces"] and line["faces"]["count"] >= 1, line["faces"]
    assert sys.executable != str(py)  # the check ran in the new environment, not this one
