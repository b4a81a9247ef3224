"""AUTOMATIC1111's "stealth" metadata: generation parameters hidden in the low bits of the alpha
or colour channels, read with a size ceiling and inflated with one."""

from __future__ import annotations

import io
import zlib

import numpy as np
from PIL import Image

from haechi.analyzers.synthetic.evidence import Evidence, clip_text, unreadable
from haechi.analyzers.synthetic.metadata_text import MAX_TEXT, generator_evidence
from haechi.media.types import RGB

MAX_STEALTH = 1024 * 1024

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


def stealth_evidence(data: bytes, rgb: RGB | None, has_alpha: bool) -> list[Evidence]:
    """AUTOMATIC1111's stealth parameters hidden in the pixels' low bits (alpha when the PNG has it,
    else colour), if present."""
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
            generator_evidence(
                f"stealth:{where}", "AUTOMATIC1111 parameters hidden in pixel low bits", text, 0.95
            )
        ]
    return []
