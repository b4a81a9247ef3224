"""The demo corpus: a public-domain photo, generated scenes, a short video, a decompression bomb
and a Telegram Desktop export, all made here and seeded, so every run finds the same things.
Nothing sexual, no private person."""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageOps

from haechi.examples import example_photo, example_photo_path


def astronaut_path() -> Path:
    """NASA's portrait of Eileen Collins (public domain), shipped inside the package."""
    return example_photo_path()


def astronaut() -> Image.Image:
    """The same photo, opened: the face every demo finding is about."""
    return example_photo()


def _jpeg(im: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def scene(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """An unrelated picture: a gradient sky, hills and shapes from a seeded generator."""
    rng = np.random.default_rng(seed)
    w, h = size
    y = np.linspace(0, 1, h)[:, None, None]
    top, bottom = rng.integers(0, 255, 3), rng.integers(0, 255, 3)
    sky = (top * (1 - y) + bottom * y).repeat(w, axis=1).astype(np.uint8)
    im = Image.fromarray(sky)
    draw = ImageDraw.Draw(im)
    for _shape in range(8):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        r = int(rng.integers(20, 120))
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        if rng.random() < 0.5:
            draw.ellipse((x0 - r, y0 - r, x0 + r, y0 + r), fill=colour)
        else:
            draw.rectangle((x0 - r, y0 - r // 2, x0 + r, y0 + r // 2), fill=colour)
    return im


def _video(path: Path, base: Image.Image, seconds: int, fps: int, width: int) -> None:
    """A slow zoom over `base`, encoded with H.264 like most shared clips."""
    src = np.asarray(base)
    h0, w0 = src.shape[:2]
    height = int(width * h0 / w0) // 2 * 2
    with av.open(str(path), "w") as c:
        stream = c.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        n = seconds * fps
        for i in range(n):
            z = 1.0 - 0.15 * i / n
            cw, ch = int(w0 * z), int(h0 * z)
            x, y = (w0 - cw) // 2, (h0 - ch) // 2
            crop = Image.fromarray(src[y : y + ch, x : x + cw]).resize((width, height))
            frame = av.VideoFrame.from_ndarray(np.asarray(crop), format="rgb24")
            for packet in stream.encode(frame):
                c.mux(packet)
        for packet in stream.encode():
            c.mux(packet)


def png_bomb(path: Path, side: int) -> None:
    """A valid 1-bit PNG of side×side pixels that compresses to a few hundred kilobytes."""
    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    comp = zlib.compressobj(9)
    body = b"".join(comp.compress(row) for _row in range(side)) + comp.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return len(data).to_bytes(4, "big") + kind + data + crc.to_bytes(4, "big")

    ihdr = side.to_bytes(4, "big") * 2 + bytes([1, 0, 0, 0, 0])
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


def build_corpus(root: Path) -> dict[str, str]:
    """Write the demo corpus under `root`; returns file → what it is."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "copies").mkdir(exist_ok=True)
    (root / "other").mkdir(exist_ok=True)
    (root / "broken").mkdir(exist_ok=True)
    what: dict[str, str] = {}
    base = astronaut()

    def put(rel: str, data: bytes, desc: str) -> None:
        (root / rel).write_bytes(data)
        what[rel] = desc

    put("original.jpg", _jpeg(base, 95), "the original photo")
    w, h = base.size
    put("copies/resized-50.jpg", _jpeg(base.resize((w // 2, h // 2)), 85), "resized to 50 %")
    put("copies/recompressed-q30.jpg", _jpeg(base, 30), "recompressed at JPEG quality 30")
    put(
        "copies/brighter.jpg",
        _jpeg(ImageEnhance.Brightness(base).enhance(1.25), 80),
        "brightened 25 %",
    )
    put("copies/grey.jpg", _jpeg(ImageOps.grayscale(base).convert("RGB"), 80), "greyscale")
    stamped = base.copy()
    ImageDraw.Draw(stamped).rectangle((w - 140, h - 40, w - 10, h - 10), fill=(255, 255, 255))
    put("copies/stamped.jpg", _jpeg(stamped, 85), "with a 'channel watermark' box")
    m = int(w * 0.1)
    put(
        "copies/cropped-10pct.jpg",
        _jpeg(base.crop((m, m, w - m, h - m)), 85),
        "cropped 10 % per side (PDQ is not built for crops; face matching is)",
    )
    put("copies/mirrored.jpg", _jpeg(ImageOps.mirror(base), 85), "mirrored")
    for i in range(6):
        put(f"other/scene-{i}.jpg", _jpeg(scene(i), 85), "an unrelated generated picture")
    _video(root / "clip.mp4", base, seconds=6, fps=10, width=384)
    what["clip.mp4"] = "a 6 s zoom over the photo (H.264)"
    _video(root / "copies/clip-reencoded.mp4", base, seconds=6, fps=8, width=256)
    what["copies/clip-reencoded.mp4"] = "the same clip, smaller and re-encoded"
    frames = [scene(100 + i, (240, 180)) for i in range(3)]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:], duration=700, loop=0)
    put("other/animated.gif", gif.getvalue(), "an animated GIF (scanned as frames)")
    good = _jpeg(base, 90)
    put("broken/empty.jpg", b"", "a zero-byte file")
    put("broken/truncated.jpg", good[: len(good) // 3], "a JPEG cut off at a third")
    put("broken/not-a-photo.jpg", b"Meeting notes, not a photo.\n", "text with a .jpg name")
    png_bomb(root / "broken/bomb.png", 30_000)
    what["broken/bomb.png"] = "a decompression bomb (30000x30000 pixels)"
    with zipfile.ZipFile(root / "shared-album.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("album/photo-1.jpg", _jpeg(base.resize((w * 3 // 4, h * 3 // 4)), 70))
        zf.writestr("album/scene.jpg", _jpeg(scene(42), 80))
        zf.writestr("../outside.jpg", good)
    what["shared-album.zip"] = "an archive: a copy, a scene, and an entry that tries to escape"
    what.update(_telegram_export(root / TELEGRAM_EXPORT, base))
    return what


TELEGRAM_EXPORT = "telegram-export"
TELEGRAM_PHOTO = "photos/photo_1@01-03-2024_10-00-00.jpg"


def _telegram_export(folder: Path, base: Image.Image) -> dict[str, str]:
    """A Telegram Desktop JSON export of one invented group: a repost of the photo (a copy
    recompressed as Telegram does) between two lines of chat. No real account or room."""
    (folder / "photos").mkdir(parents=True, exist_ok=True)
    w, h = base.size
    (folder / TELEGRAM_PHOTO).write_bytes(_jpeg(base.resize((w * 2 // 3, h * 2 // 3)), 75))
    messages = [
        {
            "id": 101,
            "type": "message",
            "date": "2024-03-01T09:58:00",
            "date_unixtime": "1709287080",
            "from": "Demo Poster",
            "from_id": "user9001",
            "text": "demo: a picture is coming",
        },
        {
            "id": 102,
            "type": "message",
            "date": "2024-03-01T10:00:00",
            "date_unixtime": "1709287200",
            "from": "Demo Poster",
            "from_id": "user9001",
            "photo": TELEGRAM_PHOTO,
            "width": w * 2 // 3,
            "height": h * 2 // 3,
            "text": "demo repost",
        },
        {
            "id": 103,
            "type": "message",
            "date": "2024-03-01T10:02:00",
            "date_unixtime": "1709287320",
            "from": "Demo Viewer",
            "from_id": "user9002",
            "text": "demo: seen",
        },
    ]
    doc = {"name": "Demo group", "type": "private_group", "id": 9000, "messages": messages}
    (folder / "result.json").write_text(
        json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    return {f"{TELEGRAM_EXPORT}/{TELEGRAM_PHOTO}": "the photo reposted in a Telegram group"}
