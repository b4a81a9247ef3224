"""Crash trials only: places where `HAECHI_FAILPOINT` kills this process with SIGKILL, as a
power cut or the OOM killer would, so that tests can check what survives. Unset (always, in
use), every function here does nothing.

    after_batch:N   just after the scan's N-th committed batch (an exact, repeatable point)
    after_capture_logged:N
                    the N-th blob a capture has logged, before its move into the vault
    after_ms:N      N milliseconds after the command starts (imports done): a random moment
                    when the trial draws N at random
    measure_ms:PATH no kill: at exit, write to PATH how many ms the command ran since that
                    same start, the range a trial draws its after_ms moments from

Never used to simulate anything but a sudden death: no cleanup, no exit handlers."""

from __future__ import annotations

import atexit
import os
import signal
import threading
import time
from pathlib import Path

_passed: dict[str, int] = {}


def _kill() -> None:
    os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))  # Windows: no SIGKILL


def hit(name: str) -> None:
    """A named point: `HAECHI_FAILPOINT=name:N` dies the N-th time it is passed."""
    spec = os.environ.get("HAECHI_FAILPOINT")
    if not spec:
        return
    _passed[name] = _passed.get(name, 0) + 1
    if spec == f"{name}:{_passed[name]}":
        _kill()


def arm_timer() -> None:
    """`HAECHI_FAILPOINT=after_ms:N`: a daemon timer that kills the process N ms from now;
    `measure_ms:PATH`: the time from now to the exit, written to PATH."""
    name, _, value = (os.environ.get("HAECHI_FAILPOINT") or "").partition(":")
    if name == "after_ms" and value.isdigit():
        timer = threading.Timer(int(value) / 1000, _kill)
        timer.daemon = True
        timer.start()
    elif name == "measure_ms" and value:
        start = time.monotonic()
        atexit.register(lambda: Path(value).write_text(f"{(time.monotonic() - start) * 1000:.0f}"))
