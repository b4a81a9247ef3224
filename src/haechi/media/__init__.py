"""Safe decoding of images and video frames. Never trusts a file's name, size or header."""

from typing import TYPE_CHECKING, Any

from haechi.media.content import BytesContent, Content, FileContent
from haechi.media.types import Frame, Media, MediaKind

if TYPE_CHECKING:
    from haechi.media.decode import decode_media, frame_at, sniff

__all__ = [
    "BytesContent",
    "Content",
    "FileContent",
    "Frame",
    "Media",
    "MediaKind",
    "decode_media",
    "frame_at",
    "sniff",
]


def __getattr__(name: str) -> Any:
    # The decoders (Pillow plug-ins, PyAV) load on first use: the scan's parent process only
    # names media types, its workers decode.
    if name in ("decode_media", "frame_at", "sniff"):
        from haechi.media import decode

        return getattr(decode, name)
    raise AttributeError(f"module 'haechi.media' has no attribute {name!r}")
