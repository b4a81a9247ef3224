"""PDQ (images) and vPDQ-style frame hashes (video), computed by Meta's reference C++ via pdqhash.

Frames come from PyAV at 1 fps plus keyframes; hashing each with pdqhash is how Meta's vPDQ
builds its frame hashes, so the bag of frames compares with vPDQ's."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pdqhash

from haechi.analyzers.base import Example, MediaAnalyzer, Signal, example_media
from haechi.media import Media
from haechi.media.types import RGB


@dataclass(frozen=True)
class PdqFrame(Signal):
    t: float
    pdq: str
    quality: int


@dataclass(frozen=True)
class Pdq(Signal):
    """`pdq`/`quality` for a still image; `frames` for video. Quality < 50 is not trusted."""

    pdq: str | None
    quality: int | None
    frames: tuple[PdqFrame, ...] = ()

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Pdq:
        return cls(
            pdq=payload["pdq"],
            quality=payload["quality"],
            frames=tuple(PdqFrame(**f) for f in payload.get("frames", ())),
        )


def pdq_hex(rgb: RGB) -> tuple[str, int]:
    """PDQ of an RGB array as 64 hex characters (ThreatExchange's byte order) and its quality."""
    bits, quality = pdqhash.compute(np.ascontiguousarray(rgb))
    # Bit 0 of pdqhash's vector is the most significant bit of the hex string, as in
    # threatexchange's pdq_hasher: the vector read left to right is the binary number.
    packed = np.packbits(np.asarray(bits, dtype=np.uint8))
    return packed.tobytes().hex(), int(quality)


class PdqAnalyzer(MediaAnalyzer[Pdq]):
    name = "pdq"
    version = "1"
    signal_type = Pdq

    def analyze(self, item: Media) -> Pdq:
        if item.kind == "image":
            h, q = pdq_hex(item.frames[0].rgb)
            return Pdq(pdq=h, quality=q)
        frames = []
        for frame in item.frames:
            h, q = pdq_hex(frame.rgb)
            frames.append(PdqFrame(t=frame.t or 0.0, pdq=h, quality=q))
        return Pdq(pdq=None, quality=None, frames=tuple(frames))

    @classmethod
    def json_fields(cls, payload: dict[str, Any]) -> dict[str, Any]:
        return {
            "pdq": payload.get("pdq"),
            "pdq_quality": payload.get("quality"),
            "frames": payload.get("frames") or [],
        }

    @classmethod
    def examples(cls) -> Iterable[Example[Media, Pdq]]:
        # Hashes of synthetic images computed once with the reference implementation; they pin
        # the conversion and bit order, which a refactor could silently change.
        for rgb, expected, quality in _REFERENCE:
            yield Example(example_media(rgb()), Pdq(pdq=expected, quality=quality))


def _diagonal() -> RGB:
    y, x = np.mgrid[0:128, 0:128]
    v = ((x * 2 + y) % 256).astype(np.uint8)
    return np.stack([v, v // 2, 255 - v], axis=-1)


def _checker() -> RGB:
    y, x = np.mgrid[0:96, 0:160]
    v = (((x // 16) + (y // 16)) % 2 * 200 + 20).astype(np.uint8)
    return np.stack([v, v, v], axis=-1)


_REFERENCE: list[tuple[Any, str, int]] = [
    (_diagonal, "aaaaaaaaaaaaaa8aaaaaaaaaaaaaaaaaaaaa68aad2aa74aa552a7768555a7756", 49),
    (_checker, "fca8fcaa0426fcaabc28fcaab42a0355fc2a03550357fcaa0357fcaa0356fcaa", 100),
]
