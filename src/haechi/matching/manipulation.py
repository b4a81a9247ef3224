"""Same scene, different face: "this picture is that picture with her face put in".

A classifier's "deepfake or not" does not hold up on material from the wild; finding the
picture a fake was made from does. Two stored items are related when

1. their scenes without faces agree: the PDQ of each with its face regions filled flat is within
   `SCENE_PDQ_MAX` bits, or among the `NEAREST` closest, or the two share at least
   `MIN_SHARED_WORDS` keypoint words (among the `WORD_NEAREST` sharing most: a crop moves PDQ
   as far as an unrelated picture, but keeps its keypoints) (the candidate search), and ORB
   keypoints from outside the
   faces agree on one homography under RANSAC with at least `MIN_INLIERS` inliers making up at least
   `MIN_INLIER_SHARE` of the good matches (the proof; it holds across resizes and re-encodes);
2. a face of one, carried onto the other by that homography, lands on a face there (box IoU at
   least `MIN_FACE_IOU`) whose embedding differs more than re-encoding and resizing make one
   face differ (cosine below `FACE_CHANGED_BELOW`; below the match threshold it is another
   person's face by haechi's calibration).

Both items get a `face_changed` finding naming the other, the face region in each, and the
measures. When one side's face there matches an enrolled person and the other's does not,
the side with her face is `likely_manipulated` and the other is its `source`; otherwise the
pair is `altered_pair` ("one of these was altered"). Runs in the scan's writer as an item
matcher (see haechi.hooks), from stored signals only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import cv2
import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session

from haechi.analyzers.face_calibration import MODEL_VERSION
from haechi.analyzers.face_geometry import iou
from haechi.analyzers.faces import FaceFrame, FaceRecord, Faces, FacesAnalyzer
from haechi.analyzers.scene import Scene
from haechi.config import Settings
from haechi.matching.findings import ScannedItem
from haechi.matching.scene_index import SceneIndex, scene_index
from haechi.store.findings import Finding
from haechi.store.models import SignalRow

KIND: Final[str] = "face_changed"
SCENE_PDQ_MAX: Final[int] = 70  # a loose net: the keypoints decide
NEAREST: Final[int] = 16  # the closest scenes are checked whatever their distance
# Unrelated public photos share at most 9 of their 2 x 64 words (630 pairs); crops of 6 % a
# side share 12-56 (make evaluate-manipulation). 16 keeps chance candidates rare at scale.
MIN_SHARED_WORDS: Final[int] = 16
WORD_NEAREST: Final[int] = 16  # at most this many candidates by words
MIN_INLIERS: Final[int] = 20
MIN_INLIER_SHARE: Final[float] = 0.3
MIN_FACE_IOU: Final[float] = 0.5
# Copies of one face re-encoded (JPEG 70) or resized to 60 % keep a cosine of 0.95 or more on the
# public photos (make evaluate-manipulation); face swaps fall to 0.2-0.47, some of them above the
# match threshold: the swapped face keeps the original's outline and light.
FACE_CHANGED_BELOW: Final[float] = 0.7
# Video: a frame of one video is paired with the frame of the other at most this far in time
# (frames are sampled at 1 fps plus keyframes).
FRAME_TOLERANCE_S: Final[float] = 0.3
_RATIO: Final[float] = 0.8  # Lowe's ratio test on the two nearest descriptors
_RANSAC_PX: Final[float] = 0.01  # reprojection tolerance, share of the target's long side


@dataclass(frozen=True)
class SceneMatch:
    """Two pictures' surroundings agreeing on one homography: the RANSAC inlier count, their share
    of the good matches, and the 3 x 3 matrix."""

    inliers: int
    share: float
    homography: npt.NDArray[np.float64]  # maps points of the first picture onto the second


@dataclass(frozen=True)
class FrameChange:
    """Video: a face that differs between a frame of one video and the same frame of the other."""

    t_a: float
    t_b: float
    box_a: tuple[int, int, int, int]
    box_b: tuple[int, int, int, int]
    similarity: float


@dataclass(frozen=True)
class FaceChange:
    """A face region that differs between two pictures of one scene. For two videos: the
    frame where it differs most (`t_a`, `t_b`), every frame where it differs (`frames`), and
    how many frames with a face on both sides were compared."""

    box_a: tuple[int, int, int, int]
    box_b: tuple[int, int, int, int]
    similarity: float  # cosine of the two faces' embeddings
    inliers: int
    share: float
    t_a: float | None = None
    t_b: float | None = None
    frames: tuple[FrameChange, ...] = ()
    compared: int = 0


def match_scenes(a: Scene, b: Scene) -> SceneMatch | None:
    """The homography from `a` to `b` when their keypoints agree on one, else None."""
    pa, da = a.keypoints()
    pb, db = b.keypoints()
    if len(da) < MIN_INLIERS or len(db) < MIN_INLIERS:
        return None
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(da, db, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < _RATIO * p[1].distance]
    if len(good) < MIN_INLIERS:
        return None
    src = pa[[m.queryIdx for m in good]].reshape(-1, 1, 2)
    dst = pb[[m.trainIdx for m in good]].reshape(-1, 1, 2)
    tol = max(3.0, _RANSAC_PX * max(b.width, b.height))
    h, mask = cv2.findHomography(src, dst, cv2.RANSAC, tol)
    if h is None or mask is None:
        return None
    inliers = int(mask.sum())
    share = inliers / len(good)
    det = float(np.linalg.det(h[:2, :2]))
    # A scene seen again is scaled, cropped, perhaps mirrored: never squashed to a line.
    if inliers < MIN_INLIERS or share < MIN_INLIER_SHARE or not 0.01 < abs(det) < 100:
        return None
    return SceneMatch(inliers, share, np.asarray(h, np.float64))


def _usable(frame: FaceFrame) -> list[FaceRecord]:
    return [f for f in frame.faces if f.embedding is not None]


def _usable_faces(sig: Faces) -> list[FaceRecord]:
    return _usable(sig.frames[0]) if sig.frames else []


def _carried(
    faces_a: Sequence[FaceRecord], faces_b: Sequence[FaceRecord], m: SceneMatch
) -> list[tuple[FaceRecord, FaceRecord, float]]:
    """(face of a, face of b it lands on through the homography, their cosine)."""
    out = []
    for fa in faces_a:
        x, y, w, h = fa.box
        corners = np.array([[x, y], [x + w, y + h]], np.float32).reshape(-1, 1, 2)
        p0, p1 = cv2.perspectiveTransform(corners, m.homography).reshape(-1, 2)
        mapped = np.concatenate([np.minimum(p0, p1), np.abs(p1 - p0)]).astype(np.float32)
        for fb in faces_b:
            if iou(mapped, np.array(fb.box, np.float32)) < MIN_FACE_IOU:
                continue
            va, vb = fa.vector(), fb.vector()
            assert va is not None and vb is not None
            out.append((fa, fb, float(np.dot(va, vb))))
    return out


def face_changes(a: Faces, b: Faces, threshold: float = FACE_CHANGED_BELOW) -> list[FaceChange]:
    """Faces of `a` that land, through the scene's homography, on a face of `b` that is not
    the same face (cosine below `threshold`). Empty when the scenes differ. Two videos are
    compared frame by frame (`video_change`)."""
    if a.scene is None or b.scene is None:
        return []
    m = match_scenes(a.scene, b.scene)
    if m is None:
        return []
    if a.frames and b.frames and a.frames[0].t is not None and b.frames[0].t is not None:
        got = video_change(a, b, m, threshold)
        return [] if got is None else [got]
    return [
        FaceChange(fa.box, fb.box, round(sim, 4), m.inliers, round(m.share, 3))
        for fa, fb, sim in _carried(_usable_faces(a), _usable_faces(b), m)
        if sim < threshold
    ]


def video_change(a: Faces, b: Faces, m: SceneMatch, threshold: float) -> FaceChange | None:
    """Two videos of one scene, frame by frame: each frame of `a` with faces is paired with
    the frame of `b` at the same time (the clocks aligned on the frames the scenes were taken
    from, so a trimmed copy still pairs), and each face carried across by the homography is
    compared. The change, when a face differs in at least one frame."""
    offset = (b.frames[0].t or 0.0) - (a.frames[0].t or 0.0)
    changed: list[FrameChange] = []
    compared = 0
    for fr_a in a.frames:
        t = (fr_a.t or 0.0) + offset
        fr_b = min(b.frames, key=lambda f: abs((f.t or 0.0) - t))
        if abs((fr_b.t or 0.0) - t) > FRAME_TOLERANCE_S:
            continue
        pairs = _carried(_usable(fr_a), _usable(fr_b), m)
        compared += bool(pairs)
        for fa, fb, sim in pairs:
            if sim < threshold:
                changed.append(
                    FrameChange(fr_a.t or 0.0, fr_b.t or 0.0, fa.box, fb.box, round(sim, 4))
                )
    if not changed:
        return None
    worst = min(changed, key=lambda c: c.similarity)
    return FaceChange(
        worst.box_a,
        worst.box_b,
        worst.similarity,
        m.inliers,
        round(m.share, 3),
        worst.t_a,
        worst.t_b,
        tuple(changed),
        compared,
    )


def nearest(query: str, pool: Sequence[tuple[str, str]]) -> list[tuple[str, int]]:
    """(key, distance) of the scenes in `pool` ((key, masked PDQ)) worth the keypoint check:
    every one within SCENE_PDQ_MAX, and the NEAREST closest."""
    q = int(query, 16)
    scored = sorted(((q ^ int(h, 16)).bit_count(), k) for k, h in pool)
    return [(k, d) for i, (d, k) in enumerate(scored) if d <= SCENE_PDQ_MAX or i < NEAREST]


def candidates(index: SceneIndex, sha: str, scene: Scene) -> list[tuple[str, int]]:
    """(item, masked-PDQ distance) of the scenes worth comparing with item `sha`: the rule of
    `nearest`, and the WORD_NEAREST sharing most keypoint words when they share at least
    MIN_SHARED_WORDS (a crop). The scan and the evaluation both ask this."""
    return index.nearest(
        scene.masked_pdq,
        sha,
        SCENE_PDQ_MAX,
        NEAREST,
        scene.word_sets(),
        MIN_SHARED_WORDS,
        WORD_NEAREST,
    )


def _faces_of(session: Session, sha: str) -> Faces | None:
    payload = session.scalar(
        select(SignalRow.payload).where(
            SignalRow.item_sha256 == sha,
            SignalRow.analyzer == FacesAnalyzer.name,
            SignalRow.version == FacesAnalyzer.version,
        )
    )
    return None if payload is None else Faces.from_payload(payload)


def _enrolled_at(session: Session, sha: str, box: Sequence[int]) -> int | None:
    """The enrolled person whose face match is at `box` in item `sha`, if any."""
    for f in session.scalars(
        select(Finding).where(Finding.item_sha256 == sha, Finding.kind == "face_match")
    ):
        if list((f.details or {}).get("box") or ()) == list(box):
            return f.person_id
    return None


def record_face_changes(
    session: Session, settings: Settings, items: Sequence[ScannedItem]
) -> list[int]:
    """`face_changed` findings on both items of every pair a new item forms with a stored one
    (inside the caller's transaction); the ids of the new findings."""
    from haechi.matching.findings import _record

    thr = settings.thresholds.face_min_similarity
    new: list[int] = []
    if not any(i.faces is not None and i.faces.scene is not None for i in items):
        return new
    index = scene_index(session)  # this batch's own rows included: they are flushed
    for item in items:
        mine = item.faces
        if mine is None or mine.scene is None or not mine.scene.masked_pdq:
            continue
        if mine.model_version != MODEL_VERSION:
            continue
        for other, dist in candidates(index, item.sha256, mine.scene):
            theirs = _faces_of(session, other)
            if theirs is None or theirs.model_version != MODEL_VERSION:
                continue
            assert theirs.scene is not None  # it has a masked PDQ
            sizes = {
                item.sha256: [mine.scene.width, mine.scene.height],
                other: [theirs.scene.width, theirs.scene.height],
            }
            for ch in face_changes(mine, theirs):
                new.extend(_record_pair(session, _record, item.sha256, other, ch, dist, thr, sizes))
    return new


def _record_pair(
    session: Session,
    record: Any,
    a: str,
    b: str,
    ch: FaceChange,
    dist: int,
    thr: float,
    sizes: dict[str, list[int]],
) -> list[int]:
    pa, pb = _enrolled_at(session, a, ch.box_a), _enrolled_at(session, b, ch.box_b)
    if pa is not None and pb is None:
        roles = ("likely_manipulated", "source")
    elif pb is not None and pa is None:
        roles = ("source", "likely_manipulated")
    else:
        roles = ("altered_pair", "altered_pair")
    new = []
    sides = (
        (a, b, ch.box_a, ch.box_b, roles[0], pa, ch.t_a, ch.t_b, False),
        (b, a, ch.box_b, ch.box_a, roles[1], pb, ch.t_b, ch.t_a, True),
    )
    for sha, other, box, other_box, role, person, t, other_t, flip in sides:
        lead = {
            "likely_manipulated": "likely manipulated: ",
            "source": "the source of a manipulated picture: ",
            "altered_pair": "one of these two was altered: ",
        }[role]
        fid = record(
            session,
            item_sha256=sha,
            kind=KIND,
            person_id=person if role == "likely_manipulated" else None,
            subject=f"item:{other}",
            locus="box=" + ",".join(str(v) for v in box),
            score=ch.similarity,
            threshold=FACE_CHANGED_BELOW,
            reason=(
                f"{lead}same scene as item {other[:12]} with the face region changed: "
                f"{ch.inliers} keypoints outside the faces agree on one geometry "
                f"({ch.share:.0%} of matches), face-masked PDQ distance {dist}, and the faces "
                f"there differ (cosine {ch.similarity:.2f} < {FACE_CHANGED_BELOW:.2f}"
                + (f"; below {thr:.2f}: another person's face)" if ch.similarity < thr else ")")
                + _frames_text(ch, flip)
            ),
            details={
                "related_item": other,
                "role": role,
                "box": list(box),
                "related_box": list(other_box),
                "face_similarity": ch.similarity,
                "inliers": ch.inliers,
                "inlier_share": ch.share,
                "masked_pdq_distance": dist,
                # The pictures the boxes are in (the difference picture crops the decoded item).
                "picture_sizes": sizes,
            }
            | (_video_details(ch, t, other_t, flip) if ch.frames else {}),
        )
        if fid is not None:
            new.append(fid)
    return new


def _frames_text(ch: FaceChange, flip: bool) -> str:
    if not ch.frames:
        return ""
    times = sorted((f.t_b if flip else f.t_a) for f in ch.frames)
    return (
        f"; a video: the face differs in {len({*times})} of {ch.compared} frames compared, "
        f"{times[0]:.1f}-{times[-1]:.1f} s"
    )


def _video_details(ch: FaceChange, t: float | None, other_t: float | None, flip: bool) -> Any:
    """Where in time the face differs, from this side's point of view."""
    return {
        "t": t,
        "related_t": other_t,
        "frames_compared": ch.compared,
        "frames": [
            {
                "t": f.t_b if flip else f.t_a,
                "related_t": f.t_a if flip else f.t_b,
                "box": list(f.box_b if flip else f.box_a),
                "related_box": list(f.box_a if flip else f.box_b),
                "face_similarity": f.similarity,
            }
            for f in ch.frames
        ],
    }
