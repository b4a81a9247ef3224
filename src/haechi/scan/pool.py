"""The scan's worker processes: started in the background before the database is open,
handed the set of finished items once it is known, and replaced when a file hangs or kills
its worker.

Workers are forks of one server process (multiprocessing's 'forkserver') that imported the
libraries and loaded the bundled models once (haechi.scan.preload): one process pays the ~0.5 s of
start-up per worker that 'spawn' paid in each, while the parent opens the database on the
other core. The server holds no database connection and no thread of ours, unlike the parent.
Where there is no fork server (Windows) or it cannot start, workers are fresh interpreters
('spawn') that load the models themselves.

Each worker has a pipe of its own, not a queue shared by all (multiprocessing.Pool): the parent
knows which file each worker holds, so a worker that dies (a decoder crashing in native code,
the kernel ending it for memory) is noticed at once from its process sentinel, costs only the
file it was analysing, and nothing else waits for a deadline. A shared queue also leaves its
lock held by a worker killed while it waited for a file, which stops every other worker.

Which worker holds which file during a run, and what becomes of a file whose worker dies or
hangs, is `haechi.scan.dispatch`; this module starts, feeds and ends the processes.

This module imports nothing heavy: the CLI starts the pool first and loads the rest of the
scan while the server warms up."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import tempfile
import threading
from collections.abc import Iterable, Iterator
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from multiprocessing.reduction import ForkingPickler
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from haechi.errors import HaechiError
from haechi.i18n import _
from haechi.private import private_dir
from haechi.scan.dispatch import Dispatch, PoolWorker, end_workers
from haechi.scan.finished import FinishedItems

if TYPE_CHECKING:
    from haechi.config import Settings
    from haechi.media import Content
    from haechi.scan.work import WorkResult
    from haechi.sources import Sighting


WORKER_NICENESS = 5
PRELOAD = ["haechi.scan.preload"]


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


class Analysers(Protocol):
    """What a scan needs of an engine: the worker processes here, or Ray actors
    (haechi.scan.ray_engine)."""

    peak_in_flight: int

    def start(self) -> Analysers:
        """Begin loading the analyzers in the background; returns the engine itself."""
        ...

    def set_complete(self, complete: FinishedItems) -> None:
        """Items already analysed in full: hashed, then skipped."""
        ...

    def run(self, todo: Iterable[Sighting]) -> Iterator[tuple[Sighting, WorkResult]]:
        """Each sighting with its result, in the order of `todo`, few in flight at a time."""
        ...

    def close(self) -> None:
        """Release the workers; the engine is not used again."""
        ...


class WorkerPool:
    """The scan's worker processes: started in the background, handed the set of finished
    items, and run over a scan's files in order (`run`); ended by `close`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.ctx = _context()
        # Decode has its own deadline; this margin only catches native hangs (a crash is seen
        # at once).
        self.timeout = settings.limits.decode_timeout_seconds + 30
        self._workers: list[PoolWorker] | None = None
        self._opening: threading.Thread | None = None
        self._failed: Exception | None = None
        self._complete: FinishedItems | None = None
        # The finished items reach the workers through a file in the data directory that each
        # maps read-only: one copy in the page cache for all of them, and a pipe would block
        # the parent once the set outgrew its buffer before any worker had a file to ask for.
        folder = settings.home_dir / "tmp"
        private_dir(folder)
        _remove_orphans(folder)
        fd, name = tempfile.mkstemp(prefix=f"finished-{os.getpid()}-", suffix=".sha", dir=folder)
        os.close(fd)
        self._complete_file = Path(name)
        # Sightings taken from the source and not yet handed back, now and at most so far in
        # this pool's life: the bound a scan of any size keeps (tests read them).
        self.in_flight = 0
        self.peak_in_flight = 0

    def start(self) -> WorkerPool:
        """Start the worker processes now, in the background; `run` uses them."""
        if self._workers is None and self._opening is None:
            self._opening = threading.Thread(target=self._open, name="haechi-pool", daemon=True)
            self._opening.start()
        return self

    def _open(self) -> None:
        self._failed = None
        workers = self._start_workers()
        if not workers and self.ctx.get_start_method() != "spawn":
            # A fork server that cannot run (no room for its socket, say): fresh interpreters
            # are slower to start but need nothing more.
            self.ctx = mp.get_context("spawn")
            workers = self._start_workers()
        self._workers = workers or None

    def _start_workers(self) -> list[PoolWorker]:
        """All the workers, or none (the first failure is raised again by `_ready`, in the
        thread that scans)."""
        workers: list[PoolWorker] = []
        try:
            for _ in range(self.settings.workers):
                workers.append(self.start_worker())
        except Exception as exc:
            self._failed = self._failed or exc
            end_workers(workers)
            return []
        return workers

    def start_worker(self) -> PoolWorker:
        """Start one worker process with a pipe of its own (a fresh one also replaces a worker
        that died or hung)."""
        ours, theirs = self.ctx.Pipe()
        # typeshed declares Process on each concrete context, not on BaseContext.
        process: BaseProcess = self.ctx.Process(  # type: ignore[attr-defined]
            target=_serve,
            args=(theirs, self.settings, self._complete_file),
            name="haechi-worker",
            daemon=True,
        )
        try:
            process.start()
        finally:
            theirs.close()  # the worker's end lives in the worker; EOF there when we close ours
        return PoolWorker(process, ours)

    def _ready(self) -> list[PoolWorker]:
        self.start()
        if self._opening is not None:
            self._opening.join()
            self._opening = None
        if self._workers is None:
            failed, self._failed = self._failed, None
            raise HaechiError(
                _("the worker processes could not be started: {failed}").format(failed=failed)
            ) from failed
        return self._workers

    def set_complete(self, complete: FinishedItems) -> None:
        """Items that need no analysis (hashed, then skipped); workers read the set before
        their first file. Set once: a pool that serves several sources keeps the first set,
        which only costs repeated work on items the earlier sources finished (the writer
        stores nothing twice)."""
        if self._complete is not None:
            return
        self._complete = complete
        complete.write(self._complete_file)  # whole or not at all for a worker that reads it

    def pids(self) -> list[int]:
        """The worker processes running now (for supervisors, and tests that end one)."""
        return [w.process.pid for w in self._workers or () if w.process.pid is not None]

    def close(self) -> None:
        """End the worker processes (also those started but never used)."""
        self._stop()
        self._complete_file.unlink(missing_ok=True)

    def _stop(self) -> None:
        if self._opening is not None:
            self._opening.join()
            self._opening = None
        if self._workers is not None:
            end_workers(self._workers)
            self._workers = None

    def run(self, todo: Iterable[Sighting]) -> Iterator[tuple[Sighting, WorkResult]]:
        """Results in the order of `todo`, with a bounded window of files in flight: `todo`
        is read only as far as the window allows (`window`), so a source of any size streams
        through and no list of its files is ever held. A file that hangs or kills its worker
        is that file's error; a fresh worker takes its place and the files that waited behind
        it."""
        self.set_complete(FinishedItems.empty())  # no-op when the scan delivered its set
        batch = Dispatch(self, todo, self._ready())
        try:
            yield from batch
        finally:
            if batch.busy():
                # Left before the end (the writer failed): workers still analysing this run's
                # files would hand their results to the next run.
                self._stop()


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


# The worker side, named here so the parent need not import haechi.scan.work to start the pool.
def _serve(conn: Connection, settings: Settings, complete_file: Path) -> None:
    """A worker: one file at a time from its pipe, each answered with its result, until the
    parent closes the pipe."""
    # Ctrl-C is the parent's to handle: it ends the workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Workers run one step below the parent: with one worker per core the parent shares a
    # core with them, and the writer (and its start-up, while the workers load their
    # models) should not wait for a core. Its work is small; they take whatever it leaves.
    if hasattr(os, "nice"):
        os.nice(WORKER_NICENESS)
    from haechi.scan.work import WorkResult, init_process, run_in_process

    broken = None
    try:
        init_process(settings, complete_file)
    except Exception as exc:  # every file says why, instead of a worker that dies at each
        broken = f"the analyzers could not load: {exc}"
    while True:
        try:
            message = conn.recv_bytes()
        except (EOFError, OSError):
            return
        try:
            if broken is not None:
                raise HaechiError(broken)
            content: Content = ForkingPickler.loads(message)
            result = run_in_process(content)
        except Exception as exc:  # a worker bug: that file's error
            result = WorkResult(hashes=None, errors=(("worker", str(exc) or repr(exc)),))
        try:
            conn.send(result)
        except OSError:
            return  # the parent is gone
        except Exception as exc:  # an unpicklable result: nothing was sent yet
            conn.send(WorkResult(hashes=None, errors=(("worker", str(exc) or repr(exc)),)))
