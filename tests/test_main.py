"""The console entry point guesses, before the CLI loads, whether it runs a scan with worker
processes, to start their fork server at once. A wrong guess may only cost time."""

from __future__ import annotations

import pytest

from haechi.__main__ import _scan_workers


@pytest.mark.parametrize(
    ("args", "workers"),
    [
        (["scan", "photos"], 4),
        (["--home", "scan", "scan", "photos"], 4),  # a data directory named "scan"
        (["--workers", "1", "scan", "photos"], 1),
        (["--workers=3", "--debug", "scan", "photos"], 3),
        (["persons", "list"], 0),
        (["--home", "/data", "evidence", "scan"], 0),
        (["--version"], 0),
        ([], 0),
    ],
)
def test_the_entry_point_guesses_a_scan_and_its_workers(
    args: list[str], workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HAECHI_WORKERS", "4")
    assert _scan_workers(args) == workers


def test_without_a_setting_a_scan_uses_every_core(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HAECHI_WORKERS", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 6)
    assert _scan_workers(["scan", "x"]) == 6
