"""Recognise media by its first bytes, not its name: renamed files are common in the wild.

Images and videos are decoded and analysed; everything else a source hands over (voice
messages, music, Telegram's animated stickers, SVG, documents) is an item of kind `audio` or
`document`: hashed and sighted, never decoded or rendered (`other_kind`)."""

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
AUDIO_EXTENSIONS = frozenset(
    {".mp3", ".m4a", ".aac", ".ogg", ".oga", ".opus", ".wav", ".flac", ".wma", ".amr", ".mka"}
)  # fmt: skip
# Documents worth keeping as evidence when a folder holds them (.hwp: Hangul word processor;
# .tgs: Telegram's animated stickers; .svg is never rendered: it can reference outside files).
DOCUMENT_EXTENSIONS = frozenset(
    {".pdf", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".odt", ".ods", ".odp", ".rtf",
     ".epub", ".hwp", ".hwpx", ".svg", ".svgz", ".tgs"}
)  # fmt: skip
# What a folder scan picks up by name; other files only when their bytes say what they are.
SCAN_EXTENSIONS = MEDIA_EXTENSIONS | AUDIO_EXTENSIONS | DOCUMENT_EXTENSIONS

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
# MPEG-4 audio (iTunes, voice memos): the mp4 container, but nothing to look at.
_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P "}


@dataclass(frozen=True)
class Sniffed:
    """What the first bytes say a file is: an image or a video, and its container format."""

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
        if brand in _AUDIO_BRANDS:
            return None
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


@dataclass(frozen=True)
class Other:
    """A file that is not an image or video: what it is, for the items table."""

    kind: str  # "audio" or "document"
    format: str


def audio_format(head: bytes) -> str | None:
    """The audio container its first bytes name, if any."""
    if head.startswith(b"OggS"):
        return "ogg"  # Telegram's voice messages (Opus in Ogg)
    if len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        # An MPEG audio frame header: layer bits 00 are AAC (ADTS), the others MP1-3.
        return "aac" if head[1] & 0x06 == 0 else "mp3"
    if head.startswith(b"ID3"):
        return "mp3"
    if head.startswith(b"fLaC"):
        return "flac"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head.startswith(b"#!AMR"):
        return "amr"
    if head[4:8] == b"ftyp" and head[8:12] in _AUDIO_BRANDS:
        return "m4a"
    return None


def _document_format(head: bytes) -> str | None:
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return "zip"  # also docx, xlsx, epub, hwpx: named by their extension when they have one
    if head.startswith(b"\x1f\x8b"):
        return "gzip"  # .tgs stickers, .svgz
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "ole"  # old Office files and .hwp
    if b"<svg" in head[:512].lower():
        return "svg"
    return None


def recognised(head: bytes) -> bool:
    """Whether the bytes alone say image, video, audio or a known document type."""
    return (
        sniff(head) is not None
        or audio_format(head) is not None
        or (_document_format(head) in ("pdf", "svg"))
    )


def other_kind(head: bytes, ext: str) -> Other | None:
    """What a file is when it is not an image or video to decode; None when its bytes or its
    name say image or video (a damaged or misnamed picture stays a decode error)."""
    if sniff(head) is not None:
        return None
    audio = audio_format(head)
    if audio is not None:
        return Other("audio", audio)
    if ext in MEDIA_EXTENSIONS or ext in (".mts", ".m2ts"):
        return None
    named = ext[1:] if ext[1:].isalnum() and len(ext) <= 9 else None
    if ext in AUDIO_EXTENSIONS and named:
        return Other("audio", named)
    return Other("document", named or _document_format(head) or "unknown")
