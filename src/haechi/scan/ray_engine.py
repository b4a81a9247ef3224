"""The Ray engine: the same analyzers as the worker pool, run as Ray actors on a cluster (or a
local Ray started here), while the source and the one writer stay on the driver.

`haechi scan --engine ray [--address ADDR]`. Each actor builds the analyzers and loads their
models once (as a fork of the pool's server does) and analyses one file at a time: the driver
knows which file each actor holds, so an actor that dies (its process killed, its node lost)
costs only that file, reported as the pool reports a dead worker, and a fresh actor takes its
place. Results reach the writer in the source's order, through the same bounded window as the
pool (`in_flight`), so a scan on a cluster is resumable exactly like a local one: the writer
and the database are the same.

Ray is the optional extra `cluster` (`pip install 'haechi[cluster]'`); nothing here imports it
before a Ray scan starts."""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from haechi.errors import HaechiError
from haechi.i18n import _
from haechi.media import BytesContent, Content
from haechi.scan.dispatch import window
from haechi.scan.finished import FinishedItems

if TYPE_CHECKING:
    from haechi.config import Settings
    from haechi.scan.work import WorkResult
    from haechi.sources import Sighting

# On a cluster, files up to this size travel to the actors as bytes, read by the driver, so
# the nodes need not see the driver's disk; larger ones go by path (a shared file system at
# the same mount point: see docs/scale.md).
SHIP_BYTES = 64 * 1024 * 1024


class _Analyser:
    """One Ray actor: the analyzers built once, one file at a time."""

    def __init__(self, settings: Settings) -> None:
        import cv2

        cv2.setNumThreads(1)  # one file per actor and one actor per CPU, as in the pool
        from haechi.scan.work import Worker

        self.worker = Worker(settings)
        self.worker.warm()

    def set_complete(self, complete: FinishedItems) -> None:
        self.worker.complete = complete

    def run(self, content: Content) -> WorkResult:
        return self.worker.run(content)

    def pid(self) -> int:
        return os.getpid()


@dataclass(eq=False)
class _Held:
    index: int
    actor: Any
    since: float


class RayPool:
    """Analysers on Ray, with the worker pool's interface (haechi.scan.pool.Analysers)."""

    def __init__(
        self, settings: Settings, address: str | None = None, *, actors: int | None = None
    ) -> None:
        self.settings = settings
        self.address = address
        self.wanted = actors
        self.timeout = settings.limits.decode_timeout_seconds + 30
        self.actors: list[Any] = []
        self._ours = False  # whether this pool started Ray (and so shuts it down)
        self._complete: FinishedItems | None = None
        self._complete_ref: Any = None
        self._told: set[int] = set()  # actors (by id) that have the finished items
        self.in_flight = 0
        self.peak_in_flight = 0
        # Ship bytes when the actors may be on other machines; a local Ray shares the disk.
        self.ship = address is not None

    def start(self) -> RayPool:
        """Reach the cluster (or start a local Ray) and start `actors` actors (default: one per
        cluster CPU, or `workers` locally); HaechiError when Ray is missing or unreachable."""
        if self.actors:
            return self
        try:
            import ray
        except ImportError:
            raise HaechiError(
                _("the Ray engine needs Ray: pip install 'haechi[cluster]'")
            ) from None
        if not ray.is_initialized():
            # Without an address, a local Ray with the configured CPUs, started and shut down
            # by this scan; with one, the cluster there (ray://host:10001 or host:6379).
            try:
                ray.init(
                    address=self.address,
                    num_cpus=None if self.address else self.settings.workers,
                    include_dashboard=False,
                    log_to_driver=False,
                    configure_logging=False,
                )
            except Exception as exc:
                where = self.address or _("a local Ray")
                msg = _("could not start or reach {where}: {reason}")
                raise HaechiError(msg.format(where=where, reason=exc)) from exc
            self._ours = True
        n = self.wanted
        if n is None:
            resources = ray.cluster_resources() if self.address else {}  # type: ignore[no-untyped-call]
            cpus = int(resources.get("CPU", 0))
            n = max(1, cpus or self.settings.workers)
        self.actors = [self._new_actor() for _ in range(n)]
        return self

    def _new_actor(self) -> Any:
        import ray

        remote = ray.remote(num_cpus=1, max_restarts=0)(_Analyser)
        return remote.remote(self.settings)

    def pids(self) -> list[int]:
        """The actors' processes (tests end one)."""
        import ray

        return list(ray.get([a.pid.remote() for a in self.actors]))

    def set_complete(self, complete: FinishedItems) -> None:
        """Set once, as the pool's (see WorkerPool.set_complete)."""
        if self._complete is None:
            self._complete = complete

    def close(self) -> None:
        """End the actors, and Ray itself when this pool started it (a cluster stays up)."""
        import ray

        for a in self.actors:
            ray.kill(a)
        self.actors = []
        if self._ours and ray.is_initialized():
            ray.shutdown()
            self._ours = False

    def run(self, todo: Iterable[Sighting]) -> Iterator[tuple[Sighting, WorkResult]]:
        """Results in the order of `todo`, reading it only as far as the window allows."""
        import ray

        self.start()
        self.set_complete(FinishedItems.empty())
        if self._complete_ref is None:
            self._complete_ref = ray.put(self._complete)
        source = iter(todo)
        ended = False
        places: dict[int, Sighting] = {}
        done: dict[int, WorkResult] = {}
        running: dict[Any, _Held] = {}
        free = deque(self.actors)
        depth = window(self.settings)
        read = out = 0
        try:
            while True:
                while free and not ended and read - out < depth:
                    place = next(source, None)
                    if place is None:
                        ended = True
                        break
                    places[read] = place
                    actor = free.popleft()
                    if id(actor) not in self._told:
                        actor.set_complete.remote(self._complete_ref)
                        self._told.add(id(actor))
                    ref = actor.run.remote(self._payload(place.content))
                    running[ref] = _Held(read, actor, time.monotonic())
                    read += 1
                    self.in_flight = read - out
                    self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
                if out in done:
                    self.in_flight = read - out - 1
                    out += 1
                    yield places.pop(out - 1), done.pop(out - 1)
                    continue
                if ended and out >= read:
                    return
                if not running:
                    raise HaechiError(_("no Ray actor is left to analyse files"))
                oldest = min(h.since for h in running.values())
                wait = max(0.0, oldest + self.timeout - time.monotonic())
                ready, _waiting = ray.wait(list(running), num_returns=1, timeout=wait)
                for ref in ready:
                    held = running.pop(ref)
                    done[held.index] = self._result(ref, held, free)
                now = time.monotonic()
                for ref, held in list(running.items()):
                    if now - held.since >= self.timeout:
                        # The only way to stop native code is to end its process.
                        del running[ref]
                        ray.kill(held.actor)
                        reason = f"no result after {self.timeout:.0f} s: the file hangs the decoder"
                        done[held.index] = _error("decode", f"{reason}; stopped")
                        self._replace(held.actor, free)
        finally:
            self.in_flight = 0
            if running:
                # Left before the end (the writer failed): their results would go nowhere.
                for held in running.values():
                    self._replace(held.actor, None)

    def _result(self, ref: Any, held: _Held, free: deque[Any]) -> WorkResult:
        import ray
        from ray.exceptions import RayActorError, RayTaskError

        try:
            result: WorkResult = ray.get(ref)
        except RayActorError as exc:
            self._replace(held.actor, free)
            why = getattr(exc, "error_msg", None) or type(exc).__name__
            first = str(why).strip().splitlines()[0] if str(why).strip() else type(exc).__name__
            return _error("worker", f"the Ray actor analysing this file died ({first})")
        except RayTaskError as exc:  # a bug in the actor's code: that file's error
            free.append(held.actor)
            cause = exc.cause if exc.cause is not None else exc
            return _error("worker", str(cause) or type(cause).__name__)
        free.append(held.actor)
        return result

    def _replace(self, actor: Any, free: deque[Any] | None) -> None:
        """A fresh actor in the place of one that died or was stopped."""
        import ray

        ray.kill(actor)
        self._told.discard(id(actor))
        fresh = self._new_actor()
        self.actors = [fresh if a is actor else a for a in self.actors]
        if free is not None:
            free.append(fresh)

    def _payload(self, content: Content) -> Content:
        if not self.ship:
            return content
        try:
            size = content.size
            if size > SHIP_BYTES:
                return content
            with content.open() as fh:
                return BytesContent(fh.read(SHIP_BYTES + 1), content.name)
        except OSError:
            return content  # the actor says why, as a worker would


def _error(stage: str, reason: str) -> WorkResult:
    from haechi.scan.work import WorkResult

    return WorkResult(hashes=None, errors=((stage, reason),))
