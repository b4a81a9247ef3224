"""The one registry of analyzers. Built-ins are registered through the same entry-point group
(`haechi.analyzers`) a third-party plug-in uses."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from importlib.metadata import entry_points
from typing import Any

from haechi.analyzers.base import Analyzer
from haechi.errors import ConfigError

AnalyzerClass = type[Analyzer[Any, Any]]


class AnalyzerRegistry:
    def __init__(self) -> None:
        self._classes: dict[str, AnalyzerClass] = {}

    def register(self, cls: AnalyzerClass) -> AnalyzerClass:
        existing = self._classes.get(cls.name)
        if existing is not None and existing is not cls:
            raise ConfigError(
                f"two analyzers are named {cls.name!r}: {existing.__module__} and {cls.__module__}"
            )
        self._classes[cls.name] = cls
        return cls

    def get(self, name: str) -> AnalyzerClass:
        try:
            return self._classes[name]
        except KeyError:
            raise ConfigError(
                f"no analyzer named {name!r} (known: {', '.join(sorted(self._classes))})"
            ) from None

    def names(self) -> list[str]:
        return sorted(self._classes)

    def __iter__(self) -> Iterator[AnalyzerClass]:
        return iter(self._classes[n] for n in self.names())


def load_registry(group: str = "haechi.analyzers") -> AnalyzerRegistry:
    """Media and content analyzers (`haechi.analyzers`), or text analyzers that read chat
    messages (`haechi.text_analyzers`)."""
    registry = AnalyzerRegistry()
    for ep in entry_points(group=group):
        try:
            cls = ep.load()
        except Exception as exc:  # a broken plug-in must not hide the built-ins
            raise ConfigError(f"analyzer plug-in {ep.name!r} failed to load: {exc}") from exc
        registry.register(cls)
    return registry


@functools.cache
def default_registry() -> AnalyzerRegistry:
    """The installed analyzers, loaded once per process (entry-point lookup is not free)."""
    return load_registry()
