"""What a worker process does with one file: hash it, and unless the item is already fully
analysed, decode it and run every media analyzer. Workers never touch the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from haechi.analyzers.base import ContentAnalyzer, MediaAnalyzer
from haechi.analyzers.hashes import Hashes, HashesAnalyzer
from haechi.analyzers.registry import enabled_analyzers
from haechi.config import Settings
from haechi.errors import HaechiError
from haechi.media import Content
from haechi.media.content import read_head
from haechi.media.sniff import other_kind
from haechi.scan.finished import FinishedItems


@dataclass(frozen=True)
class MediaInfo:
    """What decoding made of a file, for its items row; the sizes and duration are None for
    audio and documents, which are never decoded."""

    kind: str  # image, video, audio, document
    format: str
    width: int | None
    height: int | None
    duration: float | None
    notes: tuple[str, ...]


@dataclass(frozen=True)
class StoredSignal:
    """One analyzer's result as the writer stores it: its payload under the analyzer's name and
    version."""

    analyzer: str
    version: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class WorkResult:
    """Everything a worker sends back for one file. `hashes` None: the file could not be read
    (or the worker failed); `already_complete`: the item had every analyzer's result, so only
    the hashes were computed."""

    hashes: Hashes | None
    media: MediaInfo | None = None
    signals: tuple[StoredSignal, ...] = ()
    # (stage, reason): stage is "read", "decode" or an analyzer's name.
    errors: tuple[tuple[str, str], ...] = ()
    already_complete: bool = False


@dataclass
class Worker:
    """Analyzers are built once per process: models load once, not once per file."""

    settings: Settings
    complete: FinishedItems = field(default_factory=FinishedItems.empty)

    def __post_init__(self) -> None:
        self.hasher = HashesAnalyzer(self.settings)
        self.content_analyzers: list[ContentAnalyzer[Any]] = []
        self.media_analyzers: list[MediaAnalyzer[Any]] = []
        for cls in enabled_analyzers(self.settings):
            if cls is HashesAnalyzer:
                continue
            if issubclass(cls, MediaAnalyzer):
                self.media_analyzers.append(cls(self.settings))
            elif issubclass(cls, ContentAnalyzer):
                self.content_analyzers.append(cls(self.settings))

    def warm(self) -> None:
        """Load every model now rather than on the first file."""
        for ca in self.content_analyzers:
            ca.warm()
        for ma in self.media_analyzers:
            ma.warm()

    def run(self, content: Content) -> WorkResult:
        """Hash, sniff, decode and analyse one file. A read, decode or analyzer failure becomes
        an entry in `errors`; one analyzer's failure does not stop the others."""
        try:
            hashes = self.hasher.analyze(content)
        except (HaechiError, OSError) as exc:
            return WorkResult(hashes=None, errors=(("read", _reason(exc)),))
        signals = [StoredSignal(self.hasher.name, self.hasher.version, hashes.to_payload())]
        if hashes.sha256 in self.complete:
            return WorkResult(hashes=hashes, signals=tuple(signals), already_complete=True)
        errors: list[tuple[str, str]] = []
        for ca in self.content_analyzers:
            try:
                signals.append(StoredSignal(ca.name, ca.version, ca.analyze(content).to_payload()))
            except Exception as exc:  # one analyzer's failure must not lose the others' work
                errors.append((ca.name, _reason(exc)))
        try:
            other = other_kind(read_head(content, 512), Path(content.name).suffix.lower())
        except (HaechiError, OSError) as exc:
            return WorkResult(hashes, None, tuple(signals), (*errors, ("read", _reason(exc))))
        if other is not None:
            # Voice, music, stickers, SVG, documents: hashed and sighted, never decoded or
            # rendered (an SVG can reference outside resources). Not an error.
            info = MediaInfo(other.kind, other.format, None, None, None, ())
            return WorkResult(hashes, info, tuple(signals), tuple(errors))
        from haechi.media import decode_media  # the decoders load in workers, not the parent

        try:
            media = decode_media(content, self.settings.limits)
        except HaechiError as exc:
            reason = exc.reason if hasattr(exc, "reason") else str(exc)
            return WorkResult(hashes, None, tuple(signals), (*errors, ("decode", reason)))
        except Exception as exc:  # a decoder bug on hostile input is still that file's error
            return WorkResult(hashes, None, tuple(signals), (*errors, ("decode", _reason(exc))))
        info = MediaInfo(
            media.kind, media.format, media.width, media.height, media.duration, media.notes
        )
        for ma in self.media_analyzers:
            if media.kind not in ma.kinds:
                continue
            try:
                signals.append(StoredSignal(ma.name, ma.version, ma.analyze(media).to_payload()))
            except Exception as exc:
                errors.append((ma.name, _reason(exc)))
        return WorkResult(hashes, info, tuple(signals), tuple(errors))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


_worker: Worker | None = None
_complete_file: Path | None = None  # where the parent writes the finished items (haechi.scan.pool)


def init_process(settings: Settings, complete_file: Path | None = None) -> None:
    """A worker process's start: build the analyzers and load their models now, while the
    parent is still opening the database."""
    global _worker, _complete_file
    _worker = Worker(settings)
    _worker.warm()
    _complete_file = complete_file


def run_in_process(content: Content) -> WorkResult:
    """One file in a worker process set up by init_process; on the first file, reads the
    finished items the parent wrote, so those are only hashed."""
    global _complete_file
    assert _worker is not None, "init_process was not called in this worker"
    if _complete_file is not None:
        # Written before the parent hands out the first file; mapped, not copied.
        _worker.complete = FinishedItems.load(_complete_file)
        _complete_file = None
    return _worker.run(content)
