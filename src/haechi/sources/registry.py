"""The one registry of sources, filled from the `haechi.sources` entry-point group.

It opens a path as the source that reads it (or, for a folder that holds exports, as one
source per export plus the folder for the rest), and it reopens a stored source by its kind
and root so evidence capture can read an item's bytes again (`Source.open_locator`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path

from haechi.config import Settings
from haechi.errors import ConfigError, InputError
from haechi.i18n import _
from haechi.sources.base import Source

SourceClass = type[Source]


@dataclass(frozen=True)
class Opened:
    """What a path turned out to hold: the sources to scan, in order, and what to tell the
    person about it ("found 3 Telegram exports in …")."""

    sources: list[Source]
    notes: list[str] = field(default_factory=list)


class SourceRegistry:
    """Source classes by `kind`, filled from the entry-point group `haechi.sources`. `open`
    picks the class for a path: the kind asked for, or the highest-priority class that
    recognises it."""

    def __init__(self) -> None:
        self._classes: dict[str, SourceClass] = {}

    def register(self, cls: SourceClass) -> SourceClass:
        """Add a source class under its `kind`; a second class of one kind is a ConfigError."""
        existing = self._classes.get(cls.kind)
        if existing is not None and existing is not cls:
            raise ConfigError(_("two sources are named {kind!r}").format(kind=cls.kind))
        self._classes[cls.kind] = cls
        return cls

    def kinds(self) -> list[str]:
        """The registered kinds, sorted."""
        return sorted(self._classes)

    def get(self, kind: str) -> SourceClass:
        """The source class of `kind`; an unknown kind is a ConfigError naming the known ones."""
        if kind not in self._classes:
            raise ConfigError(
                _("no source named {kind!r} (known: {kinds})").format(
                    kind=kind, kinds=", ".join(self.kinds())
                )
            )
        return self._classes[kind]

    def open(self, path: Path, settings: Settings, kind: str | None = None) -> Source:
        """The source for `path`: the named kind, or the highest-priority one that recognises it."""
        return self._best(path, kind)(path, settings)

    def _best(
        self, path: Path, kind: str | None, skip: frozenset[str] = frozenset()
    ) -> SourceClass:
        if not path.exists():
            raise InputError(_("{path}: no such file or folder").format(path=path))
        if kind is not None:
            cls = self.get(kind)
            if not cls.scans_paths:
                raise InputError(
                    _("{kind} sources are not scanned from a path").format(kind=repr(kind))
                )
            return cls
        fits = [
            c
            for c in self._classes.values()
            if c.scans_paths and c.kind not in skip and c.recognises(path)
        ]
        if not fits:
            raise InputError(
                _("{path}: not a folder, archive, export or media file haechi can read").format(
                    path=path
                )
            )
        return max(fits, key=lambda c: c.priority)

    def open_all(self, path: Path, settings: Settings, kind: str | None = None) -> Opened:
        """The sources to scan for `path`. A folder that holds sources of another kind (a
        volunteer's collection of Telegram exports) is scanned as each of them, then as a
        folder for whatever lies outside them; a named `kind` is taken as it is."""
        if kind is not None or not path.is_dir():
            return Opened([self.open(path, settings, kind)])
        sources: list[Source] = []
        notes: list[str] = []
        taken: list[Path] = []
        for cls in sorted(self._classes.values(), key=lambda c: (-c.priority, c.kind)):
            if not cls.scans_paths:
                continue
            found = cls.inside(path, settings)
            if not found:
                continue
            if [p for p, _where in found] == [path]:
                return Opened([cls(path, settings)])  # the folder is one such source
            sources.extend(cls(p, settings) for p, _where in found)
            taken.extend(where for _, where in found)
            label = cls.label or cls.kind
            names = ", ".join(_relative(p, path) for p, _where in found)
            plural = "s" if len(found) != 1 else ""
            notes.append(f"found {len(found)} {label}{plural} in {path}: {names}")
        if not sources:
            return Opened([self.open(path, settings)])
        rest = self._best(path, None, skip=frozenset(s.kind for s in sources))
        sources.append(rest(path, settings, skip=taken))
        return Opened(sources, notes)

    def reader(self, kind: str, root: str, settings: Settings) -> Source:
        """A stored source (its kind and root, as the sources table keeps them), reopened to
        read its items' bytes again."""
        return self.get(kind)(Path(root), settings)


def _relative(p: Path, base: Path) -> str:
    try:
        return p.relative_to(base).as_posix() or "."
    except ValueError:
        return str(p)


def _builtin() -> list[SourceClass]:
    from haechi.sources.folder import FolderSource
    from haechi.sources.live import TelegramLiveSource
    from haechi.sources.telegram_export import TelegramExportSource
    from haechi.sources.warc import WarcSource

    return [FolderSource, TelegramExportSource, WarcSource, TelegramLiveSource]


def load_registry() -> SourceRegistry:
    """haechi's own sources (also declared as entry points) and every plug-in. The built-ins
    are registered directly too: an install whose entry-point metadata predates a source (an
    editable install) must still read back the items that source stored."""
    registry = SourceRegistry()
    for ep in entry_points(group="haechi.sources"):
        try:
            registry.register(ep.load())
        except Exception as exc:
            raise ConfigError(
                _("source plug-in {name!r} failed to load: {exc}").format(name=ep.name, exc=exc)
            ) from exc
    for cls in _builtin():
        if cls.kind not in registry.kinds():
            registry.register(cls)
    return registry
