"""Regenerate the figures of docs/evaluation/synthetic.md.

Makes a manipulation set from the public portraits in ../shared/testdata/faces: the face of
one photo is colour-matched (mean and spread in Lab) and blended onto the face of another
with OpenCV's seamlessClone, then saved as JPEG at several qualities and sizes. The authentic
side is the same target photos saved the same way. Measures each forensic cue's AUC, fits the
logistic combination (on half the pairs, reports AUC on the other half) and prints the
baselines (medians on authentic photos) to paste into forensics.py, then runs the analyzer on
the C2PA and generator-metadata fixtures.

    .venv/bin/python tools/eval_synthetic.py [path/to/testdata]
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from haechi.analyzers.synthetic import SyntheticAnalyzer
from haechi.analyzers.synthetic.faces import detect_faces
from haechi.analyzers.synthetic.forensics import CUES, measure
from haechi.config import load_settings
from haechi.media import BytesContent, Frame, decode_media

QUALITIES = (95, 85, 70)
SCALES = (1.0, 0.6)


def auc(pos: list[float], neg: list[float]) -> float:
    p, n = np.asarray(pos), np.asarray(neg)
    wins = (p[:, None] > n[None, :]).sum() + 0.5 * (p[:, None] == n[None, :]).sum()
    return float(wins / (len(p) * len(n)))


def colour_match(src: np.ndarray, ref: np.ndarray) -> np.ndarray:
    a = cv2.cvtColor(src, cv2.COLOR_RGB2LAB).astype(np.float32)
    b = cv2.cvtColor(ref, cv2.COLOR_RGB2LAB).astype(np.float32)
    for c in range(3):
        a[..., c] = (a[..., c] - a[..., c].mean()) / (a[..., c].std() + 1e-3) * b[..., c].std() + b[
            ..., c
        ].mean()
    return cv2.cvtColor(np.clip(a, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)


def swap(
    src: np.ndarray, sbox: tuple[int, ...], dst: np.ndarray, dbox: tuple[int, ...]
) -> np.ndarray:
    sx, sy, sw, sh = sbox
    dx, dy, dw, dh = dbox
    face = cv2.resize(src[sy : sy + sh, sx : sx + sw], (dw, dh), interpolation=cv2.INTER_AREA)
    face = colour_match(face, dst[dy : dy + dh, dx : dx + dw])
    mask = np.zeros((dh, dw), np.uint8)
    cv2.ellipse(mask, (dw // 2, dh // 2), (int(dw * 0.42), int(dh * 0.46)), 0, 0, 360, 255, -1)
    centre = (dx + dw // 2, dy + dh // 2)
    out = cv2.seamlessClone(
        np.ascontiguousarray(face[:, :, ::-1]), np.ascontiguousarray(dst[:, :, ::-1]), mask,
        centre, cv2.NORMAL_CLONE,
    )  # fmt: skip
    return np.ascontiguousarray(out[:, :, ::-1])


def jpeg(rgb: np.ndarray, quality: int, scale: float) -> np.ndarray:
    im = Image.fromarray(rgb)
    if scale != 1.0:
        im = im.resize(
            (round(im.width * scale), round(im.height * scale)), Image.Resampling.LANCZOS
        )
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def cues_of(rgb: np.ndarray) -> dict[str, float] | None:
    frame = Frame(rgb=rgb)
    faces = detect_faces(frame, 1)
    return measure(rgb, faces[0]) if faces else None


def main(testdata: Path) -> None:
    photos = []
    for p in sorted((testdata / "faces").glob("*.jpg")):
        rgb = np.asarray(Image.open(p).convert("RGB"))
        faces = detect_faces(Frame(rgb=rgb), 1)
        # Keep faces fully inside the frame with room for the context ring.
        if faces and min(faces[0].w, faces[0].h) >= 96:
            f = faces[0]
            if f.x > f.w // 2 and f.y > 0 and f.x + 1.5 * f.w < rgb.shape[1]:
                photos.append((p.name, rgb, (f.x, f.y, f.w, f.h)))
    print(f"{len(photos)} usable portraits")
    rows: list[tuple[int, int, str, dict[str, float]]] = []  # (pair, label, condition, cues)
    pair = 0
    for i, (_, dst, dbox) in enumerate(photos):
        for k in (1, 2):
            _, src, sbox = photos[(i + k) % len(photos)]
            fake = swap(src, sbox, dst, dbox)
            for q in QUALITIES:
                for s in SCALES:
                    cond = f"q{q}/x{s}"
                    for label, img in ((1, fake), (0, dst)):
                        if label == 0 and k == 2:
                            continue  # one authentic copy per target and condition
                        got = cues_of(jpeg(img, q, s))
                        if got is not None:
                            rows.append((pair, label, cond, got))
            pair += 1
    names = [c.name for c in CUES]
    pos = [r for r in rows if r[1] == 1]
    neg = [r for r in rows if r[1] == 0]
    print(f"{len(pos)} manipulated, {len(neg)} authentic measurements")
    print(
        "\n| cue | AUC (all) | "
        + " | ".join(f"AUC {q}" for q in QUALITIES)
        + " | authentic median |"
    )
    print("|---|---|" + "---|" * len(QUALITIES) + "---|")
    for n in names:
        per_q = [
            auc([r[3][n] for r in pos if r[2].startswith(f"q{q}")],
                [r[3][n] for r in neg if r[2].startswith(f"q{q}")])
            for q in QUALITIES
        ]  # fmt: skip
        med = float(np.median([r[3][n] for r in neg]))
        print(f"| {n} | {auc([r[3][n] for r in pos], [r[3][n] for r in neg]):.2f} | "
              + " | ".join(f"{a:.2f}" for a in per_q) + f" | {med:.3f} |")  # fmt: skip
    # Logistic regression by gradient descent; fitted on even targets, tested on odd ones.
    x = np.array([[r[3][n] for n in names] for r in rows])
    y = np.array([r[1] for r in rows], float)
    train = np.array([(r[0] // 2) % 2 == 0 for r in rows])
    w, b = np.zeros(len(names)), 0.0
    for _ in range(20000):
        z = 1 / (1 + np.exp(-(x[train] @ w + b)))
        g = z - y[train]
        w -= 0.5 * (x[train].T @ g / train.sum() + 1e-3 * w)
        b -= 0.5 * g.mean()
    pz = 1 / (1 + np.exp(-(x @ w + b)))
    test = ~train
    print(
        "\ncombined (logistic): AUC on held-out targets "
        f"{auc(list(pz[test & (y == 1)]), list(pz[test & (y == 0)])):.2f}"
    )
    pz = 1 / (1 + np.exp(-(x @ w + b - np.log(2))))  # even odds, as in forensics.py
    for thr in (0.5, 0.7, 0.8):
        tpr = float((pz[test & (y == 1)] >= thr).mean())
        fpr = float((pz[test & (y == 0)] >= thr).mean())
        print(f"  at {thr}: {tpr:.0%} of manipulated called, {fpr:.0%} of authentic called")
    print(
        "weights:",
        {n: round(float(v), 3) for n, v in zip(names, w, strict=True)},
        "intercept",
        round(b, 3),
    )

    print("\nfixtures:")
    settings = load_settings(home=Path("/tmp/haechi-eval"), workers=1)
    analyzer = SyntheticAnalyzer(settings)
    for folder in ("c2pa", "ai_metadata"):
        for p in sorted((testdata / folder).iterdir()):
            media = decode_media(BytesContent(p.read_bytes(), p.name), settings.limits)
            got = analyzer.analyze(media)
            strong = [e.line for e in got.evidence if e.points != "info"][:2]
            print(
                f"| {folder}/{p.name} | {got.verdict} | {got.confidence:.2f} | "
                f"{'; '.join(strong)[:140]} |"
            )


if __name__ == "__main__":
    root = (
        Path(sys.argv[1])
        if len(sys.argv) > 1
        else Path(__file__).resolve().parents[2] / "shared" / "testdata"
    )
    main(root)
