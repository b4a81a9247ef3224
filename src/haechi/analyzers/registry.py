"""The one registry of analyzers. Built-ins are registered through the same entry-point group
(`haechi.analyzers`) a third-party plug-in uses."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from importlib.metadata import entry_points
from typing import Any

from haechi.analyzers.base import Analyzer
from haechi.config import Settings
from haechi.errors import ConfigError
from haechi.i18n import _

AnalyzerClass = type[Analyzer[Any, Any]]


class AnalyzerRegistry:
    """Analyzer classes by `name`, iterated in name order. `load_registry` fills one from an
    entry-point group; two classes under one name are a configuration error."""

    def __init__(self) -> None:
        self._classes: dict[str, AnalyzerClass] = {}

    def register(self, cls: AnalyzerClass) -> AnalyzerClass:
        """Add an analyzer class under its `name`; a second class of one name is a ConfigError."""
        existing = self._classes.get(cls.name)
        if existing is not None and existing is not cls:
            raise ConfigError(
                _("two analyzers are named {name!r}: {first} and {second}").format(
                    name=cls.name, first=existing.__module__, second=cls.__module__
                )
            )
        self._classes[cls.name] = cls
        return cls

    def get(self, name: str) -> AnalyzerClass:
        """The analyzer class named `name`; an unknown name is a ConfigError naming the known."""
        try:
            return self._classes[name]
        except KeyError:
            raise ConfigError(
                _("no analyzer named {name!r} (known: {classes})").format(
                    name=name, classes=", ".join(sorted(self._classes))
                )
            ) from None

    def names(self) -> list[str]:
        """The registered names, sorted."""
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
            raise ConfigError(
                _("analyzer plug-in {name!r} failed to load: {exc}").format(name=ep.name, exc=exc)
            ) from exc
        registry.register(cls)
    return registry


@functools.cache
def default_registry() -> AnalyzerRegistry:
    """The installed analyzers, loaded once per process (entry-point lookup is not free)."""
    return load_registry()


def enabled_analyzers(settings: Settings | None = None) -> list[AnalyzerClass]:
    """The file analyzers a scan runs: every installed one, or those named in the `analyzers`
    setting (hashes always: they are the item's identity)."""
    from haechi.analyzers.base import ContentAnalyzer, MediaAnalyzer

    registry = default_registry()
    chosen: list[AnalyzerClass] = [
        c for c in registry if issubclass(c, ContentAnalyzer | MediaAnalyzer)
    ]
    wanted = settings.analyzers if settings is not None else None
    if wanted is None:
        return chosen
    known = {c.name for c in chosen}
    unknown = sorted(set(wanted) - known)
    if unknown:
        raise ConfigError(
            _("analyzers: no analyzer named {unknown} (known: {known})").format(
                unknown=", ".join(unknown), known=", ".join(sorted(known))
            )
        )
    return [c for c in chosen if c.name in wanted or c.name == "hashes"]
