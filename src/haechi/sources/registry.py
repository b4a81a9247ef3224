"""The one registry of sources, filled from the `haechi.sources` entry-point group."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

from haechi.config import Settings
from haechi.errors import ConfigError, InputError
from haechi.sources.base import Source

SourceClass = type[Source]


class SourceRegistry:
    def __init__(self) -> None:
        self._classes: dict[str, SourceClass] = {}

    def register(self, cls: SourceClass) -> SourceClass:
        existing = self._classes.get(cls.kind)
        if existing is not None and existing is not cls:
            raise ConfigError(f"two sources are named {cls.kind!r}")
        self._classes[cls.kind] = cls
        return cls

    def kinds(self) -> list[str]:
        return sorted(self._classes)

    def open(self, path: Path, settings: Settings, kind: str | None = None) -> Source:
        """The source for `path`: the named kind, or the highest-priority one that recognises it."""
        if not path.exists():
            raise InputError(f"{path}: no such file or folder")
        if kind is not None:
            if kind not in self._classes:
                raise ConfigError(f"no source named {kind!r} (known: {', '.join(self.kinds())})")
            return self._classes[kind](path, settings)
        fits = [c for c in self._classes.values() if c.recognises(path)]
        if not fits:
            raise InputError(f"{path}: not a folder, archive or export haechi can read")
        best = max(fits, key=lambda c: c.priority)
        return best(path, settings)


def load_registry() -> SourceRegistry:
    registry = SourceRegistry()
    for ep in entry_points(group="haechi.sources"):
        try:
            registry.register(ep.load())
        except Exception as exc:
            raise ConfigError(f"source plug-in {ep.name!r} failed to load: {exc}") from exc
    return registry
