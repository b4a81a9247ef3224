"""Safe decoding of images and video frames. Never trusts a file's name, size or header."""

from haechi.media.content import BytesContent, Content, FileContent
from haechi.media.decode import decode_media, sniff
from haechi.media.types import Frame, Media, MediaKind

__all__ = [
    "BytesContent",
    "Content",
    "FileContent",
    "Frame",
    "Media",
    "MediaKind",
    "decode_media",
    "sniff",
]
