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

This module imports nothing heavy: the CLI starts the pool first and loads the rest of the
scan while the server warms up."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from multiprocessing.reduction import ForkingPickler
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from haechi.errors import HaechiError
from haechi.i18n import _
from haechi.private import private_dir, private_file

if TYPE_CHECKING:
    from haechi.config import Settings
    from haechi.media import Content
    from haechi.scan.work import WorkResult
    from haechi.sources import Sighting


WORKER_NICENESS = 5
PRELOAD = ["haechi.scan.preload"]
# A worker busy with one file is given the next one as well, so that it never waits for the
# parent (busy writing a batch) between files; only when the next is this small (a path,
# not a file's bytes), so that the send always fits in the pipe's buffer (8 KB on macOS)
# and cannot block while the worker is busy.
PREFETCH_BYTES = 4096


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

    def start(self) -> Analysers: ...

    def set_complete(self, complete: frozenset[str]) -> None: ...

    def run(self, todo: Iterable[Sighting]) -> Iterator[tuple[Sighting, WorkResult]]: ...

    def close(self) -> None: ...


@dataclass(eq=False)
class _Worker:
    process: BaseProcess
    conn: Connection
    # Indexes (into the files of the current `run`) handed to this worker, in order: it
    # analyses the first, the others wait in its pipe.
    held: deque[int] = field(default_factory=deque)
    since: float = 0.0  # when it began the first held file


class WorkerPool:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.ctx = _context()
        # Decode has its own deadline; this margin only catches native hangs (a crash is seen
        # at once).
        self.timeout = settings.limits.decode_timeout_seconds + 30
        self._workers: list[_Worker] | None = None
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

    def _start_workers(self) -> list[_Worker]:
        """All the workers, or none (the first failure is raised again by `_ready`, in the
        thread that scans)."""
        workers: list[_Worker] = []
        try:
            for _ in range(self.settings.workers):
                workers.append(self._start_worker())
        except Exception as exc:
            self._failed = self._failed or exc
            _end(workers)
            return []
        return workers

    def _start_worker(self) -> _Worker:
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
        return _Worker(process, ours)

    def _ready(self) -> list[_Worker]:
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
            _end(self._workers)
            self._workers = None

    def run(self, todo: Iterable[Sighting]) -> Iterator[tuple[Sighting, WorkResult]]:
        """Results in the order of `todo`, with a bounded window of files in flight: `todo`
        is read only as far as the window allows (`window`), so a source of any size streams
        through and no list of its files is ever held. A file that hangs or kills its worker
        is that file's error; a fresh worker takes its place and the files that waited behind
        it."""
        self.set_complete(frozenset())  # no-op when the scan delivered its set
        batch = _Run(self, todo, self._ready())
        try:
            yield from batch
        finally:
            if batch.busy():
                # Left before the end (the writer failed): workers still analysing this run's
                # files would hand their results to the next run.
                self._stop()


class _Run:
    """One `WorkerPool.run`: which worker holds which file, and the results that wait for
    their turn."""

    def __init__(self, pool: WorkerPool, todo: Iterable[Sighting], workers: list[_Worker]) -> None:
        self.pool = pool
        self.source = iter(todo)
        self.ended = False  # `source` is exhausted
        self.read = 0  # how many were taken from it
        # The files taken and not yet yielded, by index: at most `depth` of them.
        self.todo: dict[int, Sighting] = {}
        self.workers = workers
        self.done: dict[int, WorkResult] = {}
        self.again: deque[int] = deque()  # handed to a worker that died before it began them
        self.fresh = 0  # the first index never handed out
        self.out = 0  # the next index to yield
        self.depth = window(pool.settings)
        self.payload: tuple[int, bytes] | None = None  # the next file's, pickled once
        self.failure: Exception | None = None  # why no new worker could start

    def busy(self) -> bool:
        return any(w.held for w in self.workers)

    def __iter__(self) -> Iterator[tuple[Sighting, WorkResult]]:
        try:
            while True:
                self._hand_out()
                if self.ended and self.out >= self.read:
                    return
                self._collect(block=self.out not in self.done)
                if self.out in self.done:
                    place = self.todo.pop(self.out)
                    self.out += 1
                    self.pool.in_flight = self.read - self.out
                    yield place, self.done.pop(self.out - 1)
        finally:
            self.pool.in_flight = 0

    def _next(self) -> int | None:
        if self.again:
            return self.again[0]
        if self.fresh >= self.out + self.depth:
            return None
        if self.fresh == self.read:
            # Taken from the source only now, when the window has room for it.
            if self.ended:
                return None
            place = next(self.source, None)
            if place is None:
                self.ended = True
                return None
            self.todo[self.read] = place
            self.read += 1
            pool = self.pool
            pool.in_flight = self.read - self.out
            pool.peak_in_flight = max(pool.peak_in_flight, pool.in_flight)
        return self.fresh

    def _hand_out(self) -> None:
        for w in list(self.workers):
            if not w.held and not w.process.is_alive():
                # Died while it had nothing (between two runs of a live stream, say): replaced
                # before it is handed a file, which would otherwise be lost with it.
                self._died(w)
        for w in list(self.workers):
            while len(w.held) < 2 and (i := self._next()) is not None:
                if self.payload is None or self.payload[0] != i:
                    self.payload = (i, bytes(ForkingPickler.dumps(self.todo[i].content)))
                payload = self.payload[1]
                if w.held and len(payload) > PREFETCH_BYTES:
                    break  # for a worker that is free, which reads it at once
                try:
                    w.conn.send_bytes(payload)
                except OSError:
                    self._died(w)  # its sentinel says the rest
                    break
                if self.again and self.again[0] == i:
                    self.again.popleft()
                else:
                    self.fresh += 1
                if not w.held:
                    w.since = time.monotonic()
                w.held.append(i)

    def _collect(self, *, block: bool) -> None:
        """Take what the workers sent; notice the dead and the hung. Waits for the first
        event when `block`."""
        busy = [w for w in self.workers if w.held]
        if not busy:
            # A worker that died as it was handed a file has a fresh one in its place, handed
            # files on the next turn; only with every worker gone and none started is it over.
            if block and not self.workers:
                failed = self.failure
                raise HaechiError(
                    _("the worker processes could not be started: {failed}").format(failed=failed)
                )
            return
        timeout = 0.0
        if block:
            first = min(w.since for w in busy) + self.pool.timeout
            timeout = max(0.0, first - time.monotonic())
        # A worker's pipe (a result) or its process sentinel (it ended), whichever comes first.
        handles: list[Connection | int] = []
        by_handle: dict[object, _Worker] = {}
        for w in busy:
            handles += [w.conn, w.process.sentinel]
            by_handle[w.conn] = by_handle[w.process.sentinel] = w
        for w in {by_handle[r] for r in wait(handles, timeout)}:
            self._receive(w)
        now = time.monotonic()
        for w in busy:
            if w.held and w in self.workers and now - w.since >= self.pool.timeout:
                self._hung(w)

    def _receive(self, w: _Worker) -> None:
        """Results the worker sent (also just before it died); then, if it is gone, its end."""
        try:
            while w.held and w.conn.poll():
                result = w.conn.recv()
                self.done[w.held.popleft()] = result
                w.since = time.monotonic()
        except (EOFError, OSError):  # its end of the pipe closed: it is gone or going
            self._died(w)
            return
        if not w.process.is_alive():
            self._died(w)

    def _died(self, w: _Worker) -> None:
        w.process.join(timeout=5)
        code = w.process.exitcode
        if code is not None and code < 0:
            how = f"killed by signal {_signal_name(-code)}"
        else:
            how = f"exit code {code}"
        self._replace(w, "worker", f"the process analysing this file died ({how})")

    def _hung(self, w: _Worker) -> None:
        # The only way to stop native code is to end its process.
        w.process.kill()
        w.process.join(timeout=5)
        reason = f"no result after {self.pool.timeout:.0f} s: the file hangs the decoder; stopped"
        self._replace(w, "decode", reason)

    def _replace(self, w: _Worker, stage: str, reason: str) -> None:
        """The file `w` was analysing gets the error; the files waiting in its pipe go to the
        others first; a fresh worker takes its place."""
        from haechi.scan.work import WorkResult

        self.workers.remove(w)
        _end([w])
        if w.held:
            self.done[w.held.popleft()] = WorkResult(hashes=None, errors=((stage, reason),))
            self.again = deque(sorted([*w.held, *self.again]))
            w.held.clear()
        try:
            self.workers.append(self.pool._start_worker())
        except Exception as exc:  # the others go on; with none left, `_collect` says so
            self.failure = exc


def window(settings: Settings) -> int:
    """How many files a scan holds between its source and its writer at most: the setting
    `in_flight`, else four per worker (each worker analyses one and has the next in its pipe;
    the rest let results that finish out of order wait for the one before them)."""
    return settings.in_flight or settings.workers * 4


def _end(workers: list[_Worker]) -> None:
    for w in workers:
        w.conn.close()  # a worker waiting for a file reads EOF and leaves
        if w.process.is_alive():
            w.process.terminate()
    for w in workers:
        w.process.join(timeout=5)
        if w.process.is_alive():
            w.process.kill()
            w.process.join()


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


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
