"""One `WorkerPool.run`, dispatched: which worker process holds which file, the results that
wait for their turn so they leave in the source's order, and what becomes of a file whose
worker dies or hangs (that file's error; a fresh worker takes the files that waited behind it).
The files in flight are bounded (`window`), so a source of any size streams through. Kept
apart from the pool (`haechi.scan.pool`), which starts, feeds and ends the processes; like it,
this module imports nothing heavy."""

from __future__ import annotations

import signal
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from multiprocessing.reduction import ForkingPickler
from typing import TYPE_CHECKING

from haechi.errors import HaechiError
from haechi.i18n import _

if TYPE_CHECKING:
    from haechi.config import Settings
    from haechi.scan.pool import WorkerPool
    from haechi.scan.work import WorkResult
    from haechi.sources import Sighting

# A worker busy with one file is given the next one as well, so that it never waits for the
# parent (busy writing a batch) between files; only when the next is this small (a path,
# not a file's bytes), so that the send always fits in the pipe's buffer (8 KB on macOS)
# and cannot block while the worker is busy.
PREFETCH_BYTES = 4096


@dataclass(eq=False)
class PoolWorker:
    """One worker process, its end of the pipe, and the files handed to it."""

    process: BaseProcess
    conn: Connection
    # Indexes (into the files of the current `run`) handed to this worker, in order: it
    # analyses the first, the others wait in its pipe.
    held: deque[int] = field(default_factory=deque)
    since: float = 0.0  # when it began the first held file


class Dispatch:
    """One `WorkerPool.run`: which worker holds which file, and the results that wait for
    their turn."""

    def __init__(
        self, pool: WorkerPool, todo: Iterable[Sighting], workers: list[PoolWorker]
    ) -> None:
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
        """Whether a worker still holds one of this run's files."""
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
        by_handle: dict[object, PoolWorker] = {}
        for w in busy:
            handles += [w.conn, w.process.sentinel]
            by_handle[w.conn] = by_handle[w.process.sentinel] = w
        for w in {by_handle[r] for r in wait(handles, timeout)}:
            self._receive(w)
        now = time.monotonic()
        for w in busy:
            if w.held and w in self.workers and now - w.since >= self.pool.timeout:
                self._hung(w)

    def _receive(self, w: PoolWorker) -> None:
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

    def _died(self, w: PoolWorker) -> None:
        w.process.join(timeout=5)
        code = w.process.exitcode
        if code is not None and code < 0:
            how = f"killed by signal {_signal_name(-code)}"
        else:
            how = f"exit code {code}"
        self._replace(w, "worker", f"the process analysing this file died ({how})")

    def _hung(self, w: PoolWorker) -> None:
        # The only way to stop native code is to end its process.
        w.process.kill()
        w.process.join(timeout=5)
        reason = f"no result after {self.pool.timeout:.0f} s: the file hangs the decoder; stopped"
        self._replace(w, "decode", reason)

    def _replace(self, w: PoolWorker, stage: str, reason: str) -> None:
        """The file `w` was analysing gets the error; the files waiting in its pipe go to the
        others first; a fresh worker takes its place."""
        from haechi.scan.work import WorkResult

        self.workers.remove(w)
        end_workers([w])
        if w.held:
            self.done[w.held.popleft()] = WorkResult(hashes=None, errors=((stage, reason),))
            self.again = deque(sorted([*w.held, *self.again]))
            w.held.clear()
        try:
            self.workers.append(self.pool.start_worker())
        except Exception as exc:  # the others go on; with none left, `_collect` says so
            self.failure = exc


def window(settings: Settings) -> int:
    """How many files a scan holds between its source and its writer at most: the setting
    `in_flight`, else four per worker (each worker analyses one and has the next in its pipe;
    the rest let results that finish out of order wait for the one before them)."""
    return settings.in_flight or settings.workers * 4


def end_workers(workers: list[PoolWorker]) -> None:
    """End these worker processes: EOF first, then terminate, then kill what still runs."""
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
