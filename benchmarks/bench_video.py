"""Video scan speed as × real time: SD and HD H.264 clips (196 s in all, scene cuts every
few seconds) scanned with every analyzer, against a plain PyAV decode of the same frames.

The clips are made here from generated scenes (haechi.demo_corpus's seeded gradients and shapes)
and the public-domain example photo, panned slowly so that every frame differs. The
baseline opens each clip with PyAV, decodes every frame (threaded) and converts to RGB only
the frames haechi samples (1 fps and keyframes): what a careful hand-written loop costs.

    HAECHI_BENCH_VIDEO_REPEAT=2 make bench BENCH=video   # best of two scans per figure
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
from run import Result

from haechi.config import load_settings
from haechi.demo_corpus import astronaut, scene
from haechi.media import FileContent, decode_media
from haechi.scan import scan_paths
from haechi.scan.work import Worker
from haechi.store.db import Database

FPS = 25
# (width, height, seconds, clips): 4 SD clips of 30 s and 2 HD clips of 38 s = 196 s.
CLIPS = ((640, 480, 30, 4), (1280, 720, 38, 2))
# A cut every 6.32 s: between the 1 fps samples, so only the keyframe rule finds it.
SCENE_FRAMES = 158
REPEAT = int(os.environ.get("HAECHI_BENCH_VIDEO_REPEAT", "1"))


def _backdrop(seed: int, width: int, height: int) -> np.ndarray:
    """A picture a little larger than the frame, to pan over."""
    im = astronaut() if seed % 5 == 0 else scene(seed)
    big = im.convert("RGB").resize((width + 2 * SCENE_FRAMES, height + 64))
    return np.asarray(big)


def _clip(path: Path, width: int, height: int, seconds: int, seed: int) -> None:
    with av.open(str(path), "w") as c:
        stream = c.add_stream("libx264", rate=FPS, options={"preset": "veryfast"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        backdrop = _backdrop(seed, width, height)
        for i in range(seconds * FPS):
            scene, step = divmod(i, SCENE_FRAMES)
            if step == 0:
                backdrop = _backdrop(seed * 100 + scene, width, height)
            x, y = 2 * step, (step // 4) % 64
            frame = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(backdrop[y : y + height, x : x + width]), format="rgb24"
            )
            for packet in stream.encode(frame):
                c.mux(packet)
        for packet in stream.encode():
            c.mux(packet)


def _corpus(root: Path) -> tuple[list[Path], float]:
    root.mkdir(parents=True)
    paths: list[Path] = []
    total = 0.0
    for width, height, seconds, n in CLIPS:
        for k in range(n):
            p = root / f"clip-{height}p-{k}.mp4"
            _clip(p, width, height, seconds, seed=len(paths) + 1)
            paths.append(p)
            total += seconds
    return paths, total


def _plain_pyav(paths: list[Path], max_side: int) -> int:
    """Every frame decoded, the 1 fps samples and keyframes converted to RGB (scaled as
    haechi scales them); returns how many were converted."""
    converted = 0
    for p in paths:
        with av.open(str(p)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            next_sample = 0.0
            for frame in container.decode(stream):
                t = float(frame.time or 0.0)
                if not (frame.key_frame or t >= next_sample):
                    continue
                side = max(frame.width, frame.height)
                s = min(1.0, max_side / side)
                frame.to_ndarray(
                    format="rgb24", width=round(frame.width * s), height=round(frame.height * s)
                )
                converted += 1
                if t >= next_sample:
                    next_sample = float(int(t) + 1)
    return converted


def _best(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def run(work: Path) -> list[Result]:
    paths, seconds = _corpus(work / "corpus")
    settings = load_settings(home=work / "home")
    plain = _best(lambda: _plain_pyav(paths, settings.limits.frame_max_side), REPEAT)
    decode = _best(
        lambda: [decode_media(FileContent(p, p.name), settings.limits) for p in paths], REPEAT
    )
    frames = sum(
        len(decode_media(FileContent(p, p.name), settings.limits).frames) for p in paths[:1]
    )

    def one_worker() -> float:
        # What one worker spends on the set, in CPU seconds: decoding and every analyzer,
        # without the pool, the database or the findings. Unlike the wall-clock figures it
        # hardly moves with the machine's load (the workers run at nice 5 and yield to it).
        worker = Worker(settings)
        worker.warm()
        started = time.process_time()
        for p in paths:
            worker.run(FileContent(p, p.name))
        return time.process_time() - started

    cpu = min(one_worker() for _ in range(REPEAT))

    def scan(analyzers: list[str] | None) -> None:
        # A fresh data directory each time: a rescan of unchanged files would skip them.
        fresh = load_settings(home=work / f"home-{time.monotonic_ns()}", analyzers=analyzers)
        db = Database(fresh)
        try:
            scan_paths(db, fresh, [work / "corpus"])
        finally:
            db.close()

    scanned = _best(lambda: scan(None), REPEAT)
    scanned_pdq = _best(lambda: scan(["pdq"]), REPEAT)
    label = f"{seconds:.0f} s of SD+HD H.264, {settings.workers} workers"
    return [
        Result(
            f"plain PyAV decode + sampled RGB, × real time ({len(paths)} clips)",
            seconds / plain,
            "×",
        ),
        Result(
            f"haechi decode_media, × real time ({frames} frames in clip 1)",
            seconds / decode,
            "×",
            "plain PyAV",
            seconds / plain,
        ),
        Result(
            "one worker, decode + every analyzer, × real time per CPU second",
            seconds / cpu,
            "×",
        ),
        Result(
            f"haechi scan, pdq only, × real time ({label})",
            seconds / scanned_pdq,
            "×",
            "plain PyAV",
            seconds / plain,
        ),
        Result(
            f"haechi scan, every analyzer, × real time ({label})",
            seconds / scanned,
            "×",
            "plain PyAV",
            seconds / plain,
        ),
    ]
