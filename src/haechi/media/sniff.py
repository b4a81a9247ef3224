"""Recognise media by its first bytes, not its name: renamed files are common in the wild."""

from __future__ import annotations

from dataclasses import dataclass

from haechi.media.types import MediaKind

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff",
     ".heic", ".heif", ".avif"}
)  # fmt: skip
VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi", ".3gp", ".flv", ".ts", ".mpg", ".mpeg",
     ".wmv", ".gifv"}
)  # fmt: skip
MEDIA_EXTENSIONS = IMAGE_EXTENSIONS | VIDEO_EXTENSIONS

# The names each sniffed format usually travels under; anything else is noted, not refused.
FORMAT_EXTENSIONS: dict[str, frozenset[str]] = {
    "jpeg": frozenset({".jpg", ".jpeg", ".jpe", ".jfif"}),
    "png": frozenset({".png"}),
    "gif": frozenset({".gif"}),
    "webp": frozenset({".webp"}),
    "bmp": frozenset({".bmp"}),
    "tiff": frozenset({".tif", ".tiff"}),
    "heif": frozenset({".heic", ".heif"}),
    "avif": frozenset({".avif"}),
    "mp4": frozenset({".mp4", ".m4v", ".mov", ".3gp", ".gifv"}),
    "matroska": frozenset({".mkv", ".webm"}),
    "avi": frozenset({".avi"}),
    "flv": frozenset({".flv"}),
    "asf": frozenset({".wmv", ".asf"}),
    "mpeg": frozenset({".mpg", ".mpeg"}),
    "mpegts": frozenset({".ts", ".mts", ".m2ts"}),
}

_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis"}


@dataclass(frozen=True)
class Sniffed:
    kind: MediaKind
    format: str


def sniff(head: bytes) -> Sniffed | None:
    """Identify an image or video container from its first 64 bytes; None when it is neither."""
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed("image", "jpeg")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("image", "png")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return Sniffed("image", "gif")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed("image", "webp")
    if head[:2] == b"BM" and len(head) >= 14:
        return Sniffed("image", "bmp")
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return Sniffed("image", "tiff")
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIF_BRANDS:
            return Sniffed("image", "avif" if brand.startswith(b"avi") else "heif")
        return Sniffed("video", "mp4")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return Sniffed("video", "matroska")
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return Sniffed("video", "avi")
    if head.startswith(b"FLV\x01"):
        return Sniffed("video", "flv")
    if head.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
        return Sniffed("video", "asf")
    if head[:4] in (b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3"):
        return Sniffed("video", "mpeg")
    return None
