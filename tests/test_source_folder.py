"""The folder source: stable order, no escape by link or archive entry, bounded archives."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from conftest import jpeg_bytes, noise_image

from haechi.config import Limits, Settings, load_settings
from haechi.errors import InputError
from haechi.sources import Sighting, SourceProblem, load_registry
from haechi.sources.folder import FolderSource


def collect(root: Path, settings: Settings) -> tuple[list[str], dict[str, str]]:
    places = list(FolderSource(root, settings).sightings())
    seen = [p.locator for p in places if isinstance(p, Sighting)]
    problems = {p.locator: p.reason for p in places if isinstance(p, SourceProblem)}
    return seen, problems


def test_walks_recursively_in_a_stable_order_and_skips_non_media(
    tmp_path: Path, settings: Settings
) -> None:
    root = tmp_path / "in"
    (root / "b" / "c").mkdir(parents=True)
    for rel in ("z.jpg", "a.jpg", "b/c/d.jpg", "b/x.png"):
        (root / rel).write_bytes(jpeg_bytes(noise_image(len(rel))))
    (root / "notes.txt").write_text("not media")
    (root / "b" / "renamed.bin").write_bytes(jpeg_bytes(noise_image(9)))  # sniffed as JPEG
    seen, problems = collect(root, settings)
    assert seen == ["a.jpg", "b/c/d.jpg", "b/renamed.bin", "b/x.png", "z.jpg"]
    assert problems == {}


def test_links_out_of_the_root_are_refused_links_inside_are_read(
    tmp_path: Path, settings: Settings
) -> None:
    outside = tmp_path / "secret.jpg"
    outside.write_bytes(jpeg_bytes(noise_image(1)))
    root = tmp_path / "in"
    root.mkdir()
    (root / "real.jpg").write_bytes(jpeg_bytes(noise_image(2)))
    (root / "escape.jpg").symlink_to(outside)
    (root / "alias.jpg").symlink_to(root / "real.jpg")
    (root / "up").symlink_to(tmp_path)  # a directory link is never walked
    (root / "loop").symlink_to(root)
    seen, problems = collect(root, settings)
    assert seen == ["alias.jpg", "real.jpg"]
    refused = "link points outside the scanned folder; not followed"
    assert problems == {"escape.jpg": refused, "up": refused}


def test_the_data_directory_inside_the_root_is_not_scanned(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "haechi-data")
    (tmp_path / "haechi-data").mkdir()
    (tmp_path / "haechi-data" / "x.jpg").write_bytes(jpeg_bytes(noise_image(1)))
    (tmp_path / "y.jpg").write_bytes(jpeg_bytes(noise_image(2)))
    seen, _ = collect(tmp_path, settings)
    assert seen == ["y.jpg"]


def _zip(path: Path, entries: dict[str, bytes], *, symlink: str | None = None) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = 0o120777 << 16
            zf.writestr(info, "/etc/passwd")


def test_archive_entries_are_read_and_escapes_refused_per_entry(
    tmp_path: Path, settings: Settings
) -> None:
    root = tmp_path / "in"
    root.mkdir()
    img = jpeg_bytes(noise_image(3))
    _zip(
        root / "a.zip",
        {
            "ok/1.jpg": img,
            "../../evil.jpg": img,
            "/abs.jpg": img,
            "inner.zip": b"PK",
            "readme.txt": b"x",
        },
        symlink="link.jpg",
    )
    seen, problems = collect(root, settings)
    assert seen == ["a.zip!ok/1.jpg"]
    assert problems == {
        "a.zip!../../evil.jpg": "path escapes the archive (..) refused",
        "a.zip!/abs.jpg": "absolute path in archive refused",
        "a.zip!link.jpg": "symbolic link in archive refused",
        "a.zip!inner.zip": "nested archive not opened",
    }


def test_zip_bomb_and_oversized_archives_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "in"
    root.mkdir()
    _zip(root / "bomb.zip", {"zeros.jpg": b"\0" * 5_000_000})
    _zip(root / "many.zip", {f"{i}.jpg": b"x" for i in range(30)})
    (root / "broken.zip").write_bytes(b"PK\x03\x04 not really")
    settings = load_settings(home=tmp_path / "h", limits=Limits(max_archive_entries=20))
    seen, problems = collect(root, settings)
    assert seen == []
    assert "looks like a zip bomb" in problems["bomb.zip!zeros.jpg"]
    assert problems["many.zip"] == "archive has 30 entries, over the limit of 20"
    assert problems["broken.zip"].startswith("not a readable zip archive")
    settings = load_settings(home=tmp_path / "h", limits=Limits(max_archive_bytes=1000))
    _, problems = collect(root, settings)
    assert "would inflate to 5000000 bytes" in problems["bomb.zip"]


def test_an_archive_can_be_the_source_itself(tmp_path: Path, settings: Settings) -> None:
    buf = io.BytesIO()
    _zip(tmp_path / "album.zip", {"p.jpg": jpeg_bytes(noise_image(4))})
    del buf
    source = load_registry().open(tmp_path / "album.zip", settings)
    seen = [p.locator for p in source.sightings() if isinstance(p, Sighting)]
    assert seen == ["!p.jpg"]


def test_unknown_path_is_a_clear_input_error(tmp_path: Path, settings: Settings) -> None:
    with pytest.raises(InputError, match="no such file or folder"):
        load_registry().open(tmp_path / "missing", settings)
    (tmp_path / "note.txt").write_text("x")
    with pytest.raises(InputError, match="not a folder, archive, export or media file"):
        load_registry().open(tmp_path / "note.txt", settings)
