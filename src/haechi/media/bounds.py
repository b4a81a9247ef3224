"""What the image and the video decoders share to stay within bounds: the content as a
seekable file that spools to disk past a size instead of being held whole in memory, a frame's
size scaled to the longest side a frame may have, and the tally of frames skipped for being
over the pixel limit (named in the item's notes). Kept apart so each decoder's module holds only
its own format's reading."""

from __future__ import annotations

import shutil
import tempfile
from typing import BinaryIO, cast

from haechi.media.content import CHUNK, Content

SPOOL_MEMORY = 32 * 1024 * 1024


def seekable(content: Content) -> BinaryIO:
    """The content as a seekable file without holding it whole in memory twice: a file is
    read in place; a stream (an archive entry) is copied to a spooled temporary file, in
    memory up to `SPOOL_MEMORY` and on disk (already unlinked) past it."""
    fh = content.open()
    if fh.seekable():
        return fh
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)  # noqa: SIM115
    with fh:
        shutil.copyfileobj(fh, spool, CHUNK)
    spool.seek(0)
    return cast(BinaryIO, spool)


def scaled(w: int, h: int, max_side: int) -> tuple[int, int]:
    """(w, h) shrunk, keeping its proportions, so that neither side exceeds `max_side`."""
    side = max(w, h)
    if side <= max_side:
        return w, h
    s = max_side / side
    return max(1, round(w * s)), max(1, round(h * s))


class Oversized:
    """Frames over the pixel limit: skipped, never converted, and named in the item's notes.
    A small first page must not let a huge later one through (a TIFF's 12th page, an MJPEG
    frame larger than its stream header says)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0
        self.first: str = ""

    def check(self, what: str, w: int, h: int) -> bool:
        """Whether a frame of w x h is over the limit (and noted as skipped)."""
        if w * h <= self.limit:
            return False
        self.skip(f"{what}: {w}x{h} = {w * h} pixels")
        return True

    def skip(self, detail: str) -> None:
        """Count one frame skipped; `detail` names it when it is the first."""
        self.count += 1
        if not self.first:
            self.first = detail

    def note(self, notes: list[str]) -> None:
        """Add the skipped frames, if any, to the item's `notes`."""
        if self.count:
            notes.append(
                f"{self.count} frame(s) skipped, over the pixel limit of {self.limit} "
                f"(first: {self.first})"
            )
