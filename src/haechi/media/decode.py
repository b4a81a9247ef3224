"""Decode a file into frames within hard limits.

Every failure becomes a MediaError that names the file and the reason. Nothing here touches the
network: PyAV is given a file or a memory buffer, never a URL."""

from __future__ import annotations

import re
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import PurePath
from typing import Any, BinaryIO, cast

import av
import av.logging
import numpy as np
import pillow_heif
from PIL import Image, ImageFile, ImageOps, ImageSequence, UnidentifiedImageError

from haechi.config import Limits
from haechi.errors import MediaError
from haechi.media.content import CHUNK, Content, FileContent, read_head
from haechi.media.sniff import FORMAT_EXTENSIONS, IMAGE_EXTENSIONS, Sniffed, sniff
from haechi.media.types import Frame, Media

# Decode errors are stored with the item (scan errors) and stay English: no _() here.

pillow_heif.register_heif_opener()
# Truncated files must fail, not decode as grey: a half image would hash as a different one.
ImageFile.LOAD_TRUNCATED_IMAGES = False

# An animated image can claim millions of 1 ms frames; bound the seeks, not only the samples.
_MAX_ANIMATION_SEEKS = 20_000
_MIN_KEYFRAME_GAP = 0.5
_SPOOL_MEMORY = 32 * 1024 * 1024
_MAX_BYTES_PER_PIXEL = 8
_IMAGE_OVERHEAD = 64 * 1024 * 1024

_DEMUXERS = {
    "mp4": "mp4",
    "matroska": "matroska",
    "avi": "avi",
    "flv": "flv",
    "asf": "asf",
    "mpeg": "mpeg",
    "mpegts": "mpegts",
}
_MAGICLESS = {".ts": "mpegts", ".mts": "mpegts", ".m2ts": "mpegts"}

__all__ = ["decode_media", "frame_at", "sniff"]


def decode_media(content: Content, limits: Limits) -> Media:
    """Decode `content` as an image or a video, whichever its bytes say it is."""
    size = content.size
    if size == 0:
        raise MediaError(content.name, "empty file (0 bytes)")
    if size > limits.max_file_bytes:
        raise MediaError(
            content.name, f"file is {size} bytes, over the limit of {limits.max_file_bytes}"
        )
    sniffed = sniff(read_head(content))
    ext = PurePath(content.name).suffix.lower()
    notes: list[str] = []
    if sniffed is None:
        if ext in _MAGICLESS:
            # MPEG transport streams have no magic number; trust the name, with a named demuxer.
            sniffed = Sniffed("video", _MAGICLESS[ext])
        else:
            raise MediaError(content.name, _unsupported_reason(content, ext))
    elif ext and ext not in FORMAT_EXTENSIONS.get(sniffed.format, frozenset()):
        notes.append(f"extension {ext} does not match content ({sniffed.format})")
    if sniffed.kind == "image":
        # No image within the pixel limit needs more than 8 bytes a pixel (16-bit RGBA,
        # uncompressed) plus metadata; a larger "image" is padding that Pillow would scan
        # byte by byte (a 1 GiB JPEG of zeros: 50 s and more). Its hashes are still stored.
        most = limits.max_pixels * _MAX_BYTES_PER_PIXEL + _IMAGE_OVERHEAD
        if size > most:
            raise MediaError(
                content.name,
                f"image file is {size} bytes, more than any image within the pixel limit of "
                f"{limits.max_pixels} can need ({most} bytes)",
            )
        return _decode_image(content, sniffed.format, limits, notes)
    return _decode_video(content, sniffed.format, limits, notes)


def _unsupported_reason(content: Content, ext: str) -> str:
    head = read_head(content, 512)
    what = "text" if _is_text(head) else "binary data"
    if ext in IMAGE_EXTENSIONS:
        return f"not an image: the name says {ext} but the content is {what}"
    return f"unsupported format: content is {what} of no known image or video type"


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _seekable(content: Content) -> BinaryIO:
    """The content as a seekable file without holding it whole in memory twice: a file is
    read in place; a stream (an archive entry) is copied to a spooled temporary file, in
    memory up to `_SPOOL_MEMORY` and on disk (already unlinked) past it."""
    fh = content.open()
    if fh.seekable():
        return fh
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_MEMORY)  # noqa: SIM115
    with fh:
        shutil.copyfileobj(fh, spool, CHUNK)
    spool.seek(0)
    return cast(BinaryIO, spool)


def _decode_image(content: Content, fmt: str, limits: Limits, notes: list[str]) -> Media:
    try:
        with _seekable(content) as fh, warnings.catch_warnings():
            # Pillow only warns below 2x its global limit; we refuse at our own limit instead.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(fh)
            w, h = im.size
            if w <= 0 or h <= 0:
                raise MediaError(content.name, f"invalid dimensions {w}x{h}")
            if w * h > limits.max_pixels:
                raise MediaError(
                    content.name,
                    f"decompression bomb refused: {w}x{h} = {w * h} pixels, "
                    f"over the limit of {limits.max_pixels}",
                )
            n_frames = int(getattr(im, "n_frames", 1))
            if n_frames > 1:
                return _decode_animation(content, im, fmt, limits, notes)
            im.load()
            orientation = _orientation(im)
            rgb = _to_rgb(ImageOps.exif_transpose(im))
    except MediaError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaError(content.name, f"decompression bomb refused: {exc}") from None
    except UnidentifiedImageError:
        raise MediaError(content.name, f"cannot identify {fmt} image data (corrupt?)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise MediaError(content.name, _image_reason(exc, fmt)) from None
    frame = Frame(rgb=rgb)
    return Media(
        content=content,
        kind="image",
        format=fmt,
        width=frame.width,
        height=frame.height,
        frames=(frame,),
        notes=tuple(notes),
        orientation=orientation,
    )


def _orientation(im: Image.Image) -> int:
    """The EXIF orientation `exif_transpose` applies (1 when absent or unreadable: a hostile
    EXIF block must not cost the picture, and then Pillow does not rotate it either)."""
    try:
        value = im.getexif().get(0x0112, 1)
    except Exception:  # Pillow raises many types on a malformed EXIF block
        return 1
    return value if isinstance(value, int) and 2 <= value <= 8 else 1


def _image_reason(exc: BaseException, fmt: str) -> str:
    msg = str(exc) or type(exc).__name__
    if "truncated" in msg or isinstance(exc, EOFError):
        return f"truncated {fmt} image ({msg})"
    return f"corrupt {fmt} image ({msg})"


def _to_rgb(im: Image.Image) -> np.ndarray[Any, np.dtype[np.uint8]]:
    if im.mode != "RGB":
        im = im.convert("RGB")
    return np.asarray(im, dtype=np.uint8)


def _scaled(w: int, h: int, max_side: int) -> tuple[int, int]:
    side = max(w, h)
    if side <= max_side:
        return w, h
    s = max_side / side
    return max(1, round(w * s)), max(1, round(h * s))


class _Oversized:
    """Frames over the pixel limit: skipped, never converted, and named in the item's notes.
    A small first page must not let a huge later one through (a TIFF's 12th page, an MJPEG
    frame larger than its stream header says)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0
        self.first: str = ""

    def check(self, what: str, w: int, h: int) -> bool:
        """Whether a frame of w x h is over the limit (and noted as skipped)."""
        if w * h <= self.limit:
            return False
        self.skip(f"{what}: {w}x{h} = {w * h} pixels")
        return True

    def skip(self, detail: str) -> None:
        self.count += 1
        if not self.first:
            self.first = detail

    def note(self, notes: list[str]) -> None:
        if self.count:
            notes.append(
                f"{self.count} frame(s) skipped, over the pixel limit of {self.limit} "
                f"(first: {self.first})"
            )


def _decode_animation(
    content: Content, im: Image.Image, fmt: str, limits: Limits, notes: list[str]
) -> Media:
    frames: list[Frame] = []
    t = 0.0
    next_sample = 0.0
    oversized = _Oversized(limits.max_pixels)
    for i, page in enumerate(ImageSequence.Iterator(im)):
        if i >= _MAX_ANIMATION_SEEKS or t > limits.max_video_seconds:
            notes.append(f"animation sampled up to {t:.1f} s (limit)")
            break
        if oversized.check(f"page {i + 1}", page.width, page.height):
            pass
        elif t >= next_sample:
            w, h = _scaled(page.width, page.height, limits.frame_max_side)
            rgb = page.convert("RGB")
            if (w, h) != rgb.size:
                rgb = rgb.resize((w, h), Image.Resampling.BILINEAR)
            frames.append(Frame(rgb=np.asarray(rgb, dtype=np.uint8), t=round(t, 3), key=i == 0))
            next_sample = float(int(t) + 1)
            if len(frames) >= limits.max_video_frames:
                notes.append(f"animation sampled up to {t:.1f} s (frame limit)")
                break
        # GIF frame delays under 20 ms are played as 100 ms by browsers; follow them.
        delay = float(page.info.get("duration", 100) or 100)
        t += (delay if delay >= 20 else 100.0) / 1000.0
    oversized.note(notes)
    if not frames:
        raise MediaError(content.name, f"no frame within the pixel limit of {limits.max_pixels}")
    return Media(
        content=content,
        kind="video",
        format=fmt,
        width=im.width,
        height=im.height,
        frames=tuple(frames),
        duration=round(t, 3),
        notes=tuple(notes),
    )


def _decode_video(content: Content, fmt: str, limits: Limits, notes: list[str]) -> Media:
    started = time.monotonic()
    oversized = _Oversized(limits.max_pixels)
    source: Any = str(content.path) if isinstance(content, FileContent) else _seekable(content)
    frames: list[Frame] = []
    try:
        # The demuxer is named, never probed, and may open no other file or URL: a playlist
        # (HLS, concat) disguised as video could otherwise make ffmpeg fetch or read elsewhere.
        with av.open(
            source,
            mode="r",
            format=_DEMUXERS[fmt],
            options={"protocol_whitelist": "file,pipe"},
        ) as container:
            if not container.streams.video:
                raise MediaError(content.name, f"no video stream in this {fmt} file")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            # FFmpeg refuses to allocate a larger picture: the header's size is not the frames'.
            stream.codec_context.options = {"max_pixels": str(limits.max_pixels)}
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
                w, h = _scaled(frame.width, frame.height, limits.frame_max_side)
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


def frame_at(content: Content, t: float | None, limits: Limits) -> Frame:
    """The frame `decode_media` gives for `t` seconds (the sampled frame nearest it, the same
    pixels), without decoding the rest of the video: the decoder seeks to the keyframe at or
    before `t` and decodes from there. For one frame of a finding (a difference picture) this
    costs one group of pictures instead of the whole video. A still image is decoded whole."""
    sniffed = sniff(read_head(content))
    ext = PurePath(content.name).suffix.lower()
    if sniffed is None and ext in _MAGICLESS:
        sniffed = Sniffed("video", _MAGICLESS[ext])
    if sniffed is None or sniffed.kind != "video" or sniffed.format not in _DEMUXERS or t is None:
        media = decode_media(content, limits)
        return min(media.frames, key=lambda fr: abs((fr.t or 0.0) - (t or 0.0)))
    if content.size > limits.max_file_bytes:
        raise MediaError(
            content.name, f"file is {content.size} bytes, over the limit of {limits.max_file_bytes}"
        )
    fmt = sniffed.format
    started = time.monotonic()
    source: Any = str(content.path) if isinstance(content, FileContent) else _seekable(content)
    best: Any = None
    best_t = 0.0
    try:
        with av.open(
            source, mode="r", format=_DEMUXERS[fmt], options={"protocol_whitelist": "file,pipe"}
        ) as container:
            if not container.streams.video:
                raise MediaError(content.name, f"no video stream in this {fmt} file")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            stream.codec_context.options = {"max_pixels": str(limits.max_pixels)}
            if stream.time_base is not None:
                # backward: the keyframe at or before t, from which every later frame decodes.
                container.seek(int(t / stream.time_base), stream=stream, backward=True)
            for frame in _frames(container, stream, _Oversized(limits.max_pixels)):
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
            w, h = _scaled(best.width, best.height, limits.frame_max_side)
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
    container: Any, stream: Any, oversized: _Oversized, wanted: _Wanted | None = None
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
