"""Faces: detection cost per 1-megapixel image, faces/s, scan throughput with faces on against
the naive baseline (dlib HOG + 128-D ResNet, one image at a time), and the template index over
100k templates (p50 per query, recall@1 against the exact answer)."""

from __future__ import annotations

import io
import os
import statistics
import time
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from run import Result
from sqlalchemy import insert

from haechi.analyzers import face_calibration as fc
from haechi.analyzers import face_model as fz
from haechi.analyzers.face_detect import to_bgr
from haechi.analyzers.faces import FacesAnalyzer
from haechi.config import load_settings
from haechi.demo_corpus import astronaut
from haechi.matching.faces import TemplateIndex
from haechi.media import FileContent, decode_media
from haechi.media.types import Frame
from haechi.scan import scan_paths
from haechi.store.db import Database
from haechi.store.persons import ConsentRecord, FaceTemplate, Person

N_IMAGES = int(os.environ.get("HAECHI_BENCH_FACE_IMAGES", "60"))
N_TEMPLATES = int(os.environ.get("HAECHI_BENCH_TEMPLATES", "100000"))
N_QUERIES = 500


def _corpus(root: Path, n: int) -> list[Path]:
    """1280x800 JPEGs: a textured background; every other one has the astronaut's face pasted
    at 40-200 px wide somewhere (public-domain NASA portrait)."""
    root.mkdir(parents=True)
    rng = np.random.default_rng(11)
    face = astronaut().crop((150, 30, 300, 200))  # the face with some context (face ~90 px)
    paths = []
    for i in range(n):
        small = rng.integers(0, 255, (10, 16, 3), dtype=np.uint8)
        bg = Image.fromarray(small).resize((1280, 800), Image.Resampling.BICUBIC)
        arr = np.asarray(bg, np.float32) + rng.normal(0, 8, (800, 1280, 3))
        im = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
        if i % 2 == 0:
            w = int(rng.integers(40, 200))
            k = w / 90
            patch = face.resize((int(150 * k), int(170 * k)))
            x = int(rng.integers(0, 1280 - patch.width))
            im.paste(patch, (x, int(rng.integers(0, 800 - patch.height))))
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=88)
        p = root / f"{i:04d}.jpg"
        p.write_bytes(buf.getvalue())
        paths.append(p)
    return paths


def _dlib() -> Any | None:
    """dlib HOG detector + 5-point landmarks + 128-D ResNet, from the `bench` extra (the .dat
    files are located without importing face_recognition_models, whose import needs
    pkg_resources)."""
    try:
        import dlib
    except ImportError:
        return None
    spec = find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    models = Path(next(iter(spec.submodule_search_locations))) / "models"
    detector = dlib.get_frontal_face_detector()
    shape = dlib.shape_predictor(str(models / "shape_predictor_5_face_landmarks.dat"))
    net = dlib.face_recognition_model_v1(str(models / "dlib_face_recognition_resnet_model_v1.dat"))

    def run(path: Path) -> int:
        with Image.open(path) as im:
            rgb = np.asarray(im.convert("RGB"))
        n = 0
        for rect in detector(rgb, 1):  # upsample once: HOG needs it for faces under ~80 px
            net.compute_face_descriptor(rgb, shape(rgb, rect))
            n += 1
        return n

    return run


def _index_bench(work: Path) -> list[Result]:
    """Synthetic identities (a random unit centre each, templates = centre + noise), stored as
    real template rows; the index is built through TemplateIndex like in a scan."""
    rng = np.random.default_rng(5)
    per = 20
    persons = N_TEMPLATES // per
    centres = rng.normal(0, 1, (persons, 128)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    vecs = centres.repeat(per, axis=0) + rng.normal(0, 0.06, (persons * per, 128)).astype(
        np.float32
    )
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    settings = load_settings(home=work / "index-home")
    db = Database(settings)
    with db.session() as s:
        s.execute(insert(Person), [{"alias": f"synthetic-{i}"} for i in range(persons)])
        s.execute(
            insert(ConsentRecord),
            [
                {
                    "person_id": i + 1,
                    "text": "synthetic benchmark identity",
                    "consented_by": "-",
                    "for_whom": "-",
                    "scope": "benchmark",
                    "verified_how": "synthetic",
                }
                for i in range(persons)
            ],
        )
        s.execute(
            insert(FaceTemplate),
            [
                {
                    "person_id": i // per + 1,
                    "embedding": vecs[i].astype("<f4").tobytes(),
                    "model": fc.MODEL_NAME,
                    "model_version": fc.MODEL_VERSION,
                    "quality": {},
                }
                for i in range(len(vecs))
            ],
        )
    t = time.perf_counter()
    with db.session() as s:
        index = TemplateIndex.load(s, settings)
    build_s = time.perf_counter() - t
    t = time.perf_counter()
    with db.session() as s:
        TemplateIndex.load(s, settings)
    reload_s = time.perf_counter() - t
    db.close()
    who = rng.integers(0, persons, N_QUERIES)
    queries = centres[who] + rng.normal(0, 0.08, (N_QUERIES, 128)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    ours, exact, agree = [], [], 0
    for q in queries:
        t = time.perf_counter()
        hits = index.search(q[None, :], threshold=-1.0, k=1)[0]
        ours.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        best = int(np.argmax(vecs @ q))
        exact.append((time.perf_counter() - t) * 1000)
        agree += bool(hits) and hits[0].template_id == best + 1
    return [
        Result(
            f"template index search p50 ({len(vecs) // 1000}k templates)",
            statistics.median(ours),
            "ms",
            baseline="exact numpy scan",
            baseline_value=statistics.median(exact),
            higher_is_better=False,
        ),
        Result("template index recall@1 vs exact", agree / N_QUERIES, "share"),
        Result("template index build from the database", build_s, "s", higher_is_better=False),
        Result("template index reload (current file)", reload_s, "s", higher_is_better=False),
    ]


def run(work: Path) -> list[Result]:
    paths = _corpus(work / "corpus", N_IMAGES)
    settings = load_settings(home=work / "home")
    analyzer = FacesAnalyzer(settings)
    media = [decode_media(FileContent(p, p.name), settings.limits) for p in paths]
    analyzer.analyze(media[0])  # load the model before timing

    # Detection alone on the shared 640-px copy, as the scan runs it, vs the obvious way to
    # find small faces: one YuNet pass at full resolution, on the same images.
    model = fz.FaceModel()
    det, det_old = [], []
    for m in media:
        fr = m.frames[0]
        rgb = fr.rgb
        t = time.perf_counter()
        small = Frame(rgb=rgb).small
        model.detect_raw(rgb, small)
        det.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        model.detector._run(to_bgr(rgb))
        det_old.append((time.perf_counter() - t) * 1000)

    n_faces = 0
    ours_found = ours_false = 0
    t = time.perf_counter()
    for i, m in enumerate(media):
        fresh = Frame(rgb=m.frames[0].rgb)  # no cached small copy: count its cost too
        sig = analyzer.analyze(
            type(m)(m.content, m.kind, m.format, m.width, m.height, (fresh,), m.duration)
        )
        n_faces += sig.count()
        if i % 2 == 0:
            ours_found += sig.count() > 0
        else:
            ours_false += sig.count()
    analyze_s = time.perf_counter() - t

    db = Database(settings)
    t = time.perf_counter()
    scan_paths(db, settings, [work / "corpus"])
    scan_rate = N_IMAGES / (time.perf_counter() - t)
    db.close()

    baseline = _dlib()
    naive_rate = None
    naive_found = naive_false = None
    if baseline is not None:
        t = time.perf_counter()
        counts = [baseline(p) for p in paths]
        naive_rate = N_IMAGES / (time.perf_counter() - t)
        naive_found = sum(c > 0 for c in counts[0::2])
        naive_false = sum(counts[1::2])
    else:
        print("  dlib baseline unavailable: pip install -e '.[bench]' (dlib-bin)")
    results = [
        Result(
            "face detection, 1 MP image (ms/image, p50)",
            statistics.median(det),
            "ms",
            baseline="one YuNet pass at full resolution",
            baseline_value=statistics.median(det_old),
            higher_is_better=False,
        ),
        Result(
            "faces analyzer, 1 MP image (ms/image)",
            analyze_s * 1000 / N_IMAGES,
            "ms",
            higher_is_better=False,
        ),
        Result("faces found and embedded per second", n_faces / analyze_s, "faces/s"),
        Result(
            f"scan with faces on ({settings.workers} workers)",
            scan_rate,
            "items/s",
            baseline="dlib HOG+ResNet, one at a time",
            baseline_value=naive_rate,
        ),
        Result(
            "images with a 40-200 px face where it is found",
            ours_found,
            f"of {len(media[0::2])}",
            baseline="dlib HOG",
            baseline_value=naive_found,
        ),
        Result(
            "detections in images with no face",
            ours_false,
            f"in {len(media[1::2])} images",
            baseline="dlib HOG",
            baseline_value=naive_false,
            higher_is_better=False,
        ),
    ]
    return results + _index_bench(work)
