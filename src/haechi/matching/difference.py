"""The difference picture of a face-changed pair: the face region of each picture side by side
and a heat map of where they differ.

It shows what a reviewer or a court needs to see (the change is in the face, the rest agrees)
and never more: each side is the face box grown by a small margin (`scene.grown`), clipped to
its picture. Nothing else of either picture is ever in it."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Final

import cv2
import numpy as np
from PIL import Image

from haechi.analyzers.scene import grown
from haechi.media.types import RGB

HEIGHT: Final[int] = 200  # pixels: enough to see the change, not a copy of the picture


def face_region(rgb: RGB, box: Sequence[int], scale: float = 1.0) -> RGB:
    """The face box (in coordinates `scale` times smaller than `rgb`'s) plus its margin."""
    h, w = rgb.shape[:2]
    bx = [round(v * scale) for v in box]
    x, y, bw, bh = grown(bx, w, h)
    return np.ascontiguousarray(rgb[y : y + bh, x : x + bw])


def difference_picture(a: RGB, b: RGB, height: int = HEIGHT) -> RGB:
    """Face region `a`, face region `b` brought to `a`'s size, and the heat map of their
    difference (blurred a little so re-encoding noise does not show), `height` pixels high."""
    if a.size == 0 or b.size == 0:
        raise ValueError("empty face region")
    cb = cv2.resize(b, (a.shape[1], a.shape[0]), interpolation=cv2.INTER_AREA)
    diff = np.abs(a.astype(np.int16) - cb.astype(np.int16)).sum(axis=2).astype(np.float32)
    diff = cv2.GaussianBlur(diff, (0, 0), 2.0)
    heat = cv2.applyColorMap(
        np.clip(diff * (255.0 / max(float(diff.max()), 1.0)), 0, 255).astype(np.uint8),
        cv2.COLORMAP_INFERNO,
    )[:, :, ::-1]
    row = np.concatenate([a, cb, heat], axis=1)
    k = height / row.shape[0]
    size = (max(1, round(row.shape[1] * k)), height)
    return np.asarray(cv2.resize(row, size, interpolation=cv2.INTER_AREA), np.uint8)


def png(rgb: RGB) -> bytes:
    """An RGB array as optimised PNG bytes."""
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG", optimize=True)
    return buf.getvalue()
