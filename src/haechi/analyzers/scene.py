"""A picture's scene without its faces: what stays the same when a face is put into a picture.

Deepfake sexual material is usually an existing picture with a victim's face pasted in. The
face region changes; everything around it does not. Two signatures of the rest of the picture
are kept with its faces, so a later scan can find the picture it was made from without
decoding either again:

- the PDQ of the picture with every face region filled flat (the candidate search: a face
  swap of a picture is within a few bits of it, re-encoded and resized copies too);
- up to `MAX_POINTS` ORB keypoints from outside the face regions, with their descriptors (the
  proof: a homography found by RANSAC says the two pictures are one scene and maps a face of
  one onto the other, across crops and rescales that move PDQ too far).

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
_ORB_SIDE: Final[int] = 1024  # keypoints are found on a copy of at most this long side
_MASK_GROW: Final[float] = 0.1  # a face box grown by this share on each side: the jaw line

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Scene(Signal):
    """`width` x `height`: the (upright) picture the points are in."""

    masked_pdq: str
    quality: int
    width: int
    height: int
    points: str  # base64 of little-endian float32 (x, y) pairs
    descriptors: str  # base64 of 32-byte ORB descriptors, one per point

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
    else:
        pts = (np.array([kp.pt for kp in kps], np.float32) / k).astype("<f4")
    return Scene(
        masked_pdq=mpdq,
        quality=quality,
        width=w,
        height=h,
        points=base64.b64encode(pts.tobytes()).decode("ascii"),
        descriptors=base64.b64encode(np.asarray(desc, np.uint8).tobytes()).decode("ascii"),
    )
