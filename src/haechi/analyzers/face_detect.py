"""Finding faces with YuNet: a pass on the frame's shared 640-px copy, a tiled fine pass where
a 40-px face would be too small to see there, a small-face pass in full-resolution tiles for
crowds, and each face re-detected in a close crop so its landmarks do not depend on the pass
that found it."""

from __future__ import annotations

from pathlib import Path
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from haechi.analyzers.face_calibration import DET_SCORE_MIN, MIN_FACE_PX
from haechi.analyzers.face_geometry import NMS_IOU, iou, nms
from haechi.analyzers.yunet import YuNet

# Detection. The whole-image pass runs on the frame's shared 640-px copy; YuNet finds faces down
# to about 15 px of detector input, so a 40-px face is found there in images up to ~1600 px.
_GLOBAL_SIDE: Final[int] = 640
_COARSE_SIDE: Final[int] = 320  # a second look for huge faces (only without a shared copy)
_MAX_UPSCALE: Final[float] = 2.0  # small images are enlarged at most this much
# Faces of TARGET_FACE_PX in the original must be at least _DETECTABLE_PX in some pass; when the
# 640-px pass shrinks them below that, a fine pass at _DETECTABLE_PX / TARGET_FACE_PX runs.
TARGET_FACE_PX: Final[int] = 40
_DETECTABLE_PX: Final[float] = 16.0
_FINE_PX: Final[float] = 20.0
_CANDIDATE_MIN: Final[float] = 0.3  # weaker candidates are looked at again, enlarged
_TILE: Final[int] = 640  # tile side (detector pixels) for the fine pass
_TILE_OVERLAP: Final[int] = 160  # faces up to this size are whole in some tile
#: Video frames (at most `frame_max_side`, 1280 px, on the long side) are searched in one pass
#: at any scale up to this many detector pixels instead of overlapping tiles: a 1280x720 frame
#: costs 0.94 MP of network input instead of six 640-px tiles (2.46 MP), about half the face
#: search time of an HD frame, with the same faces on the bench clips and no face cut by a
#: tile edge. Tiles remain for still images (their calibration) and for larger pictures,
#: where one pass would need too much memory.
UNTILED_MAX_PIXELS: Final[int] = 1280 * 1280
_REFINE_FACE_PX: Final[int] = 128  # landmark refinement: face width in the re-detection crop
# The small-face pass: where the first pass saw the image reduced so far that a face of
# MIN_FACE_PX would be under _DETECTABLE_PX, and found no face at all, or some small face (a
# crowd, a distant group: where there is one small face there are often more), the image is
# searched again in full-resolution tiles. A picture whose faces were all found large (a
# portrait, a selfie) is not: a face there is rarely a 20-px one, and the pass costs ~4x.
_SMALL_FACE_PX: Final[int] = 64  # a face narrower than this (original pixels) is small
# YuNet row layout: x, y, w, h, then (x, y) of 5 landmarks, then the score.
_X_COLS: Final[list[int]] = [0, 4, 6, 8, 10, 12]
_Y_COLS: Final[list[int]] = [1, 5, 7, 9, 11, 13]


def _wants_small_pass(rows: npt.NDArray[np.float32]) -> bool:
    """Whether the first passes' rows (original pixels) leave room for unseen small faces:
    no confident face, or a confident one narrower than _SMALL_FACE_PX."""
    confident = rows[rows[:, 14] >= DET_SCORE_MIN]
    return not len(confident) or bool((confident[:, 2] < _SMALL_FACE_PX).any())


class FaceDetector:
    """YuNet run at the scales a frame needs; rows (x, y, w, h, 5x(x, y), score) in original
    pixels. Not thread-safe, like the network it runs."""

    def __init__(self, path: Path) -> None:
        self._det = YuNet(path, _CANDIDATE_MIN, NMS_IOU, 5000)

    def _run(self, img: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        return self._det.detect(img)

    def _detect_scaled(
        self, bgr: npt.NDArray[np.uint8], scale: float, untiled: int = 0
    ) -> npt.NDArray[np.float32]:
        """Detect at one scale (tiling when the scaled image is large and over `untiled`
        pixels); returns rows in original image coordinates."""
        h, w = bgr.shape[:2]
        if abs(scale - 1.0) < 1e-6:
            img = bgr
        else:
            interp = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            img = np.ascontiguousarray(cv2.resize(bgr, size, interpolation=interp))
        sh, sw = img.shape[:2]
        rows: list[npt.NDArray[np.float32]] = []
        if (sh <= _TILE + _TILE_OVERLAP and sw <= _TILE + _TILE_OVERLAP) or sh * sw <= untiled:
            rows.append(self._run(img))
        else:
            step = _TILE - _TILE_OVERLAP
            ys = list(range(0, max(sh - _TILE, 0) + 1, step))
            xs = list(range(0, max(sw - _TILE, 0) + 1, step))
            if ys[-1] + _TILE < sh:
                ys.append(sh - _TILE)
            if xs[-1] + _TILE < sw:
                xs.append(sw - _TILE)
            for ty in ys:
                for tx in xs:
                    tile = np.ascontiguousarray(img[ty : ty + _TILE, tx : tx + _TILE])
                    d = self._run(tile)
                    if len(d) == 0:
                        continue
                    th, tw = tile.shape[:2]
                    # Drop faces cut by an inner tile edge: the overlap
                    # guarantees they are whole in a neighbouring tile.
                    m = 2.0
                    inner = (
                        ((d[:, 0] < m) & (tx > 0))
                        | ((d[:, 1] < m) & (ty > 0))
                        | ((d[:, 0] + d[:, 2] > tw - m) & (tx + tw < sw))
                        | ((d[:, 1] + d[:, 3] > th - m) & (ty + th < sh))
                    )
                    d = d[~inner].copy()
                    d[:, _X_COLS] += tx
                    d[:, _Y_COLS] += ty
                    rows.append(d)
        if not rows:
            return np.zeros((0, 15), np.float32)
        out = np.concatenate(rows, axis=0)
        out[:, :14] /= scale
        return out

    def detect_rows(
        self,
        rgb: npt.NDArray[np.uint8],
        small: npt.NDArray[np.uint8] | None = None,
        untiled: int = 0,
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.uint8] | None]:
        """Deduplicated YuNet rows (x, y, w, h, 5x(x, y), score) in original pixels, and the
        full-resolution BGR copy when one was made (so `detect` does not make it again).

        `small` is a reduced copy of `rgb` (the frame's shared 640-px copy); passing it saves
        the resize. The cost is one YuNet pass on that copy; a fine pass (tiled) runs only for
        images large enough that a TARGET_FACE_PX face would be too small to see
        in the 640-px copy; weak candidates are looked at again in an enlarged crop. A pass
        over at most `untiled` detector pixels runs on the whole image, not in tiles."""
        h, w = rgb.shape[:2]
        long_side = max(h, w)
        found: list[npt.NDArray[np.float32]] = []
        bgr: npt.NDArray[np.uint8] | None = None
        coarse_s = _COARSE_SIDE / long_side
        if small is not None and max(small.shape[:2]) <= _GLOBAL_SIDE and long_side > _GLOBAL_SIDE:
            # The common case: everything but a fine pass works from the small copy, and the
            # full-resolution image is only touched when there is a face to look at closely.
            k = small.shape[1] / w
            small_bgr = to_bgr(small)
            d = self._run(small_bgr)
            d[:, :14] /= k
            found.append(d)
            global_s = k
            # No second, coarser pass here: faces filling 70-90 % of a 1024-px frame were all
            # found in the 640-px copy (72/72 crops of the test photos), and it cost ~25 %.
        else:
            bgr = to_bgr(rgb)
            global_s = min(_MAX_UPSCALE, _GLOBAL_SIDE / long_side)
            found.append(self._detect_scaled(bgr, global_s, untiled))
            if coarse_s < global_s * 0.75:
                found.append(self._detect_scaled(bgr, coarse_s, untiled))
        finest = global_s
        if TARGET_FACE_PX * global_s < _DETECTABLE_PX:
            bgr = to_bgr(rgb) if bgr is None else bgr
            finest = min(1.0, _FINE_PX / TARGET_FACE_PX)
            found.append(self._detect_scaled(bgr, finest, untiled))
        if MIN_FACE_PX * finest < _DETECTABLE_PX and _wants_small_pass(np.concatenate(found)):
            bgr = to_bgr(rgb) if bgr is None else bgr
            found.append(self._detect_scaled(bgr, min(1.0, _FINE_PX / MIN_FACE_PX), untiled))
        dets = np.concatenate(found, axis=0)
        dets = nms(dets[dets[:, 14] >= _CANDIDATE_MIN])
        if not len(dets):
            return dets, bgr
        bgr = to_bgr(rgb) if bgr is None else bgr
        refined = [self._refine(bgr, row) for row in dets]
        kept = [r for r in refined if r[14] >= DET_SCORE_MIN]
        if not kept:
            return np.zeros((0, 15), np.float32), bgr
        return nms(np.stack(kept)), bgr

    def _refine(
        self, bgr: npt.NDArray[np.uint8], row: npt.NDArray[np.float32]
    ) -> npt.NDArray[np.float32]:
        """Re-detect one face in a crop rescaled so the face is about
        _REFINE_FACE_PX wide, and take its box and landmarks.

        Landmark precision (and so the alignment and the embedding) then no
        longer depends on which pyramid level found the face. The detection
        score of the pyramid is kept. Falls back to ``row`` if the face is
        not found again.
        """
        h, w = bgr.shape[:2]
        x, y, bw, bh = (float(v) for v in row[:4])
        cx, cy = x + bw / 2, y + bh / 2
        half = max(bw, bh)
        x0, y0 = max(0, int(cx - half)), max(0, int(cy - half))
        x1, y1 = min(w, int(cx + half) + 1), min(h, int(cy + half) + 1)
        if x1 - x0 < 8 or y1 - y0 < 8:
            return row
        k = _REFINE_FACE_PX / max(bw, 1.0)
        crop = bgr[y0:y1, x0:x1]
        size = (max(1, round((x1 - x0) * k)), max(1, round((y1 - y0) * k)))
        interp = cv2.INTER_AREA if k < 1.0 else cv2.INTER_LINEAR
        d = self._run(np.ascontiguousarray(cv2.resize(crop, size, interpolation=interp)))
        if len(d) == 0:
            return row
        d = d.copy()
        d[:, :14] /= k
        d[:, _X_COLS] += x0
        d[:, _Y_COLS] += y0
        best = max(range(len(d)), key=lambda i: iou(d[i], row))
        if iou(d[best], row) < 0.5:
            return row
        out: npt.NDArray[np.float32] = d[best].copy()
        # A confident detection keeps its score; a weak candidate is judged by the closer look.
        if row[14] >= DET_SCORE_MIN:
            out[14] = row[14]
        return out


def to_bgr(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """The image in OpenCV's channel order; ValueError for anything but HxWx3 uint8 RGB."""
    arr = np.asarray(rgb)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(
            f"expected an HxWx3 uint8 RGB image, got shape {arr.shape} dtype {arr.dtype}"
        )
    # cvtColor swaps the channels like arr[:, :, ::-1] does, ~40x faster than numpy's copy.
    return np.asarray(cv2.cvtColor(np.ascontiguousarray(arr), cv2.COLOR_RGB2BGR), np.uint8)
