"""A picture's scene without its faces: what stays the same when a face is put into a picture.

Deepfake sexual material is usually an existing picture with a victim's face pasted in. The
face region changes; everything around it does not. Two signatures of the rest of the picture
are kept with its faces, so a later scan can find the picture it was made from without
decoding either again:

- the PDQ of the picture with every face region filled flat (the candidate search: a face
  swap of a picture is within a few bits of it, re-encoded and resized copies too);
- up to `MAX_POINTS` ORB keypoints from outside the face regions, with their descriptors (the
  proof: a homography found by RANSAC says the two pictures are one scene and maps a face of
  one onto the other, across crops and rescales that move PDQ too far);
- `words`: two 16-bit pieces of the descriptors of the `WORD_POINTS` strongest of those points
  (the candidate search for crops: a crop moves PDQ as far as an unrelated picture, but keeps
  most of its keypoints, and a piece of a kept point's descriptor is often unchanged, while two
  unrelated pictures share a piece by chance only).

Keypoints are corners of the background; nothing here describes a face."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from haechi.analyzers.base import Signal
from haechi.analyzers.pdq import pdq_hex
from haechi.media.types import RGB

MAX_POINTS: Final[int] = 400
WORD_POINTS: Final[int] = 64
# Where the two 16-bit words are cut from a 32-byte descriptor: pieces far apart in it.
_WORD_BYTES: Final[tuple[int, int]] = (0, 16)
_ORB_SIDE: Final[int] = 1024  # keypoints are found on a copy of at most this long side
_MASK_GROW: Final[float] = 0.1  # a face box grown by this share on each side: the jaw line

Box = tuple[int, int, int, int]
Words = tuple[npt.NDArray[np.uint16], npt.NDArray[np.uint16]]
NO_WORDS: Final[Words] = (np.zeros(0, np.uint16), np.zeros(0, np.uint16))


def shared_words(a: Words, b: Words) -> int:
    """How many keypoint words two scenes share, both tables together (each word once)."""
    return sum(len(np.intersect1d(a[t], b[t])) for t in (0, 1))


@dataclass(frozen=True)
class Scene(Signal):
    """`width` x `height`: the (upright) picture the points are in."""

    masked_pdq: str
    quality: int
    width: int
    height: int
    points: str  # base64 of little-endian float32 (x, y) pairs
    descriptors: str  # base64 of 32-byte ORB descriptors, one per point
    # base64 of little-endian uint16: the first word of each strong point, then the second
    # (empty: stored before words were kept; such a scene is found by its PDQ only).
    words: str = ""

    def word_sets(self) -> Words:
        """The two word lists (each up to WORD_POINTS long)."""
        return Scene.words_of(self.words)

    @staticmethod
    def words_of(encoded: str) -> Words:
        """Decode stored words (empty or damaged: no words)."""
        try:
            w = np.frombuffer(base64.b64decode(encoded), "<u2") if encoded else None
        except ValueError:
            w = None
        if w is None or len(w) % 2:
            return NO_WORDS
        half = len(w) // 2
        return w[:half].astype(np.uint16), w[half:].astype(np.uint16)

    def keypoints(self) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.uint8]]:
        """The ORB points (N x 2 float32) and their descriptors (N x 32 uint8) decoded from their
        stored base64."""
        pts = np.frombuffer(base64.b64decode(self.points), "<f4").reshape(-1, 2)
        desc = np.frombuffer(base64.b64decode(self.descriptors), np.uint8).reshape(-1, 32)
        return pts.astype(np.float32), desc


def grown(box: Sequence[int], width: int, height: int) -> Box:
    """A face box grown by `_MASK_GROW` on each side, clipped to the picture."""
    x, y, w, h = box
    gx, gy = round(w * _MASK_GROW), round(h * _MASK_GROW)
    x0, y0 = max(0, x - gx), max(0, y - gy)
    x1, y1 = min(width, x + w + gx), min(height, y + h + gy)
    return (x0, y0, max(0, x1 - x0), max(0, y1 - y0))


def scene_of(rgb: RGB, boxes: Sequence[Sequence[int]]) -> Scene | None:
    """The scene signatures of a picture whose faces are at `boxes`; None without faces."""
    if not boxes:
        return None
    h, w = rgb.shape[:2]
    regions = [grown(b, w, h) for b in boxes]
    masked = np.array(rgb, copy=True)
    fill = np.median(rgb.reshape(-1, 3), axis=0).astype(np.uint8)
    for x, y, bw, bh in regions:
        masked[y : y + bh, x : x + bw] = fill
    mpdq, quality = pdq_hex(masked)
    k = min(1.0, _ORB_SIDE / max(h, w))
    grey = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    if k < 1.0:
        grey = cv2.resize(grey, (round(w * k), round(h * k)), interpolation=cv2.INTER_AREA)
    mask = np.full(grey.shape, 255, np.uint8)
    for x, y, bw, bh in regions:
        mask[int(y * k) : int((y + bh) * k) + 1, int(x * k) : int((x + bw) * k) + 1] = 0
    orb = cv2.ORB.create(nfeatures=MAX_POINTS)
    kps, desc = orb.detectAndCompute(grey, mask)
    if desc is None or not kps:
        pts = np.zeros((0, 2), "<f4")
        desc = np.zeros((0, 32), np.uint8)
        words = np.zeros(0, "<u2")
    else:
        pts = (np.array([kp.pt for kp in kps], np.float32) / k).astype("<f4")
        words = _words(np.asarray(desc, np.uint8), [kp.response for kp in kps])
    return Scene(
        masked_pdq=mpdq,
        quality=quality,
        width=w,
        height=h,
        points=base64.b64encode(pts.tobytes()).decode("ascii"),
        descriptors=base64.b64encode(np.asarray(desc, np.uint8).tobytes()).decode("ascii"),
        words=base64.b64encode(words.tobytes()).decode("ascii"),
    )


def _words(desc: npt.NDArray[np.uint8], response: Sequence[float]) -> npt.NDArray[np.uint16]:
    """The two words of the WORD_POINTS strongest points, first words then second."""
    strong = np.argsort(-np.asarray(response, np.float64), kind="stable")[:WORD_POINTS]
    d = desc[strong]
    parts = [d[:, b].astype("<u2") | (d[:, b + 1].astype("<u2") << 8) for b in _WORD_BYTES]
    return np.concatenate(parts).astype("<u2")
