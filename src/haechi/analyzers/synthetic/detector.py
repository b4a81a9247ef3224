"""A pluggable trained detector: a centre points `judge.detector_model` at an ONNX file that
keeps the contract in docs/synthetic.md, and its output becomes one more evidence line.

Contract: one float32 input (1, 3, S, S), RGB scaled to [0, 1], S read from the model's input
shape (224 when it is dynamic); the whole frame is resized to S×S. One output holding either a
single value (the probability that the image is fake) or two values (logits or probabilities
of [real, fake], softmaxed here)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image

from haechi.analyzers.models import onnx_session
from haechi.analyzers.synthetic.evidence import Evidence
from haechi.errors import ConfigError
from haechi.i18n import _
from haechi.media.types import RGB

DEFAULT_SIDE = 224


def run_detector(path: Path, rgb: RGB, threshold: float) -> Evidence:
    """An evidence line from a trained fake detector (ONNX, RGB in [0, 1] at its input size): a
    probability or a logit, or two class scores. Raises ConfigError for a model that gives any other
    output."""
    session = onnx_session(path)
    inp = session.get_inputs()[0]
    shape = inp.shape
    side = shape[-1] if len(shape) == 4 and isinstance(shape[-1], int) else DEFAULT_SIDE
    im = Image.fromarray(rgb).resize((side, side), Image.Resampling.BILINEAR)
    x = np.asarray(im, dtype=np.float32).transpose(2, 0, 1)[None] / 255.0
    (out, *_rest) = session.run(None, {inp.name: np.ascontiguousarray(x)})
    flat = np.asarray(out, dtype=np.float64).reshape(-1)
    if flat.size == 1:
        p = float(flat[0])
        if not 0.0 <= p <= 1.0:
            p = 1 / (1 + math.exp(-p))
    elif flat.size == 2:
        if flat.min() >= 0 and abs(flat.sum() - 1) < 1e-3:
            p = float(flat[1])
        else:
            e = np.exp(flat - flat.max())
            p = float(e[1] / e.sum())
    else:
        raise ConfigError(
            _("{path}: the detector gave {size} values; the contract asks for 1 or 2").format(
                path=path, size=flat.size
            )
        )
    called = p >= threshold
    return Evidence(
        "detector",
        f"{path.name} gives {p:.2f} fake (threshold {threshold:.2f}); a trained model's output, "
        "as reliable as its training data is close to this image",
        "manipulated" if called else "info",
        round(p, 3) if called else 0.0,
    )
