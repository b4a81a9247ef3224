"""One frame of a video by seeking (media.frame_at): the frame decode_media samples at that
time, pixel for pixel, for every sampled time of a clip with B-frames and cuts, from a file
and from bytes, while decoding far fewer frames than the whole video."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from video_clips import panning_clip

from haechi.config import Limits
from haechi.media import BytesContent, FileContent, decode_media, frame_at

LIMITS = Limits()


def test_frame_at_gives_the_sampled_frame_without_decoding_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from haechi.media import video

    path = tmp_path / "pan.mp4"
    panning_clip(path, seconds=8, fps=25)
    sampled = decode_media(FileContent(path, "pan.mp4"), LIMITS).frames
    assert len(sampled) >= 8 and any(f.key and f.t for f in sampled)  # samples and cuts
    data = path.read_bytes()
    for want in sampled:
        for content in (FileContent(path, "pan.mp4"), BytesContent(data, "pan.mp4")):
            got = frame_at(content, want.t, LIMITS)
            assert got.t == want.t and np.array_equal(got.rgb, want.rgb), want.t
    counted: list[int] = []
    real = video._frames

    def counting(*args: object) -> object:
        n = 0
        try:
            for frame in real(*args):  # type: ignore[arg-type]
                n += 1
                yield frame
        finally:  # frame_at stops early: the generator is closed, not exhausted
            counted.append(n)

    monkeypatch.setattr(video, "_frames", counting)
    frame_at(FileContent(path, "pan.mp4"), sampled[-1].t, LIMITS)
    assert counted[0] < 8 * 25 // 2, counted  # one group of pictures, not the whole clip


def test_frame_at_a_still_image_is_the_image(tmp_path: Path) -> None:
    from conftest import jpeg_bytes, noise_image

    path = tmp_path / "a.jpg"
    path.write_bytes(jpeg_bytes(noise_image(3)))
    got = frame_at(FileContent(path, "a.jpg"), None, LIMITS)
    assert np.array_equal(got.rgb, decode_media(FileContent(path, "a.jpg"), LIMITS).frames[0].rgb)
