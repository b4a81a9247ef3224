"""Generator metadata: what image generators write into their files.

PNG text chunks (AUTOMATIC1111/Forge `parameters`, ComfyUI `prompt`/`workflow`, InvokeAI,
NovelAI, Fooocus), EXIF (Software, UserComment, ImageDescription), XMP (DigitalSourceType,
CreatorTool) and AUTOMATIC1111's "stealth" metadata hidden in the low bits of pixels.

Everything here reads hostile bytes: chunks are walked by hand with bounds, compressed text is
inflated with a ceiling, JSON is size- and depth-limited, XML is never parsed as a tree (no
entity expansion, no nesting to exhaust). A problem becomes an "unreadable" evidence line."""

from __future__ import annotations

import io
import json
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image

from haechi.analyzers.synthetic.evidence import Evidence, clip_text, info, unreadable
from haechi.media.types import RGB

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_TEXT = 4 * 1024 * 1024  # bytes of one text chunk once inflated
MAX_TEXT_TOTAL = 16 * 1024 * 1024
MAX_JSON = 2 * 1024 * 1024
MAX_JSON_DEPTH = 64
MAX_XMP = 1024 * 1024
MAX_STEALTH = 1024 * 1024

GENERATOR_WORDS = (
    "stable diffusion", "stable-diffusion", "novelai", "midjourney", "dall-e", "dall·e",
    "firefly", "comfyui", "automatic1111", "invokeai", "fooocus", "imagen", "flux",
    "leonardo.ai", "nightcafe", "dreamstudio", "sdxl", "deepfacelab", "faceswap", "roop",
    "facefusion",
)  # fmt: skip
A1111_KEYS = ("Steps:", "Sampler:", "CFG scale:", "Seed:")


@dataclass(frozen=True)
class TextChunk:
    key: str
    text: str


def read_generator_metadata(data: bytes, fmt: str, rgb: RGB | None) -> list[Evidence]:
    out: list[Evidence] = []
    chunks: list[TextChunk] = []
    if data.startswith(PNG_SIGNATURE):
        chunks, problems, has_alpha = _png_text(data)
        out.extend(problems)
        for c in chunks:
            out.extend(_judge_text(f"png:{clip_text(c.key, 40)}", c.key, c.text))
        out.extend(_stealth(data, rgb, has_alpha))
    out.extend(_exif(data))
    out.extend(_xmp(data))
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


def _json(text: str, source: str) -> tuple[object | None, Evidence | None]:
    """Parse JSON found in metadata, refusing what is too large or too deeply nested before
    the parser sees it (a recursion bomb would otherwise cost a stack overflow)."""
    if len(text) > MAX_JSON:
        return None, unreadable(source, f"JSON of {len(text)} bytes, over {MAX_JSON} (not parsed)")
    depth = peak = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            peak = max(peak, depth)
            if peak > MAX_JSON_DEPTH:
                return None, unreadable(
                    source, f"JSON nested deeper than {MAX_JSON_DEPTH} levels (not parsed)"
                )
        elif ch in "]}":
            depth -= 1
    try:
        return json.loads(text), None
    except (ValueError, RecursionError) as exc:
        return None, unreadable(source, f"invalid JSON ({clip_text(str(exc), 80)})")


def _judge_text(source: str, key: str, text: str) -> list[Evidence]:
    k = key.lower()
    if k == "parameters":
        hits = [h for h in A1111_KEYS if h in text]
        if len(hits) >= 2:
            return [_gen(source, "AUTOMATIC1111/Forge generation parameters", text, 0.93)]
        parsed, bad = _json(text, source) if text.lstrip().startswith("{") else (None, None)
        if isinstance(parsed, dict) and {"prompt", "base_model"} & set(parsed):
            return [_gen(source, "Fooocus generation parameters", text, 0.93)]
        if bad:
            return [bad]
        return [_gen(source, "a 'parameters' text chunk without the usual fields", text, 0.6)]
    if k in ("prompt", "workflow"):
        parsed, bad = _json(text, source)
        if bad:
            return [bad]
        if _looks_comfy(parsed):
            return [_gen(source, f"ComfyUI {k} graph", text, 0.93)]
        return []
    if k in ("invokeai_metadata", "invokeai_graph", "sd-metadata", "dream"):
        if k != "dream":
            _parsed, bad = _json(text, source)
            if bad:
                return [bad]
        return [_gen(source, "InvokeAI generation metadata", text, 0.93)]
    if k == "fooocus_scheme":
        return [_gen(source, "Fooocus metadata scheme", text, 0.9)]
    if k in ("software", "source", "comment", "description", "title"):
        low = text.lower()
        if "novelai" in low:
            return [_gen(source, "NovelAI", text, 0.93)]
        if k == "comment" and text.lstrip().startswith("{"):
            parsed, bad = _json(text, source)
            if bad:
                return [bad]
            if isinstance(parsed, dict) and {"steps", "sampler", "seed"} <= set(parsed):
                return [_gen(source, "generation settings (steps, sampler, seed)", text, 0.9)]
        words = [w for w in GENERATOR_WORDS if w in low]
        if words:
            return [_gen(source, f"names a generator ({words[0]})", text, 0.85)]
    return []


def _looks_comfy(parsed: object) -> bool:
    if isinstance(parsed, dict):
        if "nodes" in parsed and "links" in parsed:
            return True
        return any(isinstance(v, dict) and "class_type" in v for v in parsed.values())
    return False


def _gen(source: str, what: str, text: str, conf: float) -> Evidence:
    return Evidence(source, f"{what}: “{clip_text(text, 120)}”", "synthetic", conf)


# --- EXIF -----------------------------------------------------------------------------------

EXIF_TAGS = {0x0131: "Software", 0x010E: "ImageDescription", 0x013B: "Artist"}
USER_COMMENT = 0x9286
EXIF_IFD = 0x8769


def _exif(data: bytes) -> list[Evidence]:
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
            _judge_text(f"exif:{name}", "software" if name == "Software" else "description", text)
        )
    if comment is not None:
        text, problem = _user_comment(comment)
        if problem:
            out.append(unreadable("exif:UserComment", problem))
        elif text:
            if sum(h in text for h in A1111_KEYS) >= 2:
                out.append(
                    _gen("exif:UserComment", "AUTOMATIC1111 generation parameters", text, 0.93)
                )
            else:
                out.extend(_judge_text("exif:UserComment", "comment", text))
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


def _xmp(data: bytes) -> list[Evidence]:
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
            _judge_text("xmp:CreatorTool", "software", tool)
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


# --- A1111 stealth metadata -----------------------------------------------------------------

STEALTH_ALPHA = {b"stealth_pnginfo": False, b"stealth_pngcomp": True}
STEALTH_RGB = {b"stealth_rgbinfo": False, b"stealth_rgbcomp": True}


def _column_major(plane: np.ndarray, n: int) -> np.ndarray:
    """The first `n` values of `plane` (H, W[, C]) read column by column, top to bottom,
    without transposing the whole image."""
    h = plane.shape[0]
    per_col = h * (plane.shape[2] if plane.ndim == 3 else 1)
    cols = min(plane.shape[1], -(-n // per_col))
    part = np.ascontiguousarray(plane[:, :cols].swapaxes(0, 1))
    return part.reshape(-1)[:n]


def _bits_to_bytes(bits: np.ndarray) -> bytes:
    return np.packbits(bits.astype(np.uint8) & 1).tobytes()


def _stealth(data: bytes, rgb: RGB | None, has_alpha: bool) -> list[Evidence]:
    planes: list[tuple[np.ndarray, dict[bytes, bool], str]] = []
    if has_alpha:
        try:
            with Image.open(io.BytesIO(data)) as im:
                alpha = np.asarray(im.getchannel("A"))
            planes.append((alpha, STEALTH_ALPHA, "alpha"))
        except Exception as exc:
            return [unreadable("stealth", f"alpha channel unreadable ({clip_text(str(exc), 60)})")]
    if rgb is not None:
        planes.append((rgb, STEALTH_RGB, "rgb"))
    for plane, sigs, where in planes:
        total = plane.size
        if total < 15 * 8 + 32:
            continue
        head = _bits_to_bytes(_column_major(plane, 15 * 8) & 1)
        if head not in sigs:
            continue
        compressed = sigs[head]
        length_bits = _column_major(plane, 15 * 8 + 32)[15 * 8 :] & 1
        n_bits = int("".join(str(int(b)) for b in length_bits), 2)
        if n_bits <= 0 or n_bits > min(total - 152, MAX_STEALTH * 8):
            return [
                unreadable(f"stealth:{where}", f"declares {n_bits} bits, more than the image holds")
            ]
        payload = _bits_to_bytes(_column_major(plane, 152 + n_bits)[152:] & 1)
        try:
            if compressed:
                d = zlib.decompressobj(16 + zlib.MAX_WBITS)
                payload = d.decompress(payload, MAX_TEXT)
            text = payload.decode("utf-8")
        except (zlib.error, UnicodeDecodeError) as exc:
            return [unreadable(f"stealth:{where}", f"hidden text is corrupt ({exc})")]
        return [
            _gen(
                f"stealth:{where}", "AUTOMATIC1111 parameters hidden in pixel low bits", text, 0.95
            )
        ]
    return []
