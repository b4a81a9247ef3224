"""PDQ comparison: Hamming distance over 256 bits, and vPDQ-style comparison of frame bags."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from haechi.matching.thresholds import PDQ_MAX_DISTANCE, PDQ_MIN_QUALITY

if TYPE_CHECKING:
    from haechi.analyzers.pdq import PdqFrame

PDQ_BITS = 256


def distance(a: str, b: str) -> int:
    """Hamming distance of two 64-hex-character PDQ hashes."""
    if len(a) != 64 or len(b) != 64:
        raise ValueError("a PDQ hash is 64 hex characters")
    return (int(a, 16) ^ int(b, 16)).bit_count()


@dataclass(frozen=True)
class VideoMatch:
    """Share of each video's trusted frames that match some frame of the other."""

    query_share: float
    target_share: float

    def matches(self, share: float) -> bool:
        """Whether both videos have at least `share` of their trusted frames matched."""
        return self.query_share >= share and self.target_share >= share


def compare_frames(
    query: Sequence[PdqFrame],
    target: Sequence[PdqFrame],
    *,
    max_distance: int = PDQ_MAX_DISTANCE,
    min_quality: int = PDQ_MIN_QUALITY,
) -> VideoMatch:
    """Compare two videos as bags of frame hashes, as vPDQ does: frames under the quality
    floor are left out, then each side's share of frames with a match on the other side."""
    q = [f.pdq for f in query if f.quality >= min_quality]
    t = [f.pdq for f in target if f.quality >= min_quality]
    if not q or not t:
        return VideoMatch(0.0, 0.0)
    qi = [int(h, 16) for h in q]
    ti = [int(h, 16) for h in t]

    def share(xs: list[int], ys: list[int]) -> float:
        hit = sum(1 for x in xs if any((x ^ y).bit_count() <= max_distance for y in ys))
        return hit / len(xs)

    return VideoMatch(query_share=share(qi, ti), target_share=share(ti, qi))
