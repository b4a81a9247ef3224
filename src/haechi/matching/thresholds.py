"""Each signal type's comparison thresholds, written once: the settings take their defaults from
here, and the matchers, clusters, banks and tools read the settings (or these defaults when no
settings are at hand). Imports nothing, so the settings module can read it.

Must never hold a value calibrated elsewhere under another name: change a threshold here, and
the docs that report its calibration with it."""

from __future__ import annotations

from typing import Final

# PDQ (images) and vPDQ (video frames): Meta's published guidance, as in python-threatexchange
# and HMA. Two hashes match within 31 of 256 bits; a hash of quality under 50 is not trusted;
# two videos match when this share of each one's trusted frames has a match in the other.
PDQ_MAX_DISTANCE: Final[int] = 31
PDQ_MIN_QUALITY: Final[int] = 50
VPDQ_FRAME_SHARE: Final[float] = 0.8
# Beyond ~90 bits unrelated images start to match (random pairs sit near 128).
PDQ_MAX_SAFE_DISTANCE: Final[int] = 90

# Faces (SFace embeddings): cosine similarity at or above which a usable face matches an
# enrolled template. Chosen by scripts/evaluate_faces.py on the 36-photo public set (rule in
# docs/evaluation/faces.md): the largest of the highest impostor score (originals and usable
# degraded copies) and a Gaussian extrapolation of the impostor tail to FAR 1e-4, plus 0.02,
# rounded up to 0.01 (0.421 + 0.02 -> 0.45). On that set it is below every genuine
# original-photo score (min 0.499). Valid only for the model files face_model checks.
FACE_MIN_SIMILARITY: Final[float] = 0.45
