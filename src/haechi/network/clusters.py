"""Content clusters: files that are one piece of content, so a re-encoded or resized copy counts
as the same content. Identical bytes are one item already (items are keyed by SHA-256); images
join when their PDQ hashes are within the threshold (both of trusted quality), videos when their
frame bags match as vPDQ compares them (matching/pdq.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from haechi.analyzers.pdq import PdqFrame
from haechi.matching.pdq import compare_frames
from haechi.matching.thresholds import PDQ_MAX_DISTANCE, PDQ_MIN_QUALITY, VPDQ_FRAME_SHARE
from haechi.network.model import ClusterLink


@dataclass(frozen=True)
class ItemHashes:
    """What clustering needs of one item: its SHA-256, kind, PDQ hash and quality (images)
    and its vPDQ frames (videos; empty for an image)."""

    sha256: str
    kind: str | None
    pdq: str | None
    quality: int | None
    frames: tuple[PdqFrame, ...] = ()


class _Sets:
    def __init__(self, keys: Sequence[str]) -> None:
        self.parent = {k: k for k in keys}

    def find(self, k: str) -> str:
        while self.parent[k] != k:
            self.parent[k] = self.parent[self.parent[k]]
            k = self.parent[k]
        return k

    def join(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _words(hexes: Sequence[str]) -> np.ndarray:
    """64-hex PDQ hashes as rows of four uint64 words, for vectorised Hamming distance."""
    raw = np.frombuffer(b"".join(bytes.fromhex(h) for h in hexes), dtype=">u8")
    return raw.reshape(-1, 4).astype(np.uint64)


def cluster_items(
    items: Sequence[ItemHashes],
    *,
    max_distance: int = PDQ_MAX_DISTANCE,
    min_quality: int = PDQ_MIN_QUALITY,
    frame_share: float = VPDQ_FRAME_SHARE,
) -> tuple[dict[str, str], list[ClusterLink]]:
    """sha256 → cluster id, and the links that joined items. A cluster's id is "c" plus the first
    12 hex digits of its smallest SHA-256, stable whatever order items come in."""
    keys = [i.sha256 for i in items]
    sets = _Sets(keys)
    links: list[ClusterLink] = []
    images = [i for i in items if i.pdq and (i.quality or 0) >= min_quality and not i.frames]
    if len(images) > 1:
        words = _words([i.pdq or "" for i in images])
        for n in range(len(images) - 1):
            dist = np.bitwise_count(words[n + 1 :] ^ words[n]).sum(axis=1)
            for off in np.nonzero(dist <= max_distance)[0]:
                other = images[n + 1 + int(off)]
                sets.join(images[n].sha256, other.sha256)
                links.append(
                    ClusterLink(images[n].sha256, other.sha256, "pdq", float(dist[int(off)]))
                )
    videos = [i for i in items if i.frames]
    for n, a in enumerate(videos):
        for b in videos[n + 1 :]:
            m = compare_frames(
                a.frames, b.frames, max_distance=max_distance, min_quality=min_quality
            )
            if m.matches(frame_share):
                sets.join(a.sha256, b.sha256)
                share = round(min(m.query_share, m.target_share), 3)
                links.append(ClusterLink(a.sha256, b.sha256, "vpdq", share))
    return {k: "c" + sets.find(k)[:12] for k in keys}, links
