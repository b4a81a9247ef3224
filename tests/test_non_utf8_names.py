"""File names that are not UTF-8 (issue 12, point 4): one such name used to abort the whole
scan (`surrogates not allowed`, nothing stored). Now each is stored losslessly (escaped, see
sources/names.py), shown, and still found on disk again by evidence capture."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import pytest
from conftest import jpeg_bytes, noise_image, run

from haechi.sources.names import disk_path, escape_bytes, escape_name, unescape_name

KOREAN = "사진.jpg"  # "photo", written by a Korean Windows tool in CP949


def _fs(raw: bytes) -> str:
    return os.fsdecode(raw)


def _zip_without_utf8_flag(path: Path, entries: dict[bytes, bytes]) -> None:
    """A zip whose names are raw bytes with the UTF-8 flag clear, as Korean tools write them.
    zipfile would set the flag itself, so ASCII stand-ins of the same length are swapped."""
    buf = io.BytesIO()
    stand_ins = {}
    with zipfile.ZipFile(buf, "w") as zf:
        for i, (raw, data) in enumerate(entries.items()):
            stand_in = (f"{i}" * len(raw))[: len(raw)].encode()
            stand_ins[stand_in] = raw
            zf.writestr(stand_in.decode(), data)
    blob = buf.getvalue()
    for stand_in, raw in stand_ins.items():
        assert blob.count(stand_in) == 2  # local header and central directory
        blob = blob.replace(stand_in, raw)
    path.write_bytes(blob)


def test_escaping_is_lossless_and_one_to_one() -> None:
    names = [b"plain.jpg", b"x\xff.jpg", KOREAN.encode("cp949"), KOREAN.encode(), b"a\\b.jpg",
             b"x\\xff.jpg", b"\\\\", b"\xed\xa0\x80"]  # fmt: skip
    stored = [escape_bytes(raw) for raw in names]
    assert len(set(stored)) == len(names)
    for raw, s in zip(names, stored, strict=True):
        s.encode("utf-8")  # storable
        assert os.fsencode(unescape_name(s)) == raw
    assert stored[:5] == [
        "plain.jpg",
        "x\\xff.jpg",
        "\\xbb\\xe7\\xc1\\xf8.jpg",
        KOREAN,
        "a\\\\b.jpg",
    ]
    assert escape_name(KOREAN) == KOREAN and disk_path("a/b") == Path("a/b")


@pytest.mark.slow
def test_non_utf8_names_are_stored_shown_and_captured(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / _fs("폴더".encode("cp949"))).mkdir(parents=True)
    files = {
        b"good.jpg": 1,
        b"x\xff.jpg": 2,
        KOREAN.encode("cp949"): 3,
        b"a\\b.jpg": 4,
        "폴더".encode("cp949") + b"/inner.jpg": 5,
    }
    for raw, seed in files.items():
        (src / _fs(raw)).write_bytes(jpeg_bytes(noise_image(seed)))
    _zip_without_utf8_flag(
        src / "korean.zip",
        {
            KOREAN.encode("cp949"): jpeg_bytes(noise_image(6)),
            b"\xff\xfe.jpg": jpeg_bytes(noise_image(7)),  # neither UTF-8 nor CP949
        },
    )
    home = tmp_path / "home"
    scan = run(home, "scan", str(src), "--json", "--no-progress")
    assert "Traceback" not in scan.stderr
    lines = [json.loads(x) for x in run(home, "items", "--json").stdout.splitlines()]
    shown = {Path(x["path"]).name: x["sha256"] for x in lines}
    assert len(lines) == 7, shown
    root = str(src.resolve())
    paths = {x["path"] for x in lines}
    assert f"{root}/x\\xff.jpg" in paths
    assert f"{root}/\\xbb\\xe7\\xc1\\xf8.jpg" in paths
    assert f"{root}/a\\\\b.jpg" in paths
    assert f"{root}/\\xc6\\xfa\\xb4\\xf5/inner.jpg" in paths
    assert f"{root}/korean.zip!{KOREAN}" in paths  # CP949 zip names read as Korean tools do
    assert f"{root}/korean.zip!\\xff\\xfe.jpg" in paths
    listing = run(home, "items").stdout
    assert "x\\xff.jpg" in listing

    # The stored locator still leads back to the file: evidence capture preserves each one.
    for x in lines:
        cap = run(home, "evidence", "capture", x["sha256"][:12])
        assert "preserved" in cap.stdout, x["path"]
    assert "7 (7 intact)" in run(home, "evidence", "verify").stdout


def test_telegram_export_media_with_cp949_names_on_disk(tmp_path: Path) -> None:
    """An export zipped on Korean Windows and unpacked on Linux: the JSON names the photo in
    UTF-8, the disk holds it in CP949, and a lone surrogate escape names a file that is not."""
    root = tmp_path / _fs("텔레그램".encode("cp949"))  # the export folder itself, too
    (root / "photos").mkdir(parents=True)
    (root / "photos" / _fs(KOREAN.encode("cp949"))).write_bytes(jpeg_bytes(noise_image(1)))
    (root / "photos" / "good.jpg").write_bytes(jpeg_bytes(noise_image(2)))

    def msg(i: int, photo: str) -> str:
        return (
            f'{{"id": {i}, "type": "message", "date_unixtime": "{1_700_000_000 + i}", '
            f'"text": "t", "photo": "{photo}"}}'
        )

    msgs = [msg(1, f"photos/{KOREAN}"), msg(2, "photos/x\\udcff.jpg"), msg(3, "photos/good.jpg")]
    doc = '{"name": "R", "type": "private_group", "id": 9, "messages": [' + ",".join(msgs) + "]}"
    (root / "result.json").write_text(doc, encoding="utf-8")
    home = tmp_path / "home"
    run(home, "scan", str(root), "--no-progress")
    paths = sorted(json.loads(x)["path"] for x in run(home, "items", "--json").stdout.splitlines())
    assert [p.rsplit("#", 1)[1] for p in paths] == ["9/1/photos/사진.jpg", "9/3/photos/good.jpg"]
    assert paths[0].startswith(escape_name(str(root.resolve())))
