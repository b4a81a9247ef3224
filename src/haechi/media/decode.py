"""Decode a file into frames within hard limits.

Every failure becomes a MediaError that names the file and the reason. Nothing here touches the
network: PyAV is given a file or a memory buffer, never a URL.

This module reads what a file is (its bytes, not its name) and hands it to the decoder for its
kind: still images and animations in `haechi.media.image`, video in `haechi.media.video`."""

from __future__ import annotations

from pathlib import PurePath

from haechi.config import Limits
from haechi.errors import MediaError
from haechi.media.content import Content, read_head
from haechi.media.image import decode_image
from haechi.media.sniff import FORMAT_EXTENSIONS, IMAGE_EXTENSIONS, Sniffed, sniff
from haechi.media.types import Frame, Media
from haechi.media.video import DEMUXERS, decode_video, seek_frame

# Decode errors are stored with the item (scan errors) and stay English: no _() here.

_MAX_BYTES_PER_PIXEL = 8
_IMAGE_OVERHEAD = 64 * 1024 * 1024
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
        return decode_image(content, sniffed.format, limits, notes)
    return decode_video(content, sniffed.format, limits, notes)


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


def frame_at(content: Content, t: float | None, limits: Limits) -> Frame:
    """The frame `decode_media` gives for `t` seconds (the sampled frame nearest it, the same
    pixels), without decoding the rest of the video: the decoder seeks to the keyframe at or
    before `t` and decodes from there. For one frame of a finding (a difference picture) this
    costs one group of pictures instead of the whole video. A still image is decoded whole."""
    sniffed = sniff(read_head(content))
    ext = PurePath(content.name).suffix.lower()
    if sniffed is None and ext in _MAGICLESS:
        sniffed = Sniffed("video", _MAGICLESS[ext])
    if sniffed is None or sniffed.kind != "video" or sniffed.format not in DEMUXERS or t is None:
        media = decode_media(content, limits)
        return min(media.frames, key=lambda fr: abs((fr.t or 0.0) - (t or 0.0)))
    if content.size > limits.max_file_bytes:
        raise MediaError(
            content.name, f"file is {content.size} bytes, over the limit of {limits.max_file_bytes}"
        )
    return seek_frame(content, sniffed.format, t, limits)
