"""Source photo found: "this face was taken from that photo".

A face swap is made from a photo of the victim: her face is cut out of it, warped onto the
target and blended. The face in the fake then keeps that photo's pixels: the same pose,
expression, light and skin detail. Two *different* photos of one person share her identity
(the embedding) but not those pixels. So when a face in an item matches an enrolled person
and a photo of hers is known (an item that is her own media, or a photo posted with a
request), both faces are aligned by their five landmarks onto one 160 x 160 frame and their
fine detail is compared: with light and colour removed (a difference of Gaussians) the
alignment is refined on the pixels (ECC) inside an ellipse over eyes, nose and mouth, and the
correlation it reaches is the measure.
Blending shifts colour and light, not detail; the correlation stays high. A different photo
of the same person, however alike, falls far below (docs/evaluation/manipulation.md: the
threshold was set on a tuning half of the public photos and checked on the other half).

Pure functions over pixels and landmarks; nothing here reads the database or the network."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from haechi.media.types import RGB

SIDE: Final[int] = 160
# Five-point positions of SFace's 112-px crop (analyzers.face_geometry), scaled to SIDE.
_POINTS: Final = (SIDE / 112.0) * np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655],
     [70.7299, 92.2041]],
    np.float32,
)  # fmt: skip
# Set on the tuning half of the public photos (scripts/evaluate_source_photo.py): swaps and
# their donor photo 0.97 and more, two photos of one person at most 0.92.
SOURCE_AT_LEAST: Final[float] = 0.95
_ECC_STOP: Final = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 100, 1e-5)


def _mask() -> npt.NDArray[np.uint8]:
    """Eyes, nose and mouth: inside what a face swap replaces, whatever its blend mask."""
    m = np.zeros((SIDE, SIDE), np.uint8)
    centre, axes = (SIDE // 2, int(SIDE * 0.64)), (int(SIDE * 0.26), int(SIDE * 0.3))
    cv2.ellipse(m, centre, axes, 0, 0, 360, 255, -1)
    return m


_MASK: Final = _mask()


def aligned_face(rgb: RGB, landmarks: Sequence[Sequence[float]]) -> RGB:
    """The face at `landmarks` aligned onto the SIDE-px frame (similarity transform)."""
    src = np.asarray(landmarks, np.float32).reshape(5, 2)
    m, _inliers = cv2.estimateAffinePartial2D(src, _POINTS, method=cv2.LMEDS)
    if m is None:
        raise ValueError("landmarks cannot be aligned")
    face = cv2.warpAffine(np.ascontiguousarray(rgb), m, (SIDE, SIDE), flags=cv2.INTER_AREA)
    return np.asarray(face, np.uint8)


def aligned_detail(rgb: RGB, landmarks: Sequence[Sequence[float]]) -> npt.NDArray[np.float32]:
    """The face at `landmarks` aligned onto the SIDE-px frame, grey, light and colour removed
    (a difference of Gaussians): only detail is left."""
    grey = cv2.cvtColor(aligned_face(rgb, landmarks), cv2.COLOR_RGB2GRAY)
    face = grey.astype(np.float32)
    fine = cv2.GaussianBlur(face, (0, 0), 1.0) - cv2.GaussianBlur(face, (0, 0), 8.0)
    return np.asarray(fine, np.float32)


def pixel_agreement(
    a: RGB, landmarks_a: Sequence[Sequence[float]], b: RGB, landmarks_b: Sequence[Sequence[float]]
) -> float:
    """How nearly the two faces agree pixel for pixel: aligned by their landmarks, then the
    alignment refined on the pixels themselves (OpenCV's ECC, an affine motion), and the
    enhanced correlation coefficient it ends on (1: the same pixels). Landmarks are a few
    pixels off; the refinement takes that away, which a different photo's other expression
    and light cannot be."""
    x, y = aligned_detail(a, landmarks_a), aligned_detail(b, landmarks_b)
    warp = np.eye(2, 3, dtype=np.float32)
    try:
        cc, _warp = cv2.findTransformECC(x, y, warp, cv2.MOTION_AFFINE, _ECC_STOP, _MASK, 3)
    except cv2.error:  # did not converge: nothing alike enough to align
        return 0.0
    return round(float(cc), 4)
