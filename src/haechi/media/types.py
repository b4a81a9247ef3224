"""The decoded media that analyzers receive."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from haechi.media.content import Content

MediaKind = Literal["image", "video"]
RGB = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Frame:
    """One picture: a still image, or a video frame at `t` seconds (None for stills)."""

    rgb: RGB = field(repr=False)
    t: float | None = None
    key: bool = False

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])


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

    @property
    def name(self) -> str:
        return self.content.name
