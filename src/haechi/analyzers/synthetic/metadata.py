"""Generator metadata: what image generators write into their files.

PNG text chunks (AUTOMATIC1111/Forge `parameters`, ComfyUI `prompt`/`workflow`, InvokeAI,
NovelAI, Fooocus), EXIF (Software, UserComment, ImageDescription), XMP (DigitalSourceType,
CreatorTool) and AUTOMATIC1111's "stealth" metadata hidden in the low bits of pixels.

Everything here reads hostile bytes: chunks are walked by hand with bounds, compressed text is
inflated with a ceiling, JSON is size- and depth-limited, XML is never parsed as a tree (no
entity expansion, no nesting to exhaust). A problem becomes an "unreadable" evidence line."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from haechi.analyzers.synthetic.evidence import Evidence, clip_text, info, unreadable
from haechi.analyzers.synthetic.metadata_exif import exif_evidence, xmp_evidence
from haechi.analyzers.synthetic.metadata_stealth import stealth_evidence
from haechi.analyzers.synthetic.metadata_text import MAX_TEXT, judge_text
from haechi.media.types import RGB

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_TEXT_TOTAL = 16 * 1024 * 1024


@dataclass(frozen=True)
class TextChunk:
    """One PNG text chunk (tEXt, zTXt or iTXt), inflated and decoded."""

    key: str
    text: str


def read_generator_metadata(data: bytes, fmt: str, rgb: RGB | None) -> list[Evidence]:
    """Every trace of a generator the file's metadata holds (PNG text, stealth bits, EXIF, XMP), or
    one line saying none was found; never raises on hostile bytes."""
    out: list[Evidence] = []
    chunks: list[TextChunk] = []
    if data.startswith(PNG_SIGNATURE):
        chunks, problems, has_alpha = _png_text(data)
        out.extend(problems)
        for c in chunks:
            out.extend(judge_text(f"png:{clip_text(c.key, 40)}", c.key, c.text))
        out.extend(stealth_evidence(data, rgb, has_alpha))
    out.extend(exif_evidence(data))
    out.extend(xmp_evidence(data))
    if not any(e.points in ("synthetic", "manipulated") for e in out):
        out.append(info("metadata", "no generator metadata found (it is often stripped)"))
    return out


# --- PNG ------------------------------------------------------------------------------------


def _png_chunks(data: bytes) -> Iterator[tuple[int, bytes, bytes]]:
    pos = len(PNG_SIGNATURE)
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        ctype = data[pos + 4 : pos + 8]
        if pos + 12 + length > len(data):
            raise ValueError(
                f"chunk {ctype.decode('latin-1')!r} at byte {pos} claims {length} bytes, "
                f"past the end of the file ({len(data)} bytes)"
            )
        yield pos, ctype, data[pos + 8 : pos + 8 + length]
        if ctype == b"IEND":
            return
        pos += 12 + length


def _inflate(raw: bytes, what: str) -> bytes:
    d = zlib.decompressobj()
    try:
        out = d.decompress(raw, MAX_TEXT)
    except zlib.error as exc:
        raise ValueError(f"{what}: compressed text is corrupt ({exc})") from None
    if d.unconsumed_tail:
        raise ValueError(f"{what}: inflates to more than {MAX_TEXT} bytes (refused)")
    return out


def _png_text(data: bytes) -> tuple[list[TextChunk], list[Evidence], bool]:
    chunks: list[TextChunk] = []
    problems: list[Evidence] = []
    total = 0
    has_alpha = False
    try:
        for pos, ctype, body in _png_chunks(data):
            if ctype == b"IHDR" and len(body) >= 10:
                has_alpha = body[9] in (4, 6)
            if ctype not in (b"tEXt", b"zTXt", b"iTXt"):
                continue
            name = ctype.decode()
            try:
                chunk = _text_chunk(ctype, body)
            except ValueError as exc:
                problems.append(unreadable(f"png:{name}", f"at byte {pos}: {exc}"))
                continue
            total += len(chunk.text)
            if total > MAX_TEXT_TOTAL:
                problems.append(
                    unreadable(
                        "png", f"more than {MAX_TEXT_TOTAL} bytes of text chunks (rest skipped)"
                    )
                )
                break
            chunks.append(chunk)
    except ValueError as exc:
        problems.append(unreadable("png", str(exc)))
    return chunks, problems, has_alpha


def _text_chunk(ctype: bytes, body: bytes) -> TextChunk:
    key_raw, sep, rest = body.partition(b"\x00")
    if not sep or not 1 <= len(key_raw) <= 79:
        raise ValueError("no keyword, or a keyword longer than 79 bytes")
    key = key_raw.decode("latin-1")
    if ctype == b"tEXt":
        return TextChunk(key, rest.decode("latin-1"))
    if ctype == b"zTXt":
        if not rest or rest[0] != 0:
            raise ValueError(f"zTXt {key!r}: unknown compression method")
        return TextChunk(key, _inflate(rest[1:], f"zTXt {key!r}").decode("latin-1"))
    if len(rest) < 2:
        raise ValueError(f"iTXt {key!r}: truncated")
    compressed, method, rest = rest[0], rest[1], rest[2:]
    _lang, _, rest = rest.partition(b"\x00")
    _translated, _, text = rest.partition(b"\x00")
    if compressed:
        if method != 0:
            raise ValueError(f"iTXt {key!r}: unknown compression method")
        text = _inflate(text, f"iTXt {key!r}")
    try:
        return TextChunk(key, text.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ValueError(f"iTXt {key!r}: text is not valid UTF-8 ({exc.reason})") from None
