"""PDQ (images) and vPDQ-style frame hashes (video), computed by Meta's reference C++ via pdqhash.

A still image is hashed on its pixels as stored, before any EXIF rotation, exactly as Meta's
reference hasher, HMA, python-threatexchange and StopNCII do: a phone photo with an orientation
tag must get the hash those platforms share. Rotated and mirrored copies are matched through
PDQ's eight dihedral variants, which pdqhash computes from one DCT at no extra cost.

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
    """The PDQ hash (64 hex characters) and quality of one video frame at `t` seconds."""

    t: float
    pdq: str
    quality: int


# pdqhash.compute_dihedral's order, named by what is done to the scanned picture for its hash
# to be the variant's: variant 1 is the hash of the picture turned 90° counter-clockwise
# (checked against pdqhash.compute on the turned pixels in tests/test_pdq_orientation.py).
VARIANTS = (
    "original",
    "rotate_90_ccw",
    "rotate_180",
    "rotate_90_cw",
    "flip_vertical",
    "flip_horizontal",
    "transpose",
    "transverse",
)


@dataclass(frozen=True)
class Pdq(Signal):
    """`pdq`/`quality` for a still image; `frames` for video. Quality < 50 is not trusted.
    `dihedral` holds a still image's eight variant hashes in `VARIANTS` order (the first is
    `pdq`); empty for video and for signals stored before version 2."""

    pdq: str | None
    quality: int | None
    frames: tuple[PdqFrame, ...] = ()
    dihedral: tuple[str, ...] = ()

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Pdq:
        """The signal from its stored payload; a version-1 payload has no dihedral variants."""
        return cls(
            pdq=payload["pdq"],
            quality=payload["quality"],
            frames=tuple(PdqFrame(**f) for f in payload.get("frames", ())),
            dihedral=tuple(payload.get("dihedral") or ()),
        )

    def variants(self) -> list[tuple[str, str]]:
        """(variant name, hash) of a still image: the original first, then the seven rotations
        and mirrors when the signal has them; empty for video."""
        if not self.pdq:
            return []
        if len(self.dihedral) != len(VARIANTS):
            return [(VARIANTS[0], self.pdq)]
        return [(VARIANTS[0], self.pdq), *zip(VARIANTS[1:], self.dihedral[1:], strict=True)]

    def trusted_frames(self, min_quality: int) -> tuple[PdqFrame, ...]:
        """A video's frames whose hash quality reaches `min_quality`."""
        return tuple(f for f in self.frames if f.quality >= min_quality)


def variant_hashes(payload: dict[str, Any]) -> list[tuple[str, str]]:
    """`Pdq.variants` of a stored still-image PDQ payload."""
    dihedral = tuple(payload.get("dihedral") or ())
    return Pdq(payload.get("pdq"), payload.get("quality"), dihedral=dihedral).variants()


def pdq_hex(rgb: RGB) -> tuple[str, int]:
    """PDQ of an RGB array as 64 hex characters (ThreatExchange's byte order) and its quality."""
    bits, quality = pdqhash.compute(np.ascontiguousarray(rgb))
    # Bit 0 of pdqhash's vector is the most significant bit of the hex string, as in
    # threatexchange's pdq_hasher: the vector read left to right is the binary number.
    packed = np.packbits(np.asarray(bits, dtype=np.uint8))
    return packed.tobytes().hex(), int(quality)


def pdq_dihedral_hex(rgb: RGB) -> tuple[tuple[str, ...], int]:
    """The eight dihedral PDQ hashes of an RGB array (`VARIANTS` order) and its quality."""
    vectors, quality = pdqhash.compute_dihedral(np.ascontiguousarray(rgb))
    hashes = tuple(np.packbits(np.asarray(v, dtype=np.uint8)).tobytes().hex() for v in vectors)
    return hashes, int(quality)


class PdqAnalyzer(MediaAnalyzer[Pdq]):
    """PDQ hashes as ThreatExchange spells them: a still image's eight dihedral variants, or one
    hash per decoded video frame."""

    name = "pdq"
    # 2: hashed as stored (no EXIF rotation) with the dihedral variants; a rescan recomputes
    # version-1 hashes, which differed from every other platform's for rotated phone photos.
    version = "2"
    signal_type = Pdq

    def analyze(self, item: Media) -> Pdq:
        """A still image hashed as stored (no EXIF rotation, as other platforms hash it) with its
        variants; a video frame by frame."""
        if item.kind == "image":
            hashes, q = pdq_dihedral_hex(item.stored_rgb(item.frames[0]))
            return Pdq(pdq=hashes[0], quality=q, dihedral=hashes)
        frames = []
        for frame in item.frames:
            h, q = pdq_hex(frame.rgb)
            frames.append(PdqFrame(t=frame.t or 0.0, pdq=h, quality=q))
        return Pdq(pdq=None, quality=None, frames=tuple(frames))

    @classmethod
    def json_fields(cls, payload: dict[str, Any]) -> dict[str, Any]:
        """The `pdq`, `pdq_quality` and `frames` keys."""
        return {
            "pdq": payload.get("pdq"),
            "pdq_quality": payload.get("quality"),
            "frames": payload.get("frames") or [],
        }

    @classmethod
    def examples(cls) -> Iterable[Example[Media, Pdq]]:
        """Synthetic pictures hashed once with the reference implementation: they pin the conversion
        and the bit order, which a refactor could silently change."""
        for rgb, expected, quality in _REFERENCE:
            yield Example(
                example_media(rgb()), Pdq(pdq=expected[0], quality=quality, dihedral=expected)
            )


def _diagonal() -> RGB:
    y, x = np.mgrid[0:128, 0:128]
    v = ((x * 2 + y) % 256).astype(np.uint8)
    return np.stack([v, v // 2, 255 - v], axis=-1)


def _checker() -> RGB:
    y, x = np.mgrid[0:96, 0:160]
    v = (((x // 16) + (y // 16)) % 2 * 200 + 20).astype(np.uint8)
    return np.stack([v, v, v], axis=-1)


_REFERENCE: list[tuple[Any, tuple[str, ...], int]] = [
    (
        _diagonal,
        (
            "aaaaaaaaaaaaaa8aaaaaaaaaaaaaaaaaaaaa68aad2aa74aa552a7768555a7756",
            "55007f80aa803fc055403fe0aaa01ff055501ff8aaa81ffc55541ffeaaaa1fff",
            "7ff700007f7f02207f77000077ff0002ff7fc22087ffde00007fddc2000fddfc",
            "88f5552aaf81556aa895554abbf4555a82a55552baed555622ab5554abae5555",
            "aaa255552a2a5775aa22755522aa7757aaaa9775d2aa8b55552a8ab7555aa8a9",
            "2222c8887622dddd7777dddd7777dddd77771ddd077701dd0077001d00070001",
            "ffa0007fffd5003fffc0001fffa5000ffff00007effc0003fffe0001fffb0000",
            "00f5aad5aa80aa95a895aab5baf0aaa58225aaadbae9aaa922abaaababaeaaaa",
        ),
        49,
    ),
    (
        _checker,
        (
            "fca8fcaa0426fcaabc28fcaab42a0355fc2a03550357fcaa0357fcaa0356fcaa",
            "d495016adc95016ad415016a016afe955415de95d495de95de95dc95741ff697",
            "a9fd5600f17b5600e9ff5600e97fa9ffa9ffa9ffd62a5600560a560056235600",
            "abc0abc0abc0abc08bc0abc0543f543f89c0743fabc2743fabc8763f2bea543d",
            "fca80355f47e0355fcaa0355fc2efcaafcaafcaa03570355035f035503760355",
            "a97da9ff0103a9ff215ca9ff01595600a17d56005600a9ff5602a9ff5603a9ff",
            "de95d495de95de95dc95fe95016a016ad415016afe95016ade95216a76bf0168",
            "abe07e3fabc0743f8bc0543f543fabc089c0abc0abe2abc0abe88bc02beaabc2",
        ),
        100,
    ),
]
