"""Modules stay small enough to read in one sitting: each holds one job (issue 14, point 12).
A module that grows past the limit is split by what it does, not trimmed of its comments."""

from __future__ import annotations

from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "haechi"
MAX_LINES = 400

# Over the limit for now, each being changed by another piece of work this hour; the lead
# splits them and shrinks this list. Nothing may be added to it.
ALLOWED = {
    "media/decode.py",
}


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_every_module_is_at_most_400_lines() -> None:
    too_long = {
        str(p.relative_to(SRC)): _lines(p)
        for p in sorted(SRC.rglob("*.py"))
        if str(p.relative_to(SRC)) not in ALLOWED and _lines(p) > MAX_LINES
    }
    assert too_long == {}


def test_the_allow_list_names_only_modules_still_too_long() -> None:
    """An entry whose module has been split (or removed) must leave the list."""
    stale = {
        name for name in ALLOWED if not (SRC / name).exists() or _lines(SRC / name) <= MAX_LINES
    }
    assert stale == set()
