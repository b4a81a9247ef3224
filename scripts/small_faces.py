"""Small faces in large scenes: the frozen evaluation set and its measurement.

Usage:  python scripts/small_faces.py [--data DIR] [--out FILE] [--scenes N]

The set: one-megapixel generated scenes (1280 x 800, gradients, shapes and grain; no photo of
anyone), each with three faces from the public test photos pasted at a face width of 20-70 px
(box width of the face as YuNet finds it in the source photo), blended with a feathered ellipse
and saved as JPEG quality 88, as a re-posted picture would be. The generator is seeded
(SEED) and the set is frozen: `FROZEN_SHA256` is the SHA-256 of every scene's pixels and the
placements, checked before any figure is computed, so tuning the detector cannot quietly
change the set it is measured on.

Enrolment: the first photo of each identity (by file name) is its template; the faces pasted
are from the other photos, so a match is between two different photos of one person.
A face counts as found when a detected box covers its centre with IoU >= 0.3, and as matched
when that face is usable and its best template (cosine >= the match threshold) is its own
identity's. A wrong match is any detected face whose best template above the threshold is
another identity's, or any match on a face that was not pasted.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

from haechi.analyzers import face_model as fz
from haechi.media.types import Frame

RGB = npt.NDArray[np.uint8]
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(os.environ.get("HAECHI_TESTDATA") or ROOT / "tests" / "data") / "faces"
SEED = 18
SIZE = (1280, 800)
FACES_PER_SCENE = 3
SCENES = 24
MIN_PX, MAX_PX = 20, 70
JPEG_QUALITY = 88
# SHA-256 over every scene's decoded pixels and placements, in order (see `fingerprint`).
FROZEN_SHA256 = "f9c90a0b8b1587744ffc1177beee91aabf706ff67e9b0dbf2d30e109d0ffb99e"


@dataclass(frozen=True)
class Placed:
    source: str
    identity: str
    box: tuple[int, int, int, int]  # the pasted face's box in the scene


@dataclass(frozen=True)
class Scene:
    name: str
    rgb: RGB
    faces: tuple[Placed, ...]


def identities(data: Path) -> dict[str, str]:
    with (data / "identities.csv").open() as fh:
        return {row["file"]: row["identity"] for row in csv.DictReader(fh)}


def split(data: Path) -> tuple[dict[str, list[str]], list[str]]:
    """(identity -> enrolment photos, photos to paste): the first photo of each identity
    by name is enrolled, the others are pasted."""
    ids = identities(data)
    enrol: dict[str, list[str]] = {}
    paste: list[str] = []
    for name in sorted(ids, key=lambda n: int(n[3:-4])):
        if ids[name] in enrol:
            paste.append(name)
        else:
            enrol[ids[name]] = [name]
    return enrol, paste


def _load(data: Path, name: str) -> RGB:
    with Image.open(data / name) as im:
        return np.asarray(im.convert("RGB"))


def _background(rng: np.random.Generator) -> RGB:
    w, h = SIZE
    low = rng.uniform(30, 225, size=(5, 8, 3)).astype(np.float32)
    img = cv2.resize(low, (w, h), interpolation=cv2.INTER_CUBIC)
    for _ in range(int(rng.integers(12, 24))):
        colour = tuple(float(c) for c in rng.uniform(0, 255, 3))
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        if rng.random() < 0.5:
            cv2.rectangle(
                img, (x, y), (x + int(rng.integers(40, 400)), y + int(rng.integers(40, 300))),
                colour, -1,
            )  # fmt: skip
        else:
            cv2.circle(img, (x, y), int(rng.integers(10, 160)), colour, -1)
    img = cv2.GaussianBlur(img, (0, 0), 2.0)
    img += rng.normal(0, 6, size=img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def _paste(scene: RGB, face: RGB, box: tuple[int, int, int, int], width: int, at: tuple[int, int],
           ) -> tuple[int, int, int, int]:  # fmt: skip
    """Paste the face of `face` (box in its pixels) scaled to `width`, its box's top-left at
    `at`; returns the pasted box in the scene."""
    x, y, bw, bh = box
    s = width / bw
    cx, cy = x + bw / 2, y + bh / 2
    half = 1.0 * max(bw, bh)  # the face and some hair and neck around it
    x0, y0 = max(0, int(cx - half)), max(0, int(cy - half))
    x1, y1 = min(face.shape[1], int(cx + half)), min(face.shape[0], int(cy + half))
    crop = face[y0:y1, x0:x1]
    size = (max(1, round((x1 - x0) * s)), max(1, round((y1 - y0) * s)))
    small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    ph, pw = small.shape[:2]
    mask = np.zeros((ph, pw), np.float32)
    cv2.ellipse(mask, (pw // 2, ph // 2), (max(1, int(pw * 0.45)), max(1, int(ph * 0.48))), 0,
                0, 360, 1.0, -1)  # fmt: skip
    mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, pw / 20))[..., None]
    # Where the face box lands: `at` is the scene position of the box's top-left corner.
    ox = at[0] - round((x - x0) * s)
    oy = at[1] - round((y - y0) * s)
    region = scene[oy : oy + ph, ox : ox + pw].astype(np.float32)
    scene[oy : oy + ph, ox : ox + pw] = np.clip(mask * small + (1 - mask) * region, 0, 255)
    return (at[0], at[1], width, round(bh * s))


def face_boxes(data: Path, names: list[str], model: fz.FaceModel) -> dict[str, tuple[int, ...]]:
    """The largest face's box in each source photo."""
    out = {}
    for name in names:
        found = model.detect(_load(data, name))
        if found:
            out[name] = found[0].box
    return out


def build(data: Path, model: fz.FaceModel, scenes: int = SCENES) -> Iterator[Scene]:
    """The scenes, in order; the same every run (seeded, no clock, no randomness elsewhere)."""
    ids = identities(data)
    _, paste = split(data)
    boxes = face_boxes(data, paste, model)
    sources = [n for n in paste if n in boxes]
    photos = {n: _load(data, n) for n in sources}
    rng = np.random.default_rng(SEED)
    w, h = SIZE
    for i in range(scenes):
        scene = _background(rng)
        placed: list[Placed] = []
        taken: list[tuple[int, int, int, int]] = []
        for _ in range(FACES_PER_SCENE):
            name = sources[int(rng.integers(0, len(sources)))]
            width = int(rng.integers(MIN_PX, MAX_PX + 1))
            box = boxes[name]
            for _try in range(50):
                at = (int(rng.integers(2 * MAX_PX, w - 3 * MAX_PX)),
                      int(rng.integers(2 * MAX_PX, h - 3 * MAX_PX)))  # fmt: skip
                zone = (at[0] - width, at[1] - width, 3 * width, 3 * width)
                if all(_apart(zone, t) for t in taken):
                    break
            taken.append((at[0] - width, at[1] - width, 3 * width, 3 * width))
            got = _paste(scene, photos[name], box, width, at)  # type: ignore[arg-type]
            placed.append(Placed(name, ids[name], got))
        buf = io.BytesIO()
        Image.fromarray(scene).save(buf, "JPEG", quality=JPEG_QUALITY)
        buf.seek(0)
        rgb = np.asarray(Image.open(buf).convert("RGB"))
        yield Scene(f"scene{i:02d}.jpg", rgb, tuple(placed))


def _apart(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] + a[2] <= b[0] or b[0] + b[2] <= a[0] or a[1] + a[3] <= b[1] or b[1] + b[3] <= a[1]


def fingerprint(scenes: list[Scene]) -> str:
    digest = hashlib.sha256()
    for sc in scenes:
        digest.update(sc.name.encode())
        digest.update(hashlib.sha256(sc.rgb.tobytes()).digest())
        digest.update(json.dumps([p.__dict__ for p in sc.faces]).encode())
    return digest.hexdigest()


def _iou(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    iw = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    ih = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


@dataclass
class Tally:
    faces: int = 0
    found: int = 0
    matched: int = 0
    wrong: int = 0
    seconds: float = 0.0
    max_impostor: float = -1.0  # highest cosine of a found face with another identity's template
    by_size: dict[str, list[int]] | None = None

    def to_json(self) -> dict[str, Any]:
        return self.__dict__


def templates(data: Path, model: fz.FaceModel) -> tuple[list[str], npt.NDArray[np.float32]]:
    enrol, _ = split(data)
    ids, vecs = [], []
    for identity, names in sorted(enrol.items()):
        for name in names:
            found = [f for f in model.detect(_load(data, name)) if f.embedding is not None]
            if found:
                ids.append(identity)
                vecs.append(found[0].embedding)
    return ids, np.stack(vecs)


def measure(scenes: list[Scene], model: fz.FaceModel, data: Path) -> Tally:
    ids, vecs = templates(data, model)
    thr = fz.MATCH_THRESHOLD
    tally = Tally(by_size={})
    assert tally.by_size is not None
    for sc in scenes:
        frame = Frame(rgb=sc.rgb)
        t0 = time.perf_counter()
        found = model.detect(frame.rgb, frame.small)
        tally.seconds += time.perf_counter() - t0
        claimed: set[int] = set()
        for p in sc.faces:
            tally.faces += 1
            band = f"{(p.box[2] // 10) * 10}-{(p.box[2] // 10) * 10 + 9}"
            row = tally.by_size.setdefault(band, [0, 0, 0])
            row[0] += 1
            cx, cy = p.box[0] + p.box[2] / 2, p.box[1] + p.box[3] / 2
            hits = [
                i
                for i, f in enumerate(found)
                if _iou(f.box, p.box) >= 0.3
                and f.box[0] <= cx <= f.box[0] + f.box[2]
                and f.box[1] <= cy <= f.box[1] + f.box[3]
            ]
            if not hits:
                continue
            tally.found += 1
            row[1] += 1
            claimed.update(hits)
            face = found[hits[0]]
            if face.embedding is None:
                continue
            sims = vecs @ face.embedding
            others = [float(v) for k, v in enumerate(sims) if ids[k] != p.identity]
            tally.max_impostor = max(tally.max_impostor, *others)
            best = int(np.argmax(sims))
            if sims[best] >= thr:
                if ids[best] == p.identity:
                    tally.matched += 1
                    row[2] += 1
                else:
                    tally.wrong += 1
        for i, f in enumerate(found):
            if (
                i not in claimed
                and f.embedding is not None
                and float(np.max(vecs @ f.embedding)) >= thr
            ):
                tally.wrong += 1
    return tally


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--scenes", type=int, default=SCENES)
    ap.add_argument("--write", type=Path, help="also write the scenes as JPEG into this folder")
    args = ap.parse_args(argv)
    model = fz.FaceModel()
    scenes = list(build(args.data, model, args.scenes))
    fp = fingerprint(scenes)
    if args.scenes == SCENES and fp != FROZEN_SHA256:
        print(f"the set differs from the frozen one: {fp} != {FROZEN_SHA256}", file=sys.stderr)
        return 1
    if args.write:
        args.write.mkdir(parents=True, exist_ok=True)
        for sc in scenes:
            Image.fromarray(sc.rgb).save(args.write / sc.name, quality=95)
    tally = measure(scenes, model, args.data)
    print(json.dumps({"fingerprint": fp, **tally.to_json()}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
