"""Video, decoded with PyAV (FFmpeg) within the limits: frames sampled at 1 a second plus the
keyframes that mark scene cuts, packet by packet so that a frame over the pixel limit is skipped
and the rest still decode, and frames nothing refers to left undecoded while no sample can need
them; and one frame by seeking to the keyframe before it (`seek_frame`), the same pixels the
sampling gives. The demuxer is always named, never probed. Kept apart from the still images
(`haechi.media.image`) and from the dispatch by content (`haechi.media.decode`)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import av
import av.logging

from haechi.config import Limits
from haechi.errors import MediaError
from haechi.media.bounds import Oversized, scaled, seekable
from haechi.media.content import Content, FileContent
from haechi.media.types import Frame, Media

# Decode errors are stored with the item (scan errors) and stay English: no _() here.

_MIN_KEYFRAME_GAP = 0.5

DEMUXERS = {
    "mp4": "mp4",
    "matroska": "matroska",
    "avi": "avi",
    "flv": "flv",
    "asf": "asf",
    "mpeg": "mpeg",
    "mpegts": "mpegts",
}


def _open(source: Any, fmt: str) -> Any:
    """The container, by the demuxer named for `fmt` and never probed, allowed to open no other
    file or URL: a playlist (HLS, concat) disguised as video could otherwise make ffmpeg fetch
    or read elsewhere."""
    return av.open(
        source, mode="r", format=DEMUXERS[fmt], options={"protocol_whitelist": "file,pipe"}
    )


def _video_stream(container: Any, content: Content, fmt: str, limits: Limits) -> Any:
    """The first video stream, set to refuse pictures over the pixel limit (FFmpeg's own check:
    the header's size is not the frames') and to decode slices in parallel. Frame threads are
    off for the files haechi examines: a frame-threaded decoder can hang for good in
    `avcodec_free_context` when it is freed after the loop left early, or on a damaged stream
    (a mutated MP4 did it in the 100,000-case fuzz run, and an early `break` in the test
    suite; PyAV issues 1117 and 1861). The scan runs one video per worker on every core, so
    frame threads would buy little there anyway."""
    if not container.streams.video:
        raise MediaError(content.name, f"no video stream in this {fmt} file")
    stream = container.streams.video[0]
    if stream.codec_context is None:  # a codec this FFmpeg has no decoder for (fuzz run)
        raise MediaError(content.name, f"no decoder for the video stream in this {fmt} file")
    stream.thread_type = "SLICE"
    stream.codec_context.options = {"max_pixels": str(limits.max_pixels)}
    return stream


def decode_video(content: Content, fmt: str, limits: Limits, notes: list[str]) -> Media:
    """`content`, a `fmt` video by its bytes, as its sampled frames (1 a second and the
    keyframes of scene cuts); `notes` collects what the item's notes should say."""
    started = time.monotonic()
    oversized = Oversized(limits.max_pixels)
    source: Any = str(content.path) if isinstance(content, FileContent) else seekable(content)
    frames: list[Frame] = []
    try:
        with _open(source, fmt) as container:
            stream = _video_stream(container, content, fmt, limits)
            duration = _duration(container, stream)
            width, height = int(stream.codec_context.width), int(stream.codec_context.height)
            if width * height > limits.max_pixels:
                raise MediaError(
                    content.name, f"video frames of {width}x{height} are over the pixel limit"
                )
            next_sample = 0.0
            last_taken = -1.0
            last_key = -1.0  # the previous keyframe's time, taken or not
            wanted = _Wanted()
            for frame in _frames(container, stream, oversized, wanted):
                if time.monotonic() - started > limits.decode_timeout_seconds:
                    raise MediaError(
                        content.name,
                        f"decoding took longer than {limits.decode_timeout_seconds:.0f} s",
                    )
                t = float(frame.time) if frame.time is not None else next_sample
                if t > limits.max_video_seconds:
                    notes.append(f"video sampled up to {limits.max_video_seconds:.0f} s (limit)")
                    break
                # Keyframes mark scene cuts between the 1 fps samples; an all-intra stream
                # (MJPEG) would make every frame one, hence the minimum gap. The gap is waived
                # for a keyframe far from the previous one (a cut in a stream with long GOPs):
                # a shot that starts 0.3 s after a sample and ends before the next one would
                # otherwise not be seen at all.
                is_key = bool(frame.key_frame) and (
                    t - last_taken >= _MIN_KEYFRAME_GAP or t - last_key >= _MIN_KEYFRAME_GAP
                )
                if frame.key_frame:
                    last_key = t
                if not (is_key or t >= next_sample):
                    continue
                if oversized.check(f"frame at {t:.1f} s", frame.width, frame.height):
                    continue
                w, h = scaled(frame.width, frame.height, limits.frame_max_side)
                rgb = frame.to_ndarray(format="rgb24", width=w, height=h)
                frames.append(Frame(rgb=rgb, t=round(t, 3), key=bool(frame.key_frame)))
                last_taken = t
                if t >= next_sample:
                    next_sample = float(int(t) + 1)
                    wanted.next_sample = next_sample
                if len(frames) >= limits.max_video_frames:
                    notes.append(f"video sampled up to {t:.1f} s (frame limit)")
                    break
    except MediaError:
        raise
    except av.error.FFmpegError as exc:
        reason = exc.strerror or str(exc)
        if frames:
            # Keep what decoded before the damage: a truncated clip is still evidence.
            notes.append(f"decoding stopped early: {reason}")
        else:
            raise MediaError(content.name, f"cannot decode {fmt} video ({reason})") from None
    except (OSError, ValueError, EOFError) as exc:
        raise MediaError(content.name, f"cannot decode {fmt} video ({exc})") from None
    finally:
        if not isinstance(source, str):
            source.close()
    oversized.note(notes)
    if not frames:
        raise MediaError(content.name, f"no decodable frames in this {fmt} video")
    return Media(
        content=content,
        kind="video",
        format=fmt,
        width=width,
        height=height,
        frames=tuple(frames),
        duration=duration,
        notes=tuple(notes),
    )


def seek_frame(content: Content, fmt: str, t: float, limits: Limits) -> Frame:
    """The sampled frame nearest `t` seconds of `content`, a `fmt` video by its bytes: the
    decoder seeks to the keyframe at or before `t` and decodes from there (see
    `haechi.media.decode.frame_at`)."""
    started = time.monotonic()
    source: Any = str(content.path) if isinstance(content, FileContent) else seekable(content)
    best: Any = None
    best_t = 0.0
    try:
        with _open(source, fmt) as container:
            stream = _video_stream(container, content, fmt, limits)
            if stream.time_base is not None:
                # backward: the keyframe at or before t, from which every later frame decodes.
                container.seek(int(t / stream.time_base), stream=stream, backward=True)
            for frame in _frames(container, stream, Oversized(limits.max_pixels)):
                if time.monotonic() - started > limits.decode_timeout_seconds:
                    raise MediaError(
                        content.name,
                        f"decoding took longer than {limits.decode_timeout_seconds:.0f} s",
                    )
                ft = float(frame.time) if frame.time is not None else 0.0
                if best is None or abs(ft - t) < abs(best_t - t):
                    best, best_t = frame, ft
                if ft >= t:
                    break  # frames leave the decoder in presentation order
            if best is None:
                raise MediaError(content.name, f"no decodable frame near {t:.1f} s")
            w, h = scaled(best.width, best.height, limits.frame_max_side)
            rgb = best.to_ndarray(format="rgb24", width=w, height=h)
    except MediaError:
        raise
    except av.error.FFmpegError as exc:
        reason = exc.strerror or str(exc)
        raise MediaError(content.name, f"cannot decode {fmt} video ({reason})") from None
    except (OSError, ValueError, EOFError) as exc:
        raise MediaError(content.name, f"cannot decode {fmt} video ({exc})") from None
    finally:
        if not isinstance(source, str):
            source.close()
    return Frame(rgb=rgb, t=round(best_t, 3), key=bool(best.key_frame))


_TOO_MANY_PIXELS = re.compile(r"Picture size (\d+)x(\d+) exceeds specified max pixel count")


class _Wanted:
    """The time of the next 1 fps sample, as the sampling loop last set it. The decoder reads
    it packet by packet to skip what no sample can need; a value that lags behind only makes
    it decode more, never less."""

    def __init__(self) -> None:
        self.next_sample = 0.0


# A packet this much before the next sample (by its own presentation time) is decoded in
# full even when nothing refers to it: margin for timestamps a container rounds.
_SKIP_MARGIN = 0.1


def _frames(
    container: Any, stream: Any, oversized: Oversized, wanted: _Wanted | None = None
) -> Iterator[Any]:
    """The stream's frames, packet by packet, so that a frame FFmpeg refuses for its size is
    skipped and the frames after it still decode.

    With `wanted`, a frame that no other frame refers to (most B-frames) is not decoded at all
    while it lies before the next sample: it could be neither a sample nor a keyframe (a
    keyframe is always a reference), so the frames taken are the same and decoding costs less.
    A packet without a timestamp is always decoded."""
    level = av.logging.get_level()
    # Only with logging on does the error say why (the size); captured, never printed.
    av.logging.set_level(av.logging.ERROR)
    ctx = stream.codec_context
    base = stream.time_base
    skipping = False
    try:
        with av.logging.Capture():
            for packet in container.demux(stream):
                if wanted is not None and base is not None:
                    early = (
                        packet.pts is not None
                        and float(packet.pts * base) < wanted.next_sample - _SKIP_MARGIN
                    )
                    if early != skipping:
                        ctx.skip_frame = "NONREF" if early else "DEFAULT"
                        skipping = early
                try:
                    decoded = stream.decode(packet)
                except av.error.FFmpegError as exc:
                    m = _TOO_MANY_PIXELS.search(str(exc))
                    if m is None:
                        raise
                    t = float(packet.pts * packet.time_base) if packet.pts is not None else 0.0
                    oversized.skip(f"frame at {t:.1f} s: {m.group(1)}x{m.group(2)}")
                    continue
                yield from decoded
    finally:
        av.logging.set_level(level)


def _duration(container: Any, stream: Any) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return round(float(stream.duration * stream.time_base), 3)
    if container.duration is not None:
        return round(float(container.duration) / 1_000_000, 3)
    return None
