"""`haechi doctor`: every dependency and model loads offline, and the data directory is sound."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

from haechi.analyzers.registry import load_registry as load_analyzers
from haechi.config import Settings
from haechi.private import exposed
from haechi.sources.registry import load_registry as load_sources


@dataclass(frozen=True)
class Check:
    """One line of `haechi doctor`: what was checked, whether it passed, and the detail or the
    fix."""

    name: str
    ok: bool
    detail: str


def run_checks(settings: Settings) -> Iterator[Check]:
    """Every check in order, each as soon as it is done: libraries, video codecs, every analyzer
    against its known examples, sources, the data directory (writable, private), the database and
    the vault. A failing check is reported, never raised; an unwritable data directory ends the
    checks."""
    for module in (
        "pdqhash",
        "av",
        "PIL",
        "pillow_heif",
        "sqlalchemy",
        "alembic",
        "warcio",
        "httpx",
        "telethon",
    ):
        try:
            mod = importlib.import_module(module)
            yield Check(f"import {module}", True, str(getattr(mod, "__version__", "loaded")))
        except Exception as exc:
            yield Check(f"import {module}", False, str(exc))
    try:
        import av

        have = [c for c in ("h264", "hevc", "vp9", "mpeg4", "av1") if c in av.codecs_available]
        yield Check("video codecs", "h264" in have, ", ".join(have))
    except Exception as exc:
        yield Check("video codecs", False, str(exc))
    try:
        registry = load_analyzers()
        for cls in registry:
            analyzer = cls(settings)
            bad = [
                ex
                for ex in cls.examples()
                if not cls.matches_example(analyzer.analyze(ex.input), ex.expected)
            ]
            n = len(list(cls.examples()))
            yield Check(
                f"analyzer {cls.name} v{cls.version}",
                not bad,
                f"{n - len(bad)}/{n} known examples reproduced",
            )
    except Exception as exc:
        yield Check("analyzers", False, str(exc))
    try:
        yield Check("sources", True, ", ".join(load_sources().kinds()))
    except Exception as exc:
        yield Check("sources", False, str(exc))
    home = settings.home_dir
    try:
        home.mkdir(parents=True, exist_ok=True)
        probe = home / ".doctor-probe"
        probe.write_bytes(b"ok")
        probe.unlink()
        yield Check("data directory", True, f"{home} is writable")
    except OSError as exc:
        yield Check("data directory", False, f"{home}: {exc.strerror or exc}")
        return
    yield _privacy(settings)
    try:
        from sqlalchemy import text

        from haechi.store.db import Database

        db = Database(settings)
        with db.session() as s:
            s.execute(text("SELECT 1"))
        db.close()
        yield Check("database", True, "opened and migrated")
    except Exception as exc:
        yield Check("database", False, str(exc))
    yield _vault(settings)
    if os.environ.get("HTTP_PROXY") or os.environ.get("HTTPS_PROXY"):
        yield Check("network", True, "a proxy is set; analysis never uses the network anyway")


def _privacy(settings: Settings) -> Check:
    """Every file and folder in the data directory is closed to other users."""
    home = settings.home_dir
    found = list(exposed(home, deep=True))
    if not found:
        return Check("data directory privacy", True, f"only the owner can read {home}")
    names = ", ".join(str(p) for p in found[:5]) + (
        f" and {len(found) - 5} more" if len(found) > 5 else ""
    )
    return Check(
        "data directory privacy",
        False,
        f"other users of this machine can read {names}; fix it with: chmod -R go-rwx '{home}'",
    )


def _vault(settings: Settings) -> Check:
    """The evidence vault opens with the configured key: a wrong or missing key file would
    otherwise show only when evidence is needed."""
    from haechi.errors import HaechiError
    from haechi.evidence.context import open_vault, vault_exists

    if not vault_exists(settings):
        return Check("evidence vault", True, f"none yet in {settings.vault_dir}")
    try:
        open_vault(settings)
    except HaechiError as exc:
        return Check("evidence vault", False, str(exc))
    return Check("evidence vault", True, f"{settings.vault_dir} opens with its key")
