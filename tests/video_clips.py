"""Video clips the media tests write: a pan over a picture, encoded with B-frames and cuts, for
the tests of what frames a decode samples and how one is reached by seeking."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
from PIL import Image


def panning_clip(path: Path, seconds: int, fps: int) -> None:
    """H.264 with B-frames over a moving picture: every frame differs from the last."""
    rng = np.random.default_rng(3)
    backdrop = np.asarray(
        Image.fromarray(rng.integers(0, 255, (12, 24, 3), dtype=np.uint8)).resize((480, 120))
    )
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = 160, 120, "yuv420p"
        for i in range(seconds * fps):
            x = 2 * (i % (fps * 3))  # a cut (the pan restarts) every 3 s
            rgb = np.ascontiguousarray(backdrop[:, x : x + 160])
            for p in s.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
