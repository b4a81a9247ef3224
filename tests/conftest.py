"""Shared fixtures: each test gets its own data directory and database; media is made here."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from haechi.config import Settings, load_settings
from haechi.store.db import Database

# ../shared/testdata beside the checkout; HAECHI_TESTDATA points elsewhere (e.g. from a worktree).
SHARED = Path(
    os.environ.get("HAECHI_TESTDATA") or Path(__file__).resolve().parents[2] / "shared" / "testdata"
)


def shared(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared test data missing: {path}")
    return path


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(home=tmp_path / "home", workers=1)


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings)
    yield database
    database.close()


def noise_image(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A textured picture with structure at several scales, so PDQ has something to hash."""
    rng = np.random.default_rng(seed)
    w, h = size
    small = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
    base = np.asarray(Image.fromarray(small).resize((w, h), Image.Resampling.BICUBIC), np.float32)
    fine = rng.normal(0, 12, (h, w, 3))
    return Image.fromarray(np.clip(base + fine, 0, 255).astype(np.uint8))


def jpeg_bytes(im: Image.Image, quality: int = 90, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality, **kw)
    return buf.getvalue()


def write_video(
    path: Path,
    seconds: float,
    fps: int = 10,
    size: tuple[int, int] = (160, 120),
    scene_seconds: float = 1.0,
) -> None:
    """An H.264 clip whose picture changes every `scene_seconds` (the encoder puts keyframes
    at those cuts)."""
    w, h = size
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        for i in range(int(seconds * fps)):
            rgb = np.asarray(noise_image(int(i / (fps * scene_seconds)), (w, h)))
            for p in s.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


def haechi(
    home: Path, *args: str, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess, as a user would."""
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "haechi", "--home", str(home), *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=600,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"haechi {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        )
    return proc
