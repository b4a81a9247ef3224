"""Generator traces in EXIF (Software, UserComment, ImageDescription, Artist) and XMP
(DigitalSourceType, CreatorTool). XML is scanned for known fields, never parsed as a tree."""

from __future__ import annotations

import io
import re

from PIL import Image

from haechi.analyzers.synthetic.evidence import Evidence, clip_text, info, unreadable
from haechi.analyzers.synthetic.metadata_text import A1111_KEYS, generator_evidence, judge_text

MAX_XMP = 1024 * 1024

# --- EXIF -----------------------------------------------------------------------------------

EXIF_TAGS = {0x0131: "Software", 0x010E: "ImageDescription", 0x013B: "Artist"}
USER_COMMENT = 0x9286
EXIF_IFD = 0x8769


def exif_evidence(data: bytes) -> list[Evidence]:
    """Generator traces in the EXIF tags (Software, ImageDescription, Artist, UserComment)."""
    if b"Exif\x00\x00" not in data[:65536] and b"eXIf" not in data:
        return []
    try:
        with Image.open(io.BytesIO(data)) as im:
            exif = im.getexif()
            fields = {name: exif.get(tag) for tag, name in EXIF_TAGS.items() if tag in exif}
            sub = exif.get_ifd(EXIF_IFD)
            comment = sub.get(USER_COMMENT)
    except Exception as exc:  # Pillow raises many types on a hostile EXIF block
        return [unreadable("exif", f"the EXIF block cannot be read ({clip_text(str(exc), 80)})")]
    out: list[Evidence] = []
    for name, value in fields.items():
        text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        out.extend(
            judge_text(f"exif:{name}", "software" if name == "Software" else "description", text)
        )
    if comment is not None:
        text, problem = _user_comment(comment)
        if problem:
            out.append(unreadable("exif:UserComment", problem))
        elif text:
            if sum(h in text for h in A1111_KEYS) >= 2:
                out.append(
                    generator_evidence(
                        "exif:UserComment", "AUTOMATIC1111 generation parameters", text, 0.93
                    )
                )
            else:
                out.extend(judge_text("exif:UserComment", "comment", text))
    return out


def _user_comment(value: object) -> tuple[str, str | None]:
    """EXIF UserComment: an 8-byte character-code prefix, then the text."""
    if isinstance(value, str):
        return value, None
    if not isinstance(value, bytes):
        return str(value), None
    head, body = value[:8], value[8:]
    if head.startswith(b"UNICODE"):
        for enc in ("utf-16-be", "utf-16-le"):
            try:
                text = body.decode(enc)
            except UnicodeDecodeError:
                continue
            if text and all(c.isprintable() or c in "\n\r\t" for c in text[:200]):
                return text, None
        return "", "UNICODE text that is neither UTF-16 big- nor little-endian"
    if head.startswith(b"ASCII") or head == b"\x00" * 8:
        return body.decode("latin-1").strip("\x00 "), None
    try:
        return value.decode("utf-8").strip("\x00 "), None
    except UnicodeDecodeError:
        return "", f"unknown character code {head!r}"


# --- XMP ------------------------------------------------------------------------------------

_XMP_FIELDS = {
    "DigitalSourceType": re.compile(
        r"DigitalSourceType(?:\s*=\s*[\"']([^\"']{0,300})[\"']|[^>]{0,200}?rdf:resource=[\"']([^\"']{0,300})[\"']|\s*>([^<]{0,300})<)"
    ),
    "CreatorTool": re.compile(
        r"CreatorTool(?:\s*=\s*[\"']([^\"']{0,300})[\"']|\s*>([^<]{0,300})<)"
    ),
    "provenance": re.compile(
        r"dcterms:provenance(?:\s*=\s*[\"']([^\"']{0,500})[\"']|\s*>([^<]{0,500})<)"
    ),
}


def xmp_evidence(data: bytes) -> list[Evidence]:
    """Generator traces in the XMP packet (DigitalSourceType, CreatorTool), found by scanning, never
    by parsing XML."""
    start = data.find(b"<x:xmpmeta")
    if start < 0:
        return []
    end = data.find(b"</x:xmpmeta>", start)
    if end < 0:
        return [unreadable("xmp", "the XMP packet has no end (truncated)")]
    if end - start > MAX_XMP:
        return [unreadable("xmp", f"XMP packet of {end - start} bytes, over {MAX_XMP} (not read)")]
    raw = data[start:end]
    out: list[Evidence] = []
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        out.append(unreadable("xmp", f"XMP is not valid UTF-8 at byte {exc.start}; read leniently"))
        text = raw.decode("utf-8", errors="replace")
    values: dict[str, str] = {}
    for name, rx in _XMP_FIELDS.items():
        m = rx.search(text)
        if m:
            values[name] = next((g for g in m.groups() if g), "").strip()
    dst = values.get("DigitalSourceType")
    if dst:
        from haechi.analyzers.synthetic.provenance import SOURCE_TYPES

        short = dst.rsplit("/", 1)[-1]
        points, meaning = SOURCE_TYPES.get(short, ("info", "a source type haechi does not know"))
        conf = 0.85 if points != "info" else 0.0  # unsigned: anyone can write XMP
        out.append(
            Evidence("xmp:DigitalSourceType", f"{short} (unsigned): {meaning}", points, conf)
        )
    tool = values.get("CreatorTool")
    if tool:
        out.extend(
            judge_text("xmp:CreatorTool", "software", tool)
            or [info("xmp:CreatorTool", clip_text(tool, 80))]
        )
    prov = values.get("provenance")
    if prov and not prov.startswith("self#"):
        out.append(
            info(
                "xmp:dcterms:provenance",
                f"points at a manifest elsewhere ({clip_text(prov, 120)}); not fetched",
            )
        )
    return out
