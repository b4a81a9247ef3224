"""Faces in video at speed (issue 19 point 6): a sampled frame that shows the same picture as
the last frame searched in its shot takes that frame's faces instead of a new search, and
nothing the user relies on is lost by it: a face in a short shot between cuts, or one that
enters a still shot, is still searched and matched."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
from conftest import noise_image, person_consent, run, testdata
from PIL import Image
from sqlalchemy import select

from haechi.analyzers.faces import faces_in_frame
from haechi.analyzers.pdq import pdq_hex
from haechi.config import Settings
from haechi.demo_corpus import scene as _scene
from haechi.matching.pdq import distance
from haechi.media import FileContent, decode_media
from haechi.media.types import Frame
from haechi.persons.enrol import enrol
from haechi.scan import scan_paths
from haechi.store.db import Database
from haechi.store.findings import Finding

CONSENT = person_consent("match faces and own-media hashes")
FPS = 10


def _photo(name: str) -> Path:
    return testdata("faces", name)


def _rgb(name: str) -> Image.Image:
    with Image.open(_photo(name)) as im:
        return im.convert("RGB")


def _clip(path: Path, frames: list[np.ndarray]) -> None:
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=FPS)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        for f in frames:
            for p in s.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


def _matches(db: Database) -> list[Finding]:
    with db.session() as s:
        q = select(Finding).where(Finding.kind == "face_match").order_by(Finding.id)
        return list(s.scalars(q))


def _her_face_on(scene: Image.Image, face_px: int) -> np.ndarray:
    """`scene` with person_01's face (img11) pasted so that it is `face_px` wide."""
    src = np.asarray(_rgb("img11.jpg"))
    (f,) = [f for f in faces_in_frame(Frame(rgb=src)) if f.quality.usable][:1]
    x, y, w, h = f.box
    m = int(0.6 * w)
    patch = Image.fromarray(src[max(0, y - m) : y + h + m, max(0, x - m) : x + w + m])
    k = face_px / w
    patch = patch.resize((max(1, round(patch.width * k)), max(1, round(patch.height * k))))
    out = scene.copy()
    out.paste(patch, (scene.width // 2, scene.height // 3))
    return np.asarray(out)


def test_her_face_in_a_short_shot_between_cuts_is_matched(
    tmp_path: Path, db: Database, settings: Settings
) -> None:
    enrol(db, settings, "p1", CONSENT, [_photo("img1.jpg"), _photo("img4.jpg")])
    still = np.asarray(noise_image(9, (640, 480)))
    face = np.asarray(_rgb("img11.jpg").resize((360, 480)).crop((-140, 0, 500, 480)))
    # 3.3 s of a still scene, her face for 0.5 s (between two 1 fps samples), the scene again.
    frames = [still] * 33 + [face] * 5 + [still] * 22
    root = tmp_path / "c"
    root.mkdir()
    _clip(root / "short-shot.mp4", frames)
    decoded = decode_media(FileContent(root / "short-shot.mp4", "short-shot.mp4"), settings.limits)
    in_shot = [f.t for f in decoded.frames if f.t is not None and 3.25 <= f.t < 3.8]
    assert in_shot, "the cut must be sampled (as a keyframe) for this test to mean anything"
    scan_paths(db, settings, [root])
    times = sorted(f.details["t"] for f in _matches(db))
    assert times and all(3.25 <= t < 3.8 for t in times), times


def test_her_face_entering_a_still_shot_is_searched_and_matched(
    tmp_path: Path, db: Database, settings: Settings
) -> None:
    enrol(db, settings, "p1", CONSENT, [_photo("img1.jpg"), _photo("img4.jpg")])
    scene = _scene(11).convert("RGB").resize((1280, 720))
    still = np.asarray(scene)
    entered = _her_face_on(scene, 28)
    # PDQ alone would call the two pictures near-identical: a small face hardly moves a
    # global hash. The frame is searched because a local window changed.
    assert distance(pdq_hex(still)[0], pdq_hex(entered)[0]) <= 16
    frames = [still] * 25 + [entered] * 25
    root = tmp_path / "c"
    root.mkdir()
    _clip(root / "enters.mp4", frames)
    scan_paths(db, settings, [root])
    times = sorted(f.details["t"] for f in _matches(db))
    assert times and min(times) >= 2.4, times


def test_the_same_picture_is_not_searched_twice_and_every_frame_keeps_her_face(
    tmp_path: Path,
) -> None:
    home = tmp_path / "h"
    run(home, "enrol", "--alias", "p1", "--consent", "yes, by the person", str(_photo("img1.jpg")))
    root = tmp_path / "c"
    root.mkdir()
    face = np.asarray(_rgb("img11.jpg").resize((360, 480)).crop((-140, 0, 500, 480)))
    _clip(root / "still.mp4", [face] * (5 * FPS))
    (line,) = run(home, "scan", str(root), "--json", "--no-progress").stdout.splitlines()
    faces = json.loads(line)["faces"]
    assert faces["frames_examined"] == 5
    assert faces["frames_searched"] == 1  # the first frame; the other four are the same picture
    assert faces["count"] == 5 and {f["t"] for f in faces["found"]} == {0.0, 1.0, 2.0, 3.0, 4.0}
    (video,) = [json.loads(x) for x in run(home, "findings", "--json").stdout.splitlines()]
    assert len(video["frames"]) == 5  # one finding frame per sampled frame, as before
