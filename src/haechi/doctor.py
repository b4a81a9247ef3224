"""`haechi doctor`: every dependency and model loads offline, and the data directory is sound."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

from haechi.analyzers.registry import load_registry as load_analyzers
from haechi.config import Settings
from haechi.sources.registry import load_registry as load_sources


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def run_checks(settings: Settings) -> Iterator[Check]:
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
    if os.environ.get("HTTP_PROXY") or os.environ.get("HTTPS_PROXY"):
        yield Check("network", True, "a proxy is set; analysis never uses the network anyway")
