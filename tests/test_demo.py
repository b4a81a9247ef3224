"""`haechi demo` end to end: the corpus, the scan and the explanation a newcomer reads."""

from __future__ import annotations

from pathlib import Path

from conftest import haechi


def test_demo_finds_the_copies_and_refuses_the_broken_files(tmp_path: Path) -> None:
    out = haechi(tmp_path / "demo", "demo").stdout
    lines = out.splitlines()

    def row(name: str) -> str:
        return next(line for line in lines if name in line)

    for copy in ("resized-50.jpg", "recompressed-q30.jpg", "brighter.jpg", "album/photo-1.jpg"):
        assert "same picture" in row(copy), copy
    for other in ("scene-0.jpg", "mirrored.jpg", "cropped-10pct.jpg"):
        assert "different" in row(other), other
    assert "same video" in row("clip-reencoded")
    # The enrolled demo person is found by the face: in the near-duplicates (crop and mirror
    # included, which PDQ misses) and in both videos, frame by frame with times.
    assert "enrolled astronaut-demo from one photo" in " ".join(out.split())
    found = out.split("findings: faces matching")[1].split("refused files")[0]
    for copy in ("original.jpg", "resized-50.jpg", "cropped-10pct.jpg", "mirrored.jpg"):
        assert copy in found, copy
    clip_times = [line.split("│")[2].strip() for line in found.splitlines() if "clip.mp4" in line]
    assert {"0.00", "5.00"} <= set(clip_times)
    assert "scene-" not in found
    for broken in ("empty.jpg", "truncated.jpg", "not-a-photo.jpg", "bomb.png", "../outside.jpg"):
        assert broken in out, broken
    again = haechi(tmp_path / "demo", "demo").stdout
    assert "0 new items, 0 already known, 23 unchanged since the last scan" in " ".join(
        again.split()
    )
