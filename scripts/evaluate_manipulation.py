"""Measure "same scene, different face" on face swaps made from the public test photos.

Usage:  python scripts/evaluate_manipulation.py [--data DIR] [--out DIR] [--limit N]

For every public photo (the "original picture"), a face swap is made with OpenCV: the face of a
photo of another person is warped onto the original's five landmarks (a similarity transform)
and blended in with Poisson cloning over an ellipse around the face. Related pairs: the
original with the swap, with the swap resized to 60 % and re-encoded at JPEG 75, and with the
swap cropped by 6 % on each side and re-encoded. Unrelated pairs (must not be related): every
two different originals, and each original with a plain re-encoded copy of itself (same scene,
same face: a copy, not a manipulation). Only public test photos are used; nothing sexual.

Writes docs/evaluation/manipulation.md (counts, timings) and example pictures (the two face
regions and a heat map of their difference, never more than the face region) into
docs/evaluation/manipulation/.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import itertools
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from haechi.analyzers.base import example_media
from haechi.analyzers.faces import Faces, FacesAnalyzer, shared_model
from haechi.analyzers.scene import shared_words
from haechi.config import load_settings
from haechi.matching.difference import difference_picture, face_region, png
from haechi.matching.manipulation import (
    FACE_CHANGED_BELOW,
    MIN_SHARED_WORDS,
    NEAREST,
    SCENE_PDQ_MAX,
    WORD_NEAREST,
    FaceChange,
    candidates,
    face_changes,
)
from haechi.matching.scene_index import SceneIndex
from haechi.media.types import RGB

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
DEFAULT_DATA = Path(os.environ.get("HAECHI_TESTDATA") or ROOT / "tests" / "data") / "faces"
SEED = 18


def load(path: Path) -> RGB:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def jpeg(rgb: RGB, quality: int) -> RGB:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("RGB"))


def swap(target: RGB, donor: RGB) -> RGB | None:
    """`target` with the largest face of `donor` warped onto its largest face and blended."""
    model = shared_model()
    ft = [f for f in model.detect(target) if f.embedding is not None]
    fd = [f for f in model.detect(donor) if f.embedding is not None]
    if not ft or not fd:
        return None
    t, d = ft[0], fd[0]
    m, _ = cv2.estimateAffinePartial2D(np.float32(d.landmarks), np.float32(t.landmarks))
    if m is None:
        return None
    h, w = target.shape[:2]
    warped = cv2.warpAffine(donor, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    x, y, bw, bh = t.box
    mask = np.zeros((h, w), np.uint8)
    centre = (x + bw // 2, y + int(bh * 0.55))
    cv2.ellipse(mask, centre, (int(bw * 0.42), int(bh * 0.5)), 0, 0, 360, 255, -1)
    ys, xs = np.nonzero(mask)
    if not len(xs):
        return None
    mid = ((int(xs.min()) + int(xs.max())) // 2, (int(ys.min()) + int(ys.max())) // 2)
    bgr = cv2.seamlessClone(
        np.ascontiguousarray(warped[:, :, ::-1]),
        np.ascontiguousarray(target[:, :, ::-1]),
        mask,
        mid,
        cv2.NORMAL_CLONE,
    )
    return np.ascontiguousarray(bgr[:, :, ::-1])


def crop(rgb: RGB, share: float) -> RGB:
    h, w = rgb.shape[:2]
    dy, dx = int(h * share), int(w * share)
    return np.ascontiguousarray(rgb[dy : h - dy, dx : w - dx])


def crop_sides(rgb: RGB, top: float, left: float, bottom: float, right: float) -> RGB:
    """A crop by other shares on each side (the held-out crops: not what was tuned on)."""
    h, w = rgb.shape[:2]
    return np.ascontiguousarray(
        rgb[int(h * top) : h - int(h * bottom), int(w * left) : w - int(w * right)]
    )


def resize(rgb: RGB, k: float) -> RGB:
    h, w = rgb.shape[:2]
    return np.asarray(cv2.resize(rgb, (round(w * k), round(h * k)), interpolation=cv2.INTER_AREA))


@dataclass
class Pic:
    name: str
    rgb: RGB
    faces: Faces


def analyse(name: str, rgb: RGB, analyzer: FacesAnalyzer) -> Pic:
    return Pic(name, rgb, analyzer.analyze(example_media(rgb)))


def key(p: Pic) -> str:
    """A picture's stand-in SHA-256 in the scene index."""
    return hashlib.sha256(p.name.encode()).hexdigest()


def scene_index_of(pool: list[Pic]) -> SceneIndex:
    """The index a scan's writer would hold after storing every picture of `pool`."""
    index = SceneIndex()
    for p in pool:
        if p.faces.scene is not None:
            s = p.faces.scene
            index.add(bytes.fromhex(key(p)), s.masked_pdq, words=s.word_sets())
    return index


def related(a: Pic, b: Pic, index: SceneIndex) -> list[FaceChange]:
    """What a scan that holds every picture of the index records for the pair: the scan's own
    candidate search, then the keypoint proof and the faces."""
    if a.faces.scene is None or b.faces.scene is None:
        return []
    if key(b) not in {k for k, _ in candidates(index, key(a), a.faces.scene)}:
        return []
    return face_changes(a.faces, b.faces)


def _masked_bits(a: Pic, b: Pic) -> int | None:
    """Bits between the face-masked PDQs of two pictures (None: one has no faces)."""
    if a.faces.scene is None or b.faces.scene is None:
        return None
    return (int(a.faces.scene.masked_pdq, 16) ^ int(b.faces.scene.masked_pdq, 16)).bit_count()


def _shared(a: Pic, b: Pic) -> int | None:
    """Keypoint words two pictures share (None: one has no faces)."""
    if a.faces.scene is None or b.faces.scene is None:
        return None
    return shared_words(a.faces.scene.word_sets(), b.faces.scene.word_sets())


def _span(values: list[int | None]) -> str:
    got = [v for v in values if v is not None]
    return f"{min(got)}-{max(got)}" if got else "-"


def heat_picture(a: Pic, b: Pic, ch: FaceChange, path: Path) -> None:
    """The face region of each picture and a heat map of their difference, side by side: the
    picture haechi stores as evidence (haechi.matching.difference)."""
    row = difference_picture(face_region(a.rgb, ch.box_a), face_region(b.rgb, ch.box_b))
    path.write_bytes(png(row))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "evaluation")
    ap.add_argument("--limit", type=int, default=0, help="only the first N photos (a quick run)")
    ap.add_argument("--videos", type=int, default=12, help="clips made from the first N photos")
    args = ap.parse_args(argv)
    with (args.data / "identities.csv").open() as fh:
        ids = {r["file"]: r["identity"] for r in csv.DictReader(fh)}
    names = sorted(ids, key=lambda n: int(n[3:-4]))
    if args.limit:
        names = names[: args.limit]
    analyzer = FacesAnalyzer(load_settings(workers=1))
    rng = np.random.default_rng(SEED)
    t0 = time.perf_counter()
    originals = {n: analyse(n, load(args.data / n), analyzer) for n in names}
    positives: list[tuple[str, Pic, Pic]] = []
    copies: list[tuple[Pic, Pic]] = []
    donors: dict[str, str] = {}
    for n in names:
        others = [m for m in sorted(ids) if ids[m] != ids[n]]
        donor = others[int(rng.integers(0, len(others)))]
        donors[n] = donor
        fake = swap(originals[n].rgb, load(args.data / donor))
        if fake is None:
            continue
        o = originals[n]
        positives.append(("swap", o, analyse(f"{n}+{donor}", jpeg(fake, 92), analyzer)))
        positives.append(
            (
                "swap, 60 % and JPEG 75",
                o,
                analyse(f"{n}+{donor} small", jpeg(resize(fake, 0.6), 75), analyzer),
            )
        )
        positives.append(
            (
                "swap, cropped 6 % a side",
                o,
                analyse(f"{n}+{donor} crop", jpeg(crop(fake, 0.06), 85), analyzer),
            )
        )
        # Held out (written before the crop search was built, never tuned on): a crop of other
        # shares on each side, and a tighter crop that is also resized.
        positives.append(
            (
                "swap, cropped 10 % top, 3 % left, 5 % bottom (held out)",
                o,
                analyse(
                    f"{n}+{donor} crop2",
                    jpeg(crop_sides(fake, 0.10, 0.03, 0.05, 0.0), 85),
                    analyzer,
                ),
            )
        )
        positives.append(
            (
                "swap, cropped 12 % a side and 70 % size (held out)",
                o,
                analyse(f"{n}+{donor} crop3", jpeg(resize(crop(fake, 0.12), 0.7), 80), analyzer),
            )
        )
        copies.append((o, analyse(f"{n} copy", jpeg(o.rgb, 70), analyzer)))
    analysed = time.perf_counter() - t0
    pool = [*originals.values(), *(b for _, _, b in positives), *(b for _, b in copies)]
    index = scene_index_of(pool)
    t1 = time.perf_counter()
    found: dict[str, list[int]] = {}
    examples: list[tuple[Pic, Pic, FaceChange]] = []
    for how, a, b in positives:
        got = related(a, b, index) or related(b, a, index)
        row = found.setdefault(how, [0, 0])
        row[0] += 1
        if got:
            row[1] += 1
            if how == "swap" and len(examples) < 3:
                examples.append((a, b, got[0]))
    false_copy = sum(bool(related(a, b, index) or related(b, a, index)) for a, b in copies)
    pairs = list(itertools.combinations(originals.values(), 2))
    false_other = sum(bool(related(a, b, index) or related(b, a, index)) for a, b in pairs)
    compared = time.perf_counter() - t1
    # The cosine of the face carried across, for every pair whose scenes match (threshold 2:
    # every face counts), to show where FACE_CHANGED_BELOW sits.
    copy_sims = [c.similarity for a, b in copies for c in face_changes(a.faces, b.faces, 2.0)]
    swap_sims = [
        c.similarity
        for h, a, b in positives
        if h == "swap"
        for c in face_changes(a.faces, b.faces, 2.0)
    ]
    n_pairs = len(positives) + len(copies) + len(pairs)
    crop_bits = [_masked_bits(a, b) for h, a, b in positives if h == "swap, cropped 6 % a side"]
    other_bits = [_masked_bits(a, b) for a, b in pairs]
    shared_by: dict[str, list[int | None]] = {}
    alone: dict[str, int] = {}  # related through the words alone, as in a large collection
    for how, a, b in positives:
        s = _shared(a, b)
        shared_by.setdefault(how, []).append(s)
        proof = bool(face_changes(a.faces, b.faces) or face_changes(b.faces, a.faces))
        alone[how] = alone.get(how, 0) + int(proof and s is not None and s >= MIN_SHARED_WORDS)
    other_shared = [_shared(a, b) for a, b in pairs]

    out = args.out
    pics = out / "manipulation"
    pics.mkdir(parents=True, exist_ok=True)
    for old in pics.glob("example*.jpg"):
        old.unlink()
    for i, (a, b, ch) in enumerate(examples, 1):
        heat_picture(a, b, ch, pics / f"example{i}.png")
    lines = [
        "# Same scene, different face: evaluation",
        "",
        "Generated by `make evaluate-manipulation` (scripts/evaluate_manipulation.py); every",
        "figure below comes from that run. Material: the public test photos (tests/data/faces, see",
        "tests/data/SOURCES.md); face swaps made with OpenCV (a photo of another person warped",
        "onto the original's five landmarks and blended with Poisson cloning). Nothing sexual.",
        "",
        "A pair is related when the face-masked PDQ is within "
        f"{SCENE_PDQ_MAX} bits or among the {NEAREST} nearest of all {len(pool)} pictures, or the",
        f"two share at least {MIN_SHARED_WORDS} of their 2 x 64 keypoint words (among the "
        f"{WORD_NEAREST} sharing most;",
        "the candidate search), ORB keypoints outside the faces agree on one homography",
        f"(RANSAC), and the face carried across by it differs (cosine below {FACE_CHANGED_BELOW}).",
        "",
        "| pairs | count | related |",
        "| --- | --- | --- |",
    ]
    for how, (n, k) in found.items():
        lines.append(f"| original and its {how} (must be related) | {n} | {k} ({k / n:.0%}) |")
    lines.append(f"| original and a re-encoded copy (must not be) | {len(copies)} | {false_copy} |")
    lines.append(f"| two different originals (must not be) | {len(pairs)} | {false_other} |")
    lines += [
        "",
        "A crop moves the face-masked PDQ as far as an unrelated picture (each crop of 6 % a",
        f"side is {_span(crop_bits)} bits from its original's; unrelated originals "
        f"{_span(other_bits)} bits from each other),",
        "so what finds it among thousands is the keypoint words. Here, with the PDQ's nearest",
        "set aside (as in a large collection where they are other pictures):",
        "",
        "| pairs | keypoint words shared | related through the words alone |",
        "| --- | --- | --- |",
        *(
            f"| original and its {how} | {_span(v)} | {alone[how]} of {len(v)} |"
            for how, v in shared_by.items()
        ),
        f"| two different originals | {_span(other_shared)} | "
        f"{sum(1 for v in other_shared if v is not None and v >= MIN_SHARED_WORDS)} of "
        f"{len(other_shared)} share {MIN_SHARED_WORDS} or more |",
        "",
        f"{MIN_SHARED_WORDS} words was chosen on the 6 % crops and the unrelated pairs; the two",
        "held-out crops were written before the words existed and never tuned on.",
        "",
        f"Related pairs found: {sum(k for _, k in found.values())} of {len(positives)}; "
        f"false relations: {false_copy + false_other} of {len(copies) + len(pairs)}.",
        "",
        f"Cosine of the face carried across, where the scenes match: re-encoded copies "
        f"{min(copy_sims, default=float('nan')):.2f}-{max(copy_sims, default=float('nan')):.2f} "
        f"({len(copy_sims)} faces); swaps {min(swap_sims, default=float('nan')):.2f}-"
        f"{max(swap_sims, default=float('nan')):.2f} ({len(swap_sims)} faces).",
        "",
        f"Time: analysing {len(originals) + len(positives) + len(copies)} pictures (faces, "
        f"embeddings and scene signatures) {analysed:.1f} s; comparing {n_pairs} pairs "
        f"{compared:.1f} s ({1000 * compared / max(n_pairs, 1):.1f} ms a pair) on this shared "
        "2-core CPU. In a scan only pairs within the masked-PDQ distance are compared.",
        "",
        "## Examples",
        "",
        "Each picture: the face region of the original, the same region of the swap (through",
        "the homography), and a heat map of their difference: the change is in the face. It is",
        "the difference picture a scan stores in the evidence vault for every such pair",
        "(encrypted, logged as `derived`, named by both findings and carried by",
        "`evidence export`): never more than the face region and a small margin.",
        "",
    ]
    for i, (a, b, ch) in enumerate(examples, 1):
        lines.append(
            f"![{a.name} and {b.name}](manipulation/example{i}.png)  \n"
            f"{a.name} / {b.name}: {ch.inliers} inliers ({ch.share:.0%}), face cosine "
            f"{ch.similarity:.2f}"
        )
        lines.append("")
    lines += [
        "## Limits",
        "",
        "- Crops: in a large collection the PDQ nearest are other pictures, and a crop is",
        "  reached by its keypoint words alone (the table above); one that also shrinks the",
        "  picture keeps fewer words and is often missed.",
        "- Tight portraits leave few keypoints outside the face; a pair with under",
        "  20 agreeing keypoints is not related.",
        "- Videos: the scene is taken from the first frame with faces; a video whose faces",
        "  appear only after a cut to another scene is compared on that frame alone.",
        "- Source photos: the candidates are her own media among the scanned items and the",
        "  photos posted in a chat with a request to synthesise (on the message or right beside",
        "  it, by the same author), compared when her face is matched in an item. A request",
        "  photo scanned after that item (a later scan) is compared with it when her face in the",
        "  photo matches her; one whose face does not match her is compared only with items",
        "  scanned after it.",
        "- The swaps here are simple (landmark warp and Poisson blending); a generator that",
        "  also changes hair or background outside the face box is not covered by this set.",
        "",
    ]
    import evaluate_source_photo as esp  # it imports this module's swap
    import manipulation_videos as mv  # it imports this module's pictures and swap

    vrows, _vsecs = mv.video_rows(names[: args.videos], args.data, analyzer, donors)
    tuning, held, ssecs = esp.measure(args.data, names)
    at = esp.SOURCE_AT_LEAST
    caption = esp.example_picture(held, pics / "source_photo.png")
    lines[lines.index("## Limits") : lines.index("## Limits")] = [
        *vrows,
        *esp.section(tuning, held, at, ssecs),
        *(
            ["![a source photo found](manipulation/source_photo.png)  ", caption, ""]
            if caption
            else []
        ),
    ]
    (out / "manipulation.md").write_text("\n".join(lines))
    print("\n".join(lines))
    missed = len(positives) - sum(k for _, k in found.values())
    return 0 if false_copy + false_other == 0 and missed <= len(positives) // 5 else 1


if __name__ == "__main__":
    sys.exit(main())
