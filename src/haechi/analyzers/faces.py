"""Faces in images and video frames: box, landmarks, detector score, quality and an embedding.

The embedding is stored (base64 of float16, L2-normalised) so that a person enrolled later can be
matched against items already scanned without decoding their media again. It is never compared
with anything but an enrolled person's templates (see haechi.matching.faces). A face too small,
blurred or turned to judge is recorded with the reason and without an embedding."""

from __future__ import annotations

import base64
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from haechi.analyzers.base import Example, MediaAnalyzer, Signal, example_media
from haechi.analyzers.face_calibration import MODEL_NAME, MODEL_VERSION
from haechi.analyzers.face_detect import UNTILED_MAX_PIXELS
from haechi.analyzers.face_model import Face, FaceModel
from haechi.analyzers.scene import Scene, scene_of
from haechi.config import Settings
from haechi.media import Frame, Media

Vector = npt.NDArray[np.float32]


def pack_embedding(vec: Vector) -> str:
    """An embedding as stored: base64 of little-endian float16 (half the size of float32)."""
    return base64.b64encode(np.asarray(vec, dtype="<f2").tobytes()).decode("ascii")


def unpack_embedding(text: str) -> Vector:
    """A stored embedding back as float32, L2-normalised again (float16 rounding moves its
    length)."""
    v = np.frombuffer(base64.b64decode(text), dtype="<f2").astype(np.float32)
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


@dataclass(frozen=True)
class FaceRecord(Signal):
    """One face found in a frame: where, how well it can be judged and, only when usable, its
    embedding. Never compared with anything but enrolled templates."""

    box: tuple[int, int, int, int]  # x, y, width, height in original pixels
    landmarks: tuple[tuple[float, float], ...]  # eyes, nose tip, mouth corners
    score: float  # detector confidence
    size_px: int
    blur: float  # sharpness: higher is sharper
    pose: float  # 0 frontal .. 1 profile
    usable: bool
    reason: str | None  # why the face cannot be judged, when it cannot
    embedding: str | None  # base64 float16; None for unusable faces

    @classmethod
    def from_face(cls, face: Face) -> FaceRecord:
        """The stored form of a detected face: values rounded, the embedding packed (None for an
        unusable face)."""
        q = face.quality
        return cls(
            box=tuple(int(v) for v in face.box),  # type: ignore[arg-type]
            landmarks=tuple((round(x, 1), round(y, 1)) for x, y in face.landmarks),
            score=round(face.det_score, 4),
            size_px=q.size_px,
            blur=round(q.blur, 4),
            pose=round(q.pose, 3),
            usable=q.usable,
            reason=q.reason,
            embedding=None if face.embedding is None else pack_embedding(face.embedding),
        )

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> FaceRecord:
        """The face from its stored payload (JSON lists back to tuples)."""
        p = dict(payload)
        p["box"] = tuple(p["box"])
        p["landmarks"] = tuple(tuple(xy) for xy in p["landmarks"])
        return cls(**p)

    def vector(self) -> Vector | None:
        """The unit-length embedding, or None for a face that could not be judged."""
        return None if self.embedding is None else unpack_embedding(self.embedding)


@dataclass(frozen=True)
class FaceFrame(Signal):
    """The faces found in one frame: a still image's (t None) or one video frame's."""

    t: float | None  # seconds into a video; None for a still image
    faces: tuple[FaceRecord, ...]
    # The time of the earlier frame of the same shot whose search these faces come from, when
    # this frame was the same picture and was not searched again (see `same_picture`).
    same_as: float | None = None

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> FaceFrame:
        """The frame from its stored payload, faces included."""
        return cls(
            t=payload["t"],
            faces=tuple(FaceRecord.from_payload(f) for f in payload["faces"]),
            same_as=payload.get("same_as"),
        )


@dataclass(frozen=True)
class Faces(Signal):
    """Frames with at least one face (frames without are only counted). `scene`: the
    signatures without its faces (see analyzers.scene) of a still picture with faces, or of a
    video's first frame with faces (stored by version 2 since video frames are compared too;
    videos analysed before have none and are not compared). `frames_searched`: how many of the
    `frames_examined` were searched; the others were the same picture as a searched frame of
    their shot and carry its faces (None: stored before frames were skipped, all searched)."""

    model: str
    model_version: str
    frames_examined: int
    frames: tuple[FaceFrame, ...]
    scene: Scene | None = None
    frames_searched: int | None = None

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Faces:
        """The signal from its stored payload; a version-1 payload has no scene."""
        scene = payload.get("scene")
        return cls(
            model=payload["model"],
            model_version=payload["model_version"],
            frames_examined=payload["frames_examined"],
            frames=tuple(FaceFrame.from_payload(f) for f in payload["frames"]),
            scene=None if scene is None else Scene.from_payload(scene),
            frames_searched=payload.get("frames_searched"),
        )

    def count(self) -> int:
        """The number of faces found across all frames, usable or not."""
        return sum(len(f.faces) for f in self.frames)


@functools.cache
def shared_model() -> FaceModel:
    """One model per process, loaded on first use (or by the scan's fork server, which its
    workers inherit it from)."""
    return FaceModel()


def faces_in_frame(frame: Frame, model: FaceModel | None = None) -> list[Face]:
    """Faces of one frame, found on the frame's shared 640-px copy (see face_model). Memoised
    on the frame: the synthetic-media cues look at the same faces without a second search.
    A video frame (one with a time) is searched without tiles (face_detect.UNTILED_MAX_PIXELS)."""
    m = model or shared_model()
    untiled = 0 if frame.t is None else UNTILED_MAX_PIXELS
    return frame.memo(("faces", m.model_version), lambda: m.detect(frame.rgb, frame.small, untiled))


# Two sampled frames are the same picture, for the face search, when no 8 x 8 window of their
# 640-px grey copies differs by more than SAME_MAX_DIFF grey levels on average. Local on
# purpose: a 40-px face pasted into a still 1280 x 720 scene moved its PDQ hash by only 6-16
# bits (3 scenes measured), within the 16 bits that would call two frames near-identical,
# while it changes its 8 x 8 windows by tens of grey levels. The smallest usable face
# (MIN_FACE_PX = 20 px, 10 px in the 640-px copy of an HD frame) covers a whole window.
# H.264 coding of a still shot moves its windows by about one level between samples (1.1 at
# crf 23, 0.3-1.0 at crf 35, measured), a 40-px face entering it by over 100; grain, motion
# or a cut exceed the limit, and the frame is searched again.
SAME_WINDOW = 8
SAME_MAX_DIFF = 8.0


def _grey(frame: Frame) -> npt.NDArray[np.uint8]:
    return frame.memo(
        ("grey-small",),
        lambda: np.asarray(
            cv2.cvtColor(np.ascontiguousarray(frame.small), cv2.COLOR_RGB2GRAY), np.uint8
        ),
    )


def same_picture(a: Frame, b: Frame) -> bool:
    """Whether `b` shows the same picture as `a` everywhere (see SAME_MAX_DIFF): nothing in
    it, not even a small face, could be there without being in `a`."""
    ga, gb = _grey(a), _grey(b)
    if ga.shape != gb.shape:
        return False
    diff = cv2.absdiff(ga, gb).astype(np.float32)
    local = cv2.blur(diff, (SAME_WINDOW, SAME_WINDOW), borderType=cv2.BORDER_REFLECT)
    return float(local.max()) <= SAME_MAX_DIFF


class FacesAnalyzer(MediaAnalyzer[Faces]):
    """Faces of every decoded frame with the pinned detector and recogniser; OpenCV uses one thread
    when the scan runs several workers."""

    name = "faces"
    # 2: faces of 20-31 px are usable and a small-face pass searches large pictures at full
    # resolution; a still picture with faces keeps its scene signatures. A rescan recomputes
    # version-1 signals, which missed such faces and had no scene.
    version = "2"
    signal_type = Faces

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        if settings.workers > 1:
            # The scan already runs one process per core; OpenCV's own threads would only
            # compete with the other workers.
            cv2.setNumThreads(1)

    def warm(self) -> None:
        """Load the face model now, so the first file does not wait for it."""
        shared_model()

    def analyze(self, item: Media) -> Faces:
        """Faces of every frame that has some, and the scene signatures of the first frame with
        faces."""
        model = shared_model()
        frames = []
        searched = 0
        # The last frame searched in this shot and its faces. A later frame that is the same
        # picture (a still shot, a slide, a frozen frame, a keyframe right before a sample)
        # takes its faces instead of a new search; a keyframe (a cut, as the encoder saw it)
        # is always searched, and the comparison is with the searched frame, never the
        # previous one, so that slow changes cannot add up unseen.
        ref: Frame | None = None
        ref_faces: tuple[FaceRecord, ...] = ()
        for frame in item.frames:
            if ref is not None and not frame.key and same_picture(ref, frame):
                if ref_faces:
                    frames.append(FaceFrame(t=frame.t, faces=ref_faces, same_as=ref.t))
                continue
            found = faces_in_frame(frame, model)
            searched += 1
            ref = frame if item.kind == "video" else None
            ref_faces = tuple(FaceRecord.from_face(f) for f in found)
            if found:
                frames.append(FaceFrame(t=frame.t, faces=ref_faces))
        scene = None
        if frames:
            # A video's scene is that of its first frame with faces (at `frames[0].t`): the
            # same frame of a face-swapped copy finds it, and its homography carries every
            # frame's faces across (a crop or rescale is the same for the whole video).
            first = next(fr for fr in item.frames if fr.t == frames[0].t)
            scene = scene_of(first.rgb, [f.box for f in frames[0].faces])
        return Faces(
            model=model.model,
            model_version=model.model_version,
            frames_examined=len(item.frames),
            frames=tuple(frames),
            scene=scene,
            frames_searched=searched,
        )

    @classmethod
    def json_fields(cls, payload: dict[str, Any]) -> dict[str, Any]:
        """The `faces` key: count, usable count, model and each face's box and quality, never an
        embedding."""
        sig = Faces.from_payload(payload)
        return {
            "faces": {
                "count": sig.count(),
                "usable": sum(f.usable for fr in sig.frames for f in fr.faces),
                "model": sig.model,
                "frames_examined": sig.frames_examined,
                "frames_searched": sig.frames_searched,
                "found": [
                    {
                        "t": fr.t,
                        "box": list(f.box),
                        "score": f.score,
                        "size_px": f.size_px,
                        "blur": f.blur,
                        "pose": f.pose,
                        "usable": f.usable,
                        "reason": f.reason,
                    }
                    for fr in sig.frames
                    for f in fr.faces
                ],
            }
        }

    @classmethod
    def matches_example(cls, got: Faces, expected: Faces) -> bool:
        """Same faces within tolerance: embeddings and sub-pixel values may differ between
        CPUs (int8 ONNX kernels), boxes must agree to IoU 0.8 and usability exactly."""
        if got.model_version != expected.model_version or got.count() != expected.count():
            return False
        pairs = zip(
            (f for fr in got.frames for f in fr.faces),
            (f for fr in expected.frames for f in fr.faces),
            strict=True,
        )
        return all(_iou(a.box, b.box) >= 0.8 and a.usable == b.usable for a, b in pairs)

    @classmethod
    def examples(cls) -> Iterable[Example[Media, Faces]]:
        """NASA's public-domain astronaut portrait (package data): one frontal face, its box
        measured once with the pinned weights; and a generated picture with no face."""
        from haechi.examples import example_photo

        version = MODEL_VERSION
        rgb = np.asarray(example_photo())
        face = FaceRecord(
            box=(178, 64, 90, 108),
            landmarks=(),
            score=0.9,
            size_px=90,
            blur=1.0,
            pose=0.0,
            usable=True,
            reason=None,
            embedding=None,
        )
        yield Example(
            example_media(np.ascontiguousarray(rgb)),
            Faces(MODEL_NAME, version, 1, (FaceFrame(t=None, faces=(face,)),)),
        )
        y, x = np.mgrid[0:240, 0:320]
        plain = np.stack([(x % 256), (y % 256), ((x + y) % 256)], axis=-1).astype(np.uint8)
        yield Example(example_media(plain), Faces(MODEL_NAME, version, 1, ()))


def _iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    iw = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    ih = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)
