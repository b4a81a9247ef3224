from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from haechi.config import load_settings
from haechi.errors import ConfigError


@pytest.mark.sqlite_only
def test_defaults_put_everything_in_the_data_directory(tmp_path: Path) -> None:
    s = load_settings(home=tmp_path / "d")
    assert s.db_url == f"sqlite:///{tmp_path / 'd' / 'haechi.db'}"
    assert s.thresholds.pdq_max_distance == 31
    assert s.thresholds.pdq_min_quality == 50


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HAECHI_HOME", str(tmp_path / "env-home"))
    monkeypatch.setenv("HAECHI_LIMITS__MAX_PIXELS", "1000")
    s = load_settings()
    assert s.home_dir == (tmp_path / "env-home").resolve()
    assert s.limits.max_pixels == 1000


@pytest.mark.parametrize(
    ("env", "value", "fragment"),
    [
        ("HAECHI_THRESHOLDS__PDQ_MAX_DISTANCE", "200", "thresholds.pdq_max_distance"),
        ("HAECHI_LIMITS__MAX_PIXELS", "0", "limits.max_pixels"),
        ("HAECHI_LIMITS__MAX_PIXELS", "many", "limits.max_pixels"),
        ("HAECHI_DATABASE_URL", "mysql://x", "database_url"),
        ("HAECHI_HOME", "/", "home must not be the filesystem root"),
    ],
)
def test_unsafe_values_are_refused_with_the_setting_named(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, fragment: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError, match=fragment.replace(".", r"\.")):
        load_settings()


def test_importing_the_cli_builds_no_settings_and_writes_nothing(tmp_path: Path) -> None:
    code = "import haechi.cli, haechi.scan, haechi.store.db"
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True)
    assert list(tmp_path.iterdir()) == []
