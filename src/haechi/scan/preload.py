"""Imported once by the scan's fork server (see haechi.scan.pool): the libraries and the bundled
models every worker needs, loaded and run once, so that each worker is a fork of a ready
process instead of a fresh interpreter that imports and loads them again (~0.5 s of CPU per
worker on a 2-core laptop).

Best effort: what fails here, each worker loads again itself, and reports."""

from __future__ import annotations

import contextlib


def _load() -> None:
    import cv2

    # One thread: the scan parallelises by process. Set before the first OpenCV call, so that
    # no OpenCV thread pool exists when the server forks.
    cv2.setNumThreads(1)
    from haechi.analyzers import faces, nudity

    faces.shared_model().warm()
    nudity.sessions()
    _one_file()


def _one_file() -> None:
    """A whole pass over one made-up JPEG: the first file costs a worker ~0.1 s more than the
    next (decoder plug-ins, lazy imports, onnxruntime's buffers for a real image size)."""
    import tempfile
    from pathlib import Path

    import numpy as np
    from PIL import Image

    from haechi.config import load_settings
    from haechi.media import FileContent
    from haechi.scan.work import Worker

    ramp = np.linspace(0, 255, 1024 * 768 * 3).astype(np.uint8).reshape(768, 1024, 3)
    with tempfile.TemporaryDirectory(prefix="haechi-warm-") as folder:
        path = Path(folder) / "warm.jpg"
        Image.fromarray(ramp).save(path, quality=90)
        Worker(load_settings(home=Path(folder))).run(FileContent(path, path.name))


with contextlib.suppress(Exception):
    _load()
