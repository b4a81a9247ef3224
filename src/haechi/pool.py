"""The scan's worker processes: started in the background before the database is open,
handed the set of finished items once it is known, and replaced when a file hangs or kills
its worker.

Workers are forks of one server process (multiprocessing's 'forkserver') that imported the
libraries and loaded the bundled models once (haechi.preload): one process pays the ~0.5 s of
start-up per worker that 'spawn' paid in each, while the parent opens the database on the
other core. The server holds no database connection and no thread of ours, unlike the parent.
Where there is no fork server (Windows) or it cannot start, workers are fresh interpreters
('spawn') that load the models themselves.

This module imports nothing heavy: the CLI starts the pool first and loads the rest of the
scan while the server warms up."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import tempfile
import threading
from collections import deque
from collections.abc import Iterable
from multiprocessing.context import BaseContext
from multiprocessing.pool import AsyncResult, Pool
from pathlib import Path
from typing import TYPE_CHECKING

from haechi.errors import HaechiError
from haechi.private import private_dir, private_file

if TYPE_CHECKING:
    from haechi.config import Settings
    from haechi.media import Content
    from haechi.sources import Sighting
    from haechi.work import WorkResult


WORKER_NICENESS = 5
PRELOAD = ["haechi.preload"]


def start_fork_server() -> None:
    """Start the workers' fork server now (it loads the models, ~0.6 s, in its own process);
    the CLI calls this first thing for a scan, before its own imports and the database."""
    if _context().get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


def _context() -> BaseContext:
    """'forkserver' where the system has it (Linux, macOS); else 'spawn' (Windows), where each
    worker imports and loads the models itself."""
    if "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


class WorkerPool:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.ctx = _context()
        # Decode has its own deadline; this margin only catches native hangs and crashes.
        self.timeout = settings.limits.decode_timeout_seconds + 30
        self._pool: Pool | None = None
        self._opening: threading.Thread | None = None
        self._failed: Exception | None = None
        self._complete: frozenset[str] | None = None
        # The finished items reach the workers through a file in the data directory: a pipe
        # would block the parent once the set outgrew its buffer (64 KB, ~1000 items) before
        # any worker had a file to ask for it.
        folder = settings.home_dir / "tmp"
        private_dir(folder)
        _remove_orphans(folder)
        fd, name = tempfile.mkstemp(prefix=f"finished-{os.getpid()}-", suffix=".txt", dir=folder)
        os.close(fd)
        self._complete_file = Path(name)

    def start(self) -> WorkerPool:
        """Start the worker processes now, in the background; `run` uses them."""
        if self._pool is None and self._opening is None:
            self._opening = threading.Thread(target=self._open, name="haechi-pool", daemon=True)
            self._opening.start()
        return self

    def _open(self) -> None:
        args = (self.settings, self._complete_file)
        self._failed = None
        try:
            self._pool = self.ctx.Pool(self.settings.workers, initializer=_init, initargs=args)
        except Exception as exc:  # raised again by `_ready`, in the thread that scans
            self._failed = exc
        if self._pool is None and self.ctx.get_start_method() != "spawn":
            # A fork server that cannot run (no room for its socket, say): fresh interpreters
            # are slower to start but need nothing more.
            self.ctx = mp.get_context("spawn")
            with contextlib.suppress(Exception):
                self._pool = self.ctx.Pool(self.settings.workers, initializer=_init, initargs=args)

    def _ready(self) -> Pool:
        self.start()
        if self._opening is not None:
            self._opening.join()
            self._opening = None
        if self._pool is None:
            failed, self._failed = self._failed, None
            raise HaechiError(f"the worker processes could not be started: {failed}") from failed
        return self._pool

    def set_complete(self, complete: frozenset[str]) -> None:
        """Items that need no analysis (hashed, then skipped); workers read the set before
        their first file. Set once: a pool that serves several sources keeps the first set,
        which only costs repeated work on items the earlier sources finished (the writer
        stores nothing twice)."""
        if self._complete is not None:
            return
        self._complete = complete
        part = self._complete_file.with_suffix(".part")
        part.write_text("\n".join(sorted(complete)), encoding="ascii")
        private_file(part).replace(
            self._complete_file
        )  # whole or not at all for a worker that reads it

    def close(self) -> None:
        """End the worker processes (also those started but never used)."""
        self._stop()
        self._complete_file.unlink(missing_ok=True)

    def _stop(self) -> None:
        if self._opening is not None:
            self._opening.join()
            self._opening = None
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    def run(self, todo: list[Sighting]) -> Iterable[tuple[Sighting, WorkResult]]:
        """Results in the order of `todo`: a bounded window of files in flight, and a fresh
        pool when a file hangs or kills its worker."""
        from haechi.work import WorkResult

        self.set_complete(frozenset())  # no-op when the scan delivered its set
        pool = self._ready()
        window: deque[tuple[Sighting, AsyncResult[WorkResult]]] = deque()
        pending = iter(todo)
        depth = self.settings.workers * 4
        while True:
            while len(window) < depth and (place := next(pending, None)) is not None:
                window.append((place, pool.apply_async(_one, (place.content,))))
            if not window:
                return
            place, res = window.popleft()
            try:
                result = res.get(timeout=self.timeout)
            except mp.TimeoutError:
                reason = (
                    f"no result after {self.timeout:.0f} s: the file hangs or crashes the decoder"
                )
                result = WorkResult(hashes=None, errors=(("decode", reason),))
                # The only way to stop native code is to end its process; the files that were
                # in flight beside it start again in a fresh pool.
                self._stop()
                pool = self._ready()
                window = deque((p, pool.apply_async(_one, (p.content,))) for p, _ in window)
            except Exception as exc:  # an unpicklable result or a worker bug: that file's error
                result = WorkResult(hashes=None, errors=(("worker", str(exc) or repr(exc)),))
            yield place, result


def _remove_orphans(folder: Path) -> None:
    """Hand-over files of scans that were killed (their process is gone)."""
    for path in folder.glob("finished-*"):
        pid = path.name.split("-")[1]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            path.unlink(missing_ok=True)
        except PermissionError:
            pass  # alive, someone else's


# The worker side, named here so the parent need not import haechi.work to start the pool.
def _init(settings: Settings, complete_file: Path) -> None:
    # Workers run one step below the parent: with one worker per core the parent shares a
    # core with them, and the writer (and its start-up, while the workers load their
    # models) should not wait for a core. Its work is small; they take whatever it leaves.
    if hasattr(os, "nice"):
        os.nice(WORKER_NICENESS)
    from haechi.work import init_process

    init_process(settings, complete_file)


def _one(content: Content) -> WorkResult:
    from haechi.work import run_in_process

    return run_in_process(content)
