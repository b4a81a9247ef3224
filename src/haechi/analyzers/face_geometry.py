"""The geometry of a detected face: merging overlapping detections, how far the head is
turned, how sharp the crop is, and the 112 x 112 alignment SFace reads."""

from __future__ import annotations

from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

Pixels = npt.NDArray[np.uint8]  # H × W × 3

NMS_IOU: Final[float] = 0.3
NMS_IOMIN: Final[float] = 0.7


def nms(dets: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Greedy NMS on YuNet rows (x, y, w, h, 10 landmark coords, score).

    A candidate is dropped when it overlaps a better one by IoU > 0.3 or when
    most of the smaller box lies inside it (IoMin > 0.7, which removes the
    same face found at two scales with slightly different boxes).
    """
    if len(dets) == 0:
        return dets
    order = np.argsort(-dets[:, 14])
    keep: list[int] = []
    x1 = dets[:, 0]
    y1 = dets[:, 1]
    x2 = x1 + dets[:, 2]
    y2 = y1 + dets[:, 3]
    area = np.maximum(dets[:, 2], 0) * np.maximum(dets[:, 3], 0)
    for i in order:
        ok = True
        for j in keep:
            iw = min(x2[i], x2[j]) - max(x1[i], x1[j])
            ih = min(y2[i], y2[j]) - max(y1[i], y1[j])
            if iw <= 0 or ih <= 0:
                continue
            inter = float(iw * ih)
            union = float(area[i] + area[j]) - inter
            small = float(min(area[i], area[j]))
            if inter / max(union, 1e-6) > NMS_IOU or inter / max(small, 1e-6) > NMS_IOMIN:
                ok = False
                break
        if ok:
            keep.append(int(i))
    return dets[keep]


def iou(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> float:
    """Intersection over union of two (x, y, w, h) boxes; 0 when they do not overlap."""
    iw = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    ih = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = float(iw * ih)
    return inter / (float(a[2] * a[3] + b[2] * b[3]) - inter)


def yaw_proxy(lm: npt.NDArray[np.float32]) -> float:
    """0 for a frontal face, 1 for a profile.

    The nose tip is projected onto the eye axis (so in-plane rotation does
    not matter); its offset from the eye midpoint, in units of half the eye
    distance, is ~0 when frontal and reaches/exceeds 1 as the head turns.
    """
    eye_r, eye_l, nose = lm[0], lm[1], lm[2]
    axis = eye_l - eye_r
    dist = float(np.linalg.norm(axis))
    if dist < 1e-3:
        return 1.0
    u = axis / dist
    offset = float(np.dot(nose - (eye_r + eye_l) / 2.0, u))
    return float(min(1.0, abs(offset) / (dist / 2.0)))


def sharpness(aligned_bgr: npt.NDArray[np.uint8]) -> float:
    """Contrast-normalised variance of the Laplacian of the aligned crop.

    Only the central part of the 112x112 crop is used (eyes, nose, mouth),
    so background texture does not count. Dividing by the grey-level
    variance makes the figure independent of exposure and contrast.
    """
    grey = cv2.cvtColor(aligned_bgr, cv2.COLOR_BGR2GRAY).astype(np.float32)
    centre = grey[16:104, 16:96]
    lap = cv2.Laplacian(centre, cv2.CV_32F, ksize=3)
    var = float(centre.var())
    if var < 1.0:
        return 0.0
    return float(lap.var()) / var


# Where SFace expects the eyes, nose tip and mouth corners in its 112 × 112 input, and their
# mean (the constants of OpenCV's FaceRecognizerSF, which SFace was trained with).
_SFACE_POINTS: Final = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655],
     [70.7299, 92.2041]],
    np.float64,
)  # fmt: skip
_SFACE_MEAN: Final = np.array([56.0262, 71.9008], np.float64)


def align_face(bgr: Pixels, landmarks: npt.NDArray[np.float32]) -> Pixels:
    """The 112 × 112 crop SFace reads: the similarity transform (Umeyama's least squares)
    that best maps the five landmarks onto SFace's points, applied bilinearly. The same
    crop as OpenCV's FaceRecognizerSF.alignCrop to ±1 grey level (tests/test_faces.py),
    without loading a second copy of the network just to align."""
    src = np.asarray(landmarks, np.float32).reshape(5, 2)
    mean = src.mean(axis=0, dtype=np.float32).astype(np.float64)
    src_d = src.astype(np.float64) - mean
    dst_d = _SFACE_POINTS - _SFACE_MEAN
    cov = dst_d.T @ src_d / 5
    sign = np.array([1.0, -1.0 if np.linalg.det(cov) < 0 else 1.0])
    u, s, vt = np.linalg.svd(cov)
    rot = u @ np.diag(sign) @ vt
    scale = float((s * sign).sum() / ((src_d**2).sum() / 5))
    m = np.empty((2, 3))
    m[:, :2] = rot * scale
    m[:, 2] = _SFACE_MEAN - scale * (rot @ mean)
    return np.asarray(cv2.warpAffine(bgr, m, (112, 112), flags=cv2.INTER_LINEAR), np.uint8)
