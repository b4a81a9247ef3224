"""Still images and animations (GIF, animated WebP and the like), decoded with Pillow within
the limits: a still is one frame, upright as its EXIF orientation says; an animation is
sampled at 1 frame a second like a video. Truncated files fail rather than decode as grey, and
a picture over the pixel limit is refused before it is decoded. Kept apart from the video
decoder (`haechi.media.video`) and from the dispatch by content (`haechi.media.decode`)."""

from __future__ import annotations

import struct
import warnings
from typing import Any

import numpy as np
import pillow_heif
from PIL import Image, ImageFile, ImageOps, ImageSequence, UnidentifiedImageError

from haechi.config import Limits
from haechi.errors import MediaError
from haechi.media.bounds import Oversized, scaled, seekable
from haechi.media.content import Content
from haechi.media.types import Frame, Media

# Decode errors are stored with the item (scan errors) and stay English: no _() here.

pillow_heif.register_heif_opener()
# Truncated files must fail, not decode as grey: a half image would hash as a different one.
ImageFile.LOAD_TRUNCATED_IMAGES = False

# An animated image can claim millions of 1 ms frames; bound the seeks, not only the samples.
_MAX_ANIMATION_SEEKS = 20_000


def decode_image(content: Content, fmt: str, limits: Limits, notes: list[str]) -> Media:
    """`content`, a `fmt` image by its bytes, as one upright frame (or, animated, as timed
    frames); `notes` collects what the item's notes should say."""
    try:
        with seekable(content) as fh, warnings.catch_warnings():
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
    except (KeyError, IndexError, TypeError, ArithmeticError, struct.error) as exc:
        # Pillow's plug-ins let these out on malformed headers (a TIFF tag table that lies
        # about its entries: KeyError, IndexError, "Missing dimensions" TypeError; found by
        # the 100,000-case fuzz run). Hostile bytes, not our bug: the file's error, named.
        raise MediaError(
            content.name, f"corrupt {fmt} image ({type(exc).__name__}: {exc})"
        ) from None
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


def _decode_animation(
    content: Content, im: Image.Image, fmt: str, limits: Limits, notes: list[str]
) -> Media:
    frames: list[Frame] = []
    t = 0.0
    next_sample = 0.0
    oversized = Oversized(limits.max_pixels)
    for i, page in enumerate(ImageSequence.Iterator(im)):
        if i >= _MAX_ANIMATION_SEEKS or t > limits.max_video_seconds:
            notes.append(f"animation sampled up to {t:.1f} s (limit)")
            break
        if oversized.check(f"page {i + 1}", page.width, page.height):
            pass
        elif t >= next_sample:
            w, h = scaled(page.width, page.height, limits.frame_max_side)
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
