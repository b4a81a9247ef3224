"""Ctrl-C during a capture: stop fetching, keep what was fetched, never cut a WARC record."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any


class Interrupts:
    """Ctrl-C stops fetching but never cuts a WARC record in half: while a record is written
    SIGINT is held and raised after it. Once the capture is stopping (the WARC being closed
    with what was fetched) a further Ctrl-C is ignored: closing takes milliseconds, and the
    fetched page is what the person wants kept. Only the main thread can take signals."""

    def __init__(self) -> None:
        self._writing = 0
        self._pending = False
        self.stopping = False
        self._installed = False
        self._previous: Any = None

    def __enter__(self) -> Interrupts:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.stopping:
            return
        if self._writing:
            self._pending = True
            return
        raise KeyboardInterrupt

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold off Ctrl-C while a WARC record is written: a press meanwhile is raised as
        KeyboardInterrupt once the outermost such block ends, so no record is cut."""
        self._writing += 1
        try:
            yield
        finally:
            self._writing -= 1
        if not self._writing and self._pending and not self.stopping:
            self._pending = False
            raise KeyboardInterrupt
