"""Web accounts for `haechi demo`: a counsellor, an investigator and a victim account for the
demo person, with a case opened for her. Passwords are random, made once, and kept in a 0600
file in the demo's data directory so that a second run can show them again (the database
holds only their hashes)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from haechi.config import Settings
from haechi.private import create_private
from haechi.services.cases import list_cases, open_case
from haechi.services.users import add_user, list_users
from haechi.store.db import Database

ACCOUNTS = (
    ("demo-counsellor", "counsellor"),
    ("demo-investigator", "investigator"),
    ("demo-victim", "victim"),
)
FILE = "demo-accounts.txt"


def demo_accounts(db: Database, settings: Settings, person: str) -> list[tuple[str, str, str]]:
    """(name, role, password) for each demo account, creating what is missing."""
    path = settings.home_dir / FILE
    known = _read(path)
    existing = {u.name for u in list_users(db)}
    if not any(c.person == person for c in list_cases(db)):
        open_case(db, "haechi demo", person=person, title="demo case")
    out = []
    for name, role in ACCOUNTS:
        if name not in existing:
            password = secrets.token_urlsafe(12)
            add_user(db, name, role, password, person=person if role == "victim" else None)
            known[name] = password
        out.append((name, role, known.get(name, "(set before; see `haechi users`)")))
    _write(path, known)
    return out


def _read(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    pairs = (line.split(" ", 1) for line in path.read_text("utf-8").splitlines() if " " in line)
    return {k: v for k, v in pairs}


def _write(path: Path, known: dict[str, str]) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    tmp.unlink(missing_ok=True)
    fd = create_private(tmp)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.writelines(f"{k} {v}\n" for k, v in sorted(known.items()))
    tmp.replace(path)
