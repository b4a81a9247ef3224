"""Safe decoding: every bad input gives a MediaError naming the file and the reason."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pillow_heif
import pytest
from conftest import jpeg_bytes, noise_image, write_video
from PIL import Image
from video_clips import panning_clip

from haechi.config import Limits
from haechi.demo_corpus import png_bomb
from haechi.errors import MediaError
from haechi.media import BytesContent, FileContent, decode_media

LIMITS = Limits()


def decode(data: bytes, name: str, limits: Limits = LIMITS):  # type: ignore[no-untyped-def]
    return decode_media(BytesContent(data, name), limits)


def test_jpeg_decodes_to_rgb_frame() -> None:
    m = decode(jpeg_bytes(noise_image(1, (200, 100))), "a.jpg")
    assert (m.kind, m.format, m.width, m.height) == ("image", "jpeg", 200, 100)
    assert m.frames[0].rgb.shape == (100, 200, 3)
    assert m.notes == ()


def test_exif_orientation_is_applied() -> None:
    im = noise_image(2, (200, 100))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    m = decode(jpeg_bytes(im, exif=exif.tobytes()), "rotated.jpg")
    assert (m.width, m.height) == (100, 200)


def test_png_with_alpha_and_palette_images_decode() -> None:
    for mode in ("RGBA", "P", "L", "LA", "I;16"):
        buf = io.BytesIO()
        noise_image(3).convert(mode if mode != "I;16" else "L").convert(mode).save(buf, "PNG")
        m = decode(buf.getvalue(), f"x-{mode}.png")
        assert m.frames[0].rgb.shape[2] == 3, mode


def test_heic_decodes() -> None:
    buf = io.BytesIO()
    heif = pillow_heif.from_pillow(noise_image(4, (128, 96)))
    heif.save(buf, quality=90)
    m = decode(buf.getvalue(), "phone.heic")
    assert (m.kind, m.format, m.width, m.height) == ("image", "heif", 128, 96)


def test_animated_gif_becomes_timed_frames() -> None:
    frames = [noise_image(i, (64, 48)) for i in range(5)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=600, loop=0)
    m = decode(buf.getvalue(), "anim.gif")
    assert m.kind == "video"
    # 5 frames of 0.6 s: samples at 0, 1.2 (first ≥ 1 s), 2.4 (first ≥ 2 s).
    assert [f.t for f in m.frames] == [0.0, 1.2, 2.4]
    assert m.duration == pytest.approx(3.0)


def test_video_frames_at_one_per_second_plus_keyframes(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    write_video(path, seconds=5, fps=10, scene_seconds=1.5)  # cuts at 1.5, 3.0, 4.5 s
    m = decode_media(FileContent(path, "clip.mp4"), LIMITS)
    assert m.kind == "video" and m.format == "mp4"
    assert m.duration == pytest.approx(5.0, abs=0.2)
    times = [f.t for f in m.frames]
    for second in range(5):
        assert any(second <= t < second + 0.2 for t in times if t is not None), times
    keys = [f.t for f in m.frames if f.key]
    assert 1.5 in keys and 4.5 in keys, keys  # scene cuts between the 1 fps marks are kept


def test_video_is_bounded_by_max_duration(tmp_path: Path) -> None:
    path = tmp_path / "long.mp4"
    write_video(path, seconds=6, fps=5)
    m = decode_media(FileContent(path, "long.mp4"), Limits(max_video_seconds=2))
    assert max(f.t or 0 for f in m.frames) <= 2.0
    assert any("limit" in n for n in m.notes)


def test_video_decoding_deadline(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    write_video(path, seconds=3)
    with pytest.raises(MediaError, match=r"clip\.mp4: decoding took longer than"):
        decode_media(FileContent(path, "clip.mp4"), Limits(decode_timeout_seconds=1e-9))


@pytest.mark.parametrize(
    ("name", "make", "reason"),
    [
        ("zero.jpg", lambda: b"", "empty file"),
        ("cut.jpg", lambda: jpeg_bytes(noise_image(5))[:800], "truncated jpeg"),
        ("notes.jpg", lambda: b"shopping list\n", "not an image: the name says .jpg"),
        ("blob.dat", lambda: bytes(range(256)) * 4, "unsupported format"),
        ("cut.png", lambda: _png(noise_image(6))[:300], "png image"),
        ("garbage.gif", lambda: b"GIF89a" + b"\x00" * 50, "gif image"),
        ("fake.mp4", lambda: b"\x00\x00\x00\x18ftypisom" + b"\x00" * 100, "cannot decode mp4"),
    ],
)
def test_bad_input_gives_a_clear_media_error(name: str, make, reason: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MediaError) as info:
        decode(make(), name)
    assert str(info.value).startswith(f"{name}: ")
    assert reason in str(info.value)


def _png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def test_decompression_bomb_is_refused_without_allocating(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    png_bomb(path, 30_000)
    assert path.stat().st_size < 2_000_000
    with pytest.raises(MediaError, match=r"bomb\.png: decompression bomb refused"):
        decode_media(FileContent(path, "bomb.png"), LIMITS)


def test_huge_dimensions_over_own_limit_are_refused() -> None:
    data = jpeg_bytes(noise_image(7, (400, 300)))
    with pytest.raises(MediaError, match="400x300 = 120000 pixels, over the limit of 1000"):
        decode(data, "big.jpg", Limits(max_pixels=1000))


def test_file_size_limit() -> None:
    with pytest.raises(MediaError, match="over the limit of 10"):
        decode(jpeg_bytes(noise_image(8)), "x.jpg", Limits(max_file_bytes=10))


def test_wrong_extension_is_decoded_by_content_and_noted() -> None:
    m = decode(_png(noise_image(9)), "holiday.jpg")
    assert m.format == "png"
    assert m.notes == ("extension .jpg does not match content (png)",)


def test_video_with_wrong_extension_still_decodes(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    write_video(path, seconds=2)
    m = decode(path.read_bytes(), "clip.jpg")
    assert m.kind == "video"
    assert "does not match" in m.notes[0]


def test_truncated_video_keeps_frames_before_the_damage(tmp_path: Path) -> None:
    path = tmp_path / "clip.mkv"
    w, h = 160, 120
    import av

    with av.open(str(path), "w", format="matroska") as c:
        s = c.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        for i in range(60):
            frame = av.VideoFrame.from_ndarray(np.asarray(noise_image(i, (w, h))), format="rgb24")
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    data = path.read_bytes()
    m = decode(data[: len(data) * 2 // 3], "cut.mkv")
    assert m.kind == "video" and len(m.frames) >= 2


def test_skipping_unreferenced_frames_takes_the_same_frames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Frames nothing refers to are not decoded between samples; the frames taken (times,
    keyframes and pixels) are those a full decode takes."""
    import av

    from haechi.media import video

    path = tmp_path / "pan.mp4"
    panning_clip(path, seconds=8, fps=25)
    fast = decode_media(FileContent(path, "pan.mp4"), LIMITS)
    counted: list[int] = []
    real = video._frames

    def counting(*args: object) -> object:
        n = 0
        for frame in real(*args):  # type: ignore[arg-type]
            n += 1
            yield frame
        counted.append(n)

    monkeypatch.setattr(video, "_frames", counting)
    decode_media(FileContent(path, "pan.mp4"), LIMITS)
    monkeypatch.setattr(video, "_SKIP_MARGIN", float("inf"))  # never skip
    full = decode_media(FileContent(path, "pan.mp4"), LIMITS)
    assert [(f.t, f.key) for f in fast.frames] == [(f.t, f.key) for f in full.frames]
    assert all(np.array_equal(a.rgb, b.rgb) for a, b in zip(fast.frames, full.frames, strict=True))
    with av.open(str(path)) as c:
        total = c.streams.video[0].frames
    assert counted[0] < counted[1] == total, counted  # some frames were never decoded
