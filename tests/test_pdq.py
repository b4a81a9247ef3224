"""PDQ against Meta's reference (pdqhash, via threatexchange's hasher) on real photos."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from conftest import testdata
from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_file

from haechi.analyzers.pdq import PdqAnalyzer, PdqFrame
from haechi.config import Limits, Settings
from haechi.matching.pdq import compare_frames, distance
from haechi.media import FileContent, decode_media


def _ours(path: Path, settings: Settings) -> tuple[str, int]:
    media = decode_media(FileContent(path, path.name), Limits())
    sig = PdqAnalyzer(settings).analyze(media)
    assert sig.pdq is not None and sig.quality is not None
    return sig.pdq, sig.quality


def test_hashes_equal_the_reference_on_the_bridge_photos(settings: Settings) -> None:
    photos = sorted(testdata("pdq_bridge").glob("*.jpg"))
    assert len(photos) == 12
    for p in photos:
        assert _ours(p, settings) == pdq_from_file(p), p.name


def test_all_bridge_edits_match_each_other(settings: Settings) -> None:
    hashes = {p.name: _ours(p, settings)[0] for p in testdata("pdq_bridge").glob("*.jpg")}
    worst = max(distance(a, b) for a, b in itertools.combinations(hashes.values(), 2))
    assert worst <= 31


def test_distance_is_hamming_over_256_bits() -> None:
    assert distance("0" * 64, "0" * 64) == 0
    assert distance("0" * 64, "f" * 64) == 256
    assert distance("8" + "0" * 63, "0" * 64) == 1
    with pytest.raises(ValueError, match="64 hex"):
        distance("abc", "0" * 64)


def _frames(*hashes: tuple[str, int]) -> list[PdqFrame]:
    return [PdqFrame(t=float(i), pdq=h, quality=q) for i, (h, q) in enumerate(hashes)]


def test_video_frame_bags_compare_both_ways_and_drop_low_quality_frames() -> None:
    a, b, c = "0" * 64, "f" * 64, "0" * 60 + "ffff"
    m = compare_frames(_frames((a, 90), (b, 90)), _frames((c, 90)))
    assert (m.query_share, m.target_share) == (0.5, 1.0)
    assert not m.matches(0.8)
    # A low-quality frame is left out, so it neither helps nor hurts.
    m = compare_frames(_frames((a, 90), (b, 10)), _frames((c, 90)))
    assert m.matches(0.8)
    assert compare_frames(_frames((a, 10)), _frames((a, 10))).query_share == 0.0
