"""The decoded media that analyzers receive."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, TypeVar

import numpy as np
import numpy.typing as npt

from haechi.media.content import Content

MediaKind = Literal["image", "video"]
RGB = npt.NDArray[np.uint8]

# Models (faces, nudity) look at a copy reduced to this long side; hashes use full resolution.
MODEL_SIDE = 640
T = TypeVar("T")


@dataclass(frozen=True)
class Frame:
    """One picture: a still image, or a video frame at `t` seconds (None for stills)."""

    rgb: RGB = field(repr=False)
    t: float | None = None
    key: bool = False
    # Results that several analyzers need from this frame (face detections), computed once.
    _memo: dict[Hashable, Any] = field(default_factory=dict, repr=False, compare=False)

    def memo(self, key: Hashable, compute: Callable[[], T]) -> T:
        """`compute()` once per frame and key; later callers get the same result."""
        if key not in self._memo:
            self._memo[key] = compute()
        result: T = self._memo[key]
        return result

    @property
    def width(self) -> int:
        """Pixels across, as decoded (after any EXIF rotation)."""
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        """Pixels down, as decoded (after any EXIF rotation)."""
        return int(self.rgb.shape[0])

    @cached_property
    def small(self) -> RGB:
        """The frame reduced to MODEL_SIDE on its long side (or itself when smaller), computed
        once and shared by every analyzer that runs a model on it."""
        return self.reduced(MODEL_SIDE)

    @property
    def small_scale(self) -> float:
        """Multiply coordinates in `small` by this to get coordinates in `rgb`."""
        return self.width / int(self.small.shape[1])

    def reduced(self, side: int) -> RGB:
        """The frame scaled down to `side` pixels on its long side, aspect kept; the frame itself,
        not a copy, when it is no larger. Not memoised: use `small` for the models' size."""
        w, h = self.width, self.height
        if max(w, h) <= side:
            return self.rgb
        s = side / max(w, h)
        size = (max(1, round(w * s)), max(1, round(h * s)))
        # Down to half size, bilinear reads every source pixel and costs ~0.4 ms for 1 MP; below
        # half it would skip pixels (aliasing), so area averaging takes over there.
        import cv2  # here, not at the top: the scan's main process never resizes

        interp = cv2.INTER_LINEAR if s >= 0.5 else cv2.INTER_AREA
        small = cv2.resize(np.ascontiguousarray(self.rgb), size, interpolation=interp)
        return np.asarray(small, dtype=np.uint8)


@dataclass(frozen=True)
class Media:
    """A file plus what safe decoding made of it.

    `frames` holds one full-resolution frame for a still image; for video and animated images,
    the frames sampled at 1 fps plus keyframes (scaled to `frame_max_side`), within the limits."""

    content: Content
    kind: MediaKind
    format: str
    width: int
    height: int
    frames: tuple[Frame, ...] = field(repr=False)
    duration: float | None = None
    notes: tuple[str, ...] = ()
    # The EXIF orientation the decoder applied to a still image (1: none). Faces and models see
    # the upright picture; hashes shared with other platforms need the pixels as stored.
    orientation: int = 1

    def stored_rgb(self, frame: Frame) -> RGB:
        """`frame` as the file stores it, before the EXIF rotation: what Meta's reference PDQ
        hasher, HMA, python-threatexchange and StopNCII read."""
        return as_stored(frame.rgb, self.orientation)

    @property
    def name(self) -> str:
        """The name its content shows in messages (see Content.name)."""
        return self.content.name


def as_stored(rgb: RGB, orientation: int) -> RGB:
    """Undo Pillow's `exif_transpose` for EXIF `orientation` (2-8; anything else: unchanged).
    Pillow rotates 6 by ROTATE_270 (clockwise) and 8 by ROTATE_90; the flips and the two
    transpositions are their own inverses."""
    undo: dict[int, Callable[[RGB], RGB]] = {
        2: lambda a: a[:, ::-1],
        3: lambda a: np.rot90(a, 2),
        4: lambda a: a[::-1],
        5: lambda a: a.transpose(1, 0, 2),
        6: lambda a: np.rot90(a, 1),
        7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
        8: lambda a: np.rot90(a, -1),
    }
    fn = undo.get(orientation)
    return rgb if fn is None else np.ascontiguousarray(fn(rgb))
