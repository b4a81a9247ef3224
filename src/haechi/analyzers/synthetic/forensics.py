"""Training-free forensic cues of face manipulation: a pasted or regenerated face rarely
shares the statistics of the photo around it. Each cue compares the face with a ring of
context around it and reports |log(face / context)|: 0 means "alike", larger means "unlike".

Baselines (the median on authentic photos) and the logistic combination are measured by
tools/eval_synthetic.py on a manipulation set the project makes itself; see
docs/evaluation/synthetic.md. These cues are weak alone and fail on heavy recompression:
they are reasons to look, never proof."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from haechi.analyzers.synthetic.evidence import Evidence
from haechi.analyzers.synthetic.faces import FaceBox
from haechi.media.types import RGB

F32 = npt.NDArray[np.float32]
MIN_FACE = 48  # pixels: smaller faces carry too little texture to compare
WORK_FACE = 128  # faces larger than this are measured on a window scaled by a whole factor


@dataclass(frozen=True)
class Cue:
    """One forensic face cue: its name, what a high value means, its median on authentic photos and
    its logistic weight."""

    name: str
    meaning: str  # one sentence: what a high value means
    baseline: float  # median on authentic photos (tools/eval_synthetic.py)
    weight: float  # logistic coefficient (tools/eval_synthetic.py)


# fmt: off
CUES = (
    Cue("noise", "the face's noise residual differs from its surroundings, as when a face from "
        "another photo is pasted in", 0.538, -0.467),
    Cue("sharpness", "the face is sharper or blurrier than the skin and hair around it",
        0.446, -1.249),
    Cue("blockiness", "the face's JPEG 8×8 block grid differs from the rest, as when it was "
        "compressed separately", 0.042, 0.981),
    Cue("boundary", "edges gather along the face's outline, as along a blending seam",
        0.321, 0.422),
    Cue("spectrum", "the face's high-frequency spectrum differs from its surroundings",
        0.359, 1.198),
)
# fmt: on
# Fitted with twice as many manipulated as authentic samples; minus ln 2 for even odds.
INTERCEPT = 0.661 - 0.693
DECIDE = 0.8  # a face is called manipulated from this calibrated probability


def _masks(
    h: int, w: int, box: tuple[int, int, int, int], row_step: int = 1
) -> tuple[npt.NDArray[np.bool_], ...]:
    """Face core (inner ellipse), boundary band (around the outline) and context ring, for
    rows 0, row_step, 2*row_step, ... of a window h × w."""
    x, y, bw, bh = box
    yy, xx = np.ogrid[0:h:row_step, 0:w]
    # Squared radii against squared bounds: no square root per pixel (a pixel lying exactly on
    # a bound may fall the other way, which moves a cue by ~1e-4 at most).
    r2 = ((xx - (x + bw / 2)) / (bw / 2)) ** 2 + ((yy - (y + bh / 2)) / (bh / 2)) ** 2
    core, band_in, band_out, ring_in, ring_out = _BOUNDS2
    return r2 < core, (r2 >= band_in) & (r2 < band_out), (r2 >= ring_in) & (r2 < ring_out)


_BOUNDS2 = tuple(r * r for r in (0.8, 0.9, 1.15, 1.3, 1.8))


def _ratio(a: float, b: float) -> float:
    return abs(math.log((a + 1e-6) / (b + 1e-6)))


def _blockiness(gray: F32, *masks: npt.NDArray[np.bool_]) -> list[float]:
    """Strength of the 8-pixel grid in each masked region: mean jump across block borders over
    mean jump elsewhere. (The jumps are computed once for all regions.)"""
    dx = np.abs(np.diff(gray, axis=1))
    cols = np.arange(dx.shape[1]) % 8 == 7
    on_dx, off_dx = dx[:, cols], dx[:, ~cols]
    out = []
    for mask in masks:
        m = mask[:, 1:] & mask[:, :-1]
        on = on_dx[m[:, cols]]
        off = off_dx[m[:, ~cols]]
        out.append(1.0 if on.size < 16 or off.size < 16 else float(on.mean() / (off.mean() + 1e-3)))
    return out


def _hf_share(gray: F32, box: tuple[int, int, int, int]) -> float:
    x, y, w, h = box
    patch = gray[y : y + h, x : x + w]
    if patch.shape[0] < 16 or patch.shape[1] < 16:
        return 0.0
    patch = patch - patch.mean()
    win, low, high = _spectrum_masks(*patch.shape)
    p = np.abs(np.fft.rfft2(patch * win)) ** 2
    total = p[low].sum()
    return float(p[high].sum() / (total + 1e-6))


@functools.lru_cache(maxsize=64)
def _spectrum_masks(h: int, w: int) -> tuple[F32, npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """The Hann window of an h × w patch and its spectrum's bands above 0.02 and 0.25 cycles
    per pixel; the same for every face of that size, so made once."""
    win = np.outer(np.hanning(h), np.hanning(w)).astype(np.float32)
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    rad = np.sqrt(fx**2 + fy**2)
    return win, rad > 0.02, rad > 0.25


def measure(rgb: RGB, face: FaceBox) -> dict[str, float] | None:
    """The raw cue values for one face, or None when the face is too small to judge."""
    if min(face.w, face.h) < MIN_FACE:
        return None
    rows_total, cols_total = rgb.shape[:2]
    mx, my = int(face.w * 0.45) + 2, int(face.h * 0.45) + 2
    x0, y0 = max(0, face.x - mx), max(0, face.y - my)
    x1, y1 = min(cols_total, face.x + face.w + mx), min(rows_total, face.y + face.h + my)
    window = rgb[y0:y1, x0:x1]
    gray = cv2.cvtColor(np.ascontiguousarray(window), cv2.COLOR_RGB2GRAY).astype(np.float32)
    box = (face.x - x0, face.y - y0, face.w, face.h)
    h, w = gray.shape
    step = max(1, min(face.w, face.h) // WORK_FACE)
    # JPEG grid first, along full-resolution rows (any resize destroys it); every step-th row.
    masks = _masks(h, w, box, step)
    rows = gray[::step]
    blk = _ratio(*_blockiness(rows, masks[0], masks[2]))
    if step > 1:
        gray = np.ascontiguousarray(gray[::step, ::step])
        box = tuple(v // step for v in box)  # type: ignore[assignment]
        h, w = gray.shape
        masks = _masks(h, w, box)
    core, band, ring = masks
    if ring.sum() < 200 or core.sum() < 200:
        return None
    residual = gray - cv2.medianBlur(gray, 3)
    noise = _ratio(float(np.abs(residual[core]).mean()), float(np.abs(residual[ring]).mean()))
    lap = np.abs(cv2.Laplacian(cv2.GaussianBlur(gray, (0, 0), 1.0), cv2.CV_32F))
    sharp = _ratio(float(lap[core].mean()), float(lap[ring].mean()))
    grad = cv2.magnitude(cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1))
    boundary = math.log(
        (grad[band].mean() + 1e-3) / (0.5 * (grad[core].mean() + grad[ring].mean()) + 1e-3)
    )
    bx, by, bw, bh = box
    ring_patch = (
        (max(0, bx - bw), by, bw, bh) if bx >= bw // 2 else (min(w - bw, bx + bw), by, bw, bh)
    )
    spec = _ratio(_hf_share(gray, box), _hf_share(gray, ring_patch))
    return {
        "noise": noise,
        "sharpness": sharp,
        "blockiness": blk,
        "boundary": max(0.0, boundary),
        "spectrum": spec,
    }


def probability(values: dict[str, float]) -> float:
    """The logistic combination of one face's cue values: the calibrated probability that the face
    was pasted or blended in."""
    z = INTERCEPT + sum(c.weight * values[c.name] for c in CUES)
    return 1 / (1 + math.exp(-z))


def face_evidence(rgb: RGB, faces: list[FaceBox]) -> list[Evidence]:
    """Evidence lines for each face: one per cue and one for their combination, which points to
    manipulation from DECIDE; faces under MIN_FACE pixels and pictures without a face get an info
    line."""
    if not faces:
        return [Evidence("forensics", "no face found, so no face-manipulation cues were measured")]
    out: list[Evidence] = []
    for i, face in enumerate(faces, 1):
        where = f"face {i} at ({face.x}, {face.y}, {face.w}×{face.h})"
        values = measure(rgb, face)
        if values is None:
            out.append(Evidence("forensics", f"{where}: too small (< {MIN_FACE} px) to measure"))
            continue
        for c in CUES:
            v = values[c.name]
            out.append(
                Evidence(
                    f"forensics.{c.name}",
                    f"{where}: {v:.3f} (authentic median {c.baseline:.3f}); high means {c.meaning}",
                    value=round(v, 4),
                    baseline=c.baseline,
                )
            )
        p = probability(values)
        points = "manipulated" if p >= DECIDE else "info"
        out.append(
            Evidence(
                "forensics",
                f"{where}: the cues together give {p:.2f} on the project's paste-and-blend "
                f"test set (called manipulated from {DECIDE:.2f}); weak evidence on its own",
                points,  # type: ignore[arg-type]
                round(p, 3) if points == "manipulated" else 0.0,
            )
        )
    return out
