"""Property-based fuzzing of the other parsers that read hostile input (tests/test_fuzz_sources
covers the Telegram JSON and WARC readers): image and video decoding, zip archives, the
Telegram HTML export reader, generator metadata and C2PA manifests, and the chat lexicon's
text folding. Each starts from a valid seed made here (or a public file in tests/data) and
mutates it; the only error allowed out is haechi's own, naming the file.

A short run here (HAECHI_FUZZ_EXAMPLES, default 60 per parser); `make fuzz` runs 100,000."""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import noise_image, run, testdata, write_video
from fuzz_seeds import FUZZ, mutated
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from tdesktop_html import write_html_chat

from haechi.analyzers.chat_text import ChatTextAnalyzer
from haechi.analyzers.hangul import compact, normalise, prepare
from haechi.analyzers.synthetic.evidence import Evidence
from haechi.analyzers.synthetic.metadata import read_generator_metadata
from haechi.analyzers.synthetic.provenance import read_c2pa
from haechi.config import load_settings
from haechi.errors import HaechiError, MediaError, SourceError
from haechi.media.content import FileContent
from haechi.media.decode import decode_media
from haechi.sources import ChatMessage, Sighting, SourceProblem
from haechi.sources.folder import FolderSource
from haechi.sources.telegram_export import TelegramExportSource

SETTINGS = load_settings(home=Path(tempfile.gettempdir()) / "haechi-fuzz-home")
LIMITS = SETTINGS.limits


def _image(fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    noise_image(3, (24, 16)).save(buf, fmt, **kw)
    return buf.getvalue()


def _gif() -> bytes:
    frames = [noise_image(i, (16, 16)).convert("P") for i in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buf.getvalue()


def _jpeg_with_exif() -> bytes:
    exif = Image.Exif()
    exif[0x0131] = "Stable Diffusion"  # Software
    exif[0x010E] = "a prompt, Steps: 20, Sampler: Euler a, CFG scale: 7"  # ImageDescription
    return _image("JPEG", quality=80, exif=exif.tobytes())


def _video(suffix: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"v{suffix}"
        write_video(path, 0.4, fps=10, size=(32, 32), scene_seconds=0.2)
        return path.read_bytes()


IMAGES = {
    "png": _image("PNG"),
    "jpeg": _jpeg_with_exif(),
    "gif": _gif(),
    "webp": _image("WEBP", quality=70),
    "tiff": _image("TIFF"),
}
VIDEOS = {".mp4": _video(".mp4"), ".mkv": _video(".mkv")}


def _zip_seed() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.png", IMAGES["png"])
        zf.writestr("dir/b.jpg", IMAGES["jpeg"])
        zf.writestr("dir/inner.zip", _inner_zip())
        zf.writestr("notes.txt", "not media")
    return buf.getvalue()


def _inner_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("c.gif", IMAGES["gif"])
    return buf.getvalue()


def _html_seed() -> tuple[dict[str, bytes], bytes]:
    """The other files of a two-page HTML export, and its first page (the seed)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "export"
        write_html_chat(root, base="", media_prefix="", title="Room")
        files = {
            p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()
        }
    return files, files.pop("messages.html")


ZIP = _zip_seed()
HTML_FILES, HTML = _html_seed()
AI_PNGS = [p.read_bytes() for p in sorted(testdata("ai_metadata").glob("*.png"))]
C2PA = testdata("c2pa", "C.jpg").read_bytes()
RGB = np.asarray(noise_image(4, (24, 16)))


@st.composite
def _one_of(draw: st.DrawFn, seeds: dict[str, bytes]) -> tuple[str, bytes]:
    name = draw(st.sampled_from(sorted(seeds)))
    return name, draw(mutated(seeds[name]))


def _decode_checked(path: Path) -> None:
    """Decoded, or refused with a MediaError naming the file: nothing else."""
    content = FileContent(path, path.name)
    try:
        media = decode_media(content, LIMITS)
    except MediaError as exc:
        assert exc.file == path.name and exc.reason, exc
        return
    assert media.frames or media.kind == "video"  # a video may hold no decodable frame


@FUZZ
@given(_one_of(IMAGES))
def test_a_mutated_image_decodes_or_is_refused_by_name(case: tuple[str, bytes]) -> None:
    fmt, data = case
    with tempfile.TemporaryDirectory(prefix="haechi-fuzz-") as tmp:
        path = Path(tmp) / f"x.{fmt}"
        path.write_bytes(data)
        _decode_checked(path)


@FUZZ
@given(_one_of(VIDEOS))
def test_a_mutated_video_decodes_or_is_refused_by_name(case: tuple[str, bytes]) -> None:
    suffix, data = case
    with tempfile.TemporaryDirectory(prefix="haechi-fuzz-") as tmp:
        path = Path(tmp) / f"x{suffix}"
        path.write_bytes(data)
        _decode_checked(path)


def _places(places: Iterator[object]) -> list[object]:
    out: list[object] = []
    try:
        for place in places:
            assert isinstance(place, Sighting | SourceProblem | ChatMessage)
            if isinstance(place, SourceProblem):
                assert place.reason
            out.append(place)
    except HaechiError as exc:
        assert str(exc)
    return out


@FUZZ
@given(mutated(ZIP))
def test_a_mutated_zip_never_crashes_the_folder_source(data: bytes) -> None:
    with tempfile.TemporaryDirectory(prefix="haechi-fuzz-") as tmp:
        path = Path(tmp) / "seized.zip"
        path.write_bytes(data)
        source = FolderSource(path, SETTINGS)
        for place in _places(source.sightings()):
            if isinstance(place, Sighting):
                try:  # reading an entry back: its bytes, or an error naming it
                    with place.content.open() as fh:
                        fh.read()
                except HaechiError as exc:
                    assert str(exc)


@FUZZ
@given(mutated(HTML))
def test_a_mutated_telegram_html_export_never_crashes_the_reader(data: bytes) -> None:
    with tempfile.TemporaryDirectory(prefix="haechi-fuzz-") as tmp:
        root = Path(tmp) / "export"
        for rel, body in HTML_FILES.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(body)
        (root / "messages.html").write_bytes(data)
        _places(TelegramExportSource(root, SETTINGS).sightings())


def _evidence(found: list[Evidence]) -> None:
    assert all(isinstance(e, Evidence) for e in found)


@FUZZ
@given(
    st.sampled_from(range(len(AI_PNGS))).flatmap(lambda i: mutated(AI_PNGS[i])),
    st.sampled_from(["png", "jpeg", "webp"]),
    st.booleans(),
)
def test_mutated_generator_metadata_is_read_or_called_unreadable(
    data: bytes, fmt: str, with_pixels: bool
) -> None:
    _evidence(read_generator_metadata(data, fmt, RGB if with_pixels else None))


@FUZZ
@given(mutated(IMAGES["jpeg"]))
def test_mutated_exif_metadata_is_read_or_called_unreadable(data: bytes) -> None:
    _evidence(read_generator_metadata(data, "jpeg", RGB))


@FUZZ
@given(mutated(C2PA))
def test_a_mutated_c2pa_manifest_is_read_or_called_unreadable(data: bytes) -> None:
    _evidence(read_c2pa(data, "image/jpeg"))


ANALYZER = ChatTextAnalyzer(SETTINGS)
# Hangul syllables and jamo (compatibility and conjoining), Latin, digits, spaces, the
# characters people put between letters to dodge a filter, and anything else.
_CHARS = st.one_of(
    st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3),
    st.characters(min_codepoint=0x1100, max_codepoint=0x11FF),
    st.characters(min_codepoint=0x3131, max_codepoint=0x318E),
    st.sampled_from(list(" .,_-*/\\|~^0123456789abcxyzㅋㅎ\u200b\u200d\ufeff\u3164\u115f")),
    st.characters(),
)


@FUZZ
@given(st.text(_CHARS, max_size=300))
def test_text_folding_and_matching_take_any_text(text: str) -> None:
    for fold in (prepare, normalise, compact):
        assert isinstance(fold(text), str)
    assert normalise(normalise(text)) == normalise(normalise(normalise(text)))
    risk = ANALYZER.analyze(text)
    assert 0 <= risk.score <= 1 or risk.score >= 0


def _damaged_deflate_zip(path: Path) -> None:
    """The zip fuzzer's first find, kept: an entry whose deflate stream breaks mid-way."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.png", IMAGES["png"] * 4)
    data = bytearray(path.read_bytes())
    start = 30 + len("a.png")  # the local header, then the compressed bytes
    data[start + 40 : start + 80] = b"\xff" * 40
    path.write_bytes(bytes(data))


def test_a_damaged_deflate_stream_is_the_entrys_error_not_a_crash(tmp_path: Path) -> None:
    """zlib.error (and a CRC's BadZipFile) came out of the entry's read and ended the scan
    worker that was hashing it."""
    path = tmp_path / "seized.zip"
    _damaged_deflate_zip(path)
    (place,) = FolderSource(path, SETTINGS).sightings()
    assert isinstance(place, Sighting)
    with place.content.open() as fh:
        try:
            fh.read()
        except SourceError as exc:
            assert exc.file == f"{path}!a.png" and "archive entry unreadable" in exc.reason
        else:
            raise AssertionError("the damaged entry was read whole")


def test_a_scan_of_a_damaged_deflate_stream_records_the_entry(tmp_path: Path) -> None:
    from conftest import haechi

    (tmp_path / "in").mkdir()
    _damaged_deflate_zip(tmp_path / "in" / "seized.zip")
    proc = haechi(tmp_path / "h", "--workers", "1", "scan", "--no-progress", str(tmp_path / "in"))
    assert "seized.zip!a.png" in proc.stdout + proc.stderr
    assert "archive entry unreadable" in proc.stdout + proc.stderr


def test_a_zip_of_a_version_zipfile_cannot_read_is_refused_by_name(tmp_path: Path) -> None:
    """Found by the 100,000-case run: a central directory entry claiming "version needed to
    extract" 6.4 made zipfile raise NotImplementedError, which ended the scan with a
    traceback. Now the archive is refused by name, and a folder scan goes on past it."""
    (tmp_path / "in").mkdir()
    path = tmp_path / "in" / "seized.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.png", IMAGES["png"])
    data = bytearray(path.read_bytes())
    central = data.rindex(b"PK\x01\x02")
    data[central + 6] = 64  # version needed to extract: 6.4
    path.write_bytes(bytes(data))
    (place,) = FolderSource(path, SETTINGS).sightings()
    assert isinstance(place, SourceProblem), place
    assert "not a readable zip archive" in place.reason and "6.4" in place.reason
    (tmp_path / "in" / "b.png").write_bytes(IMAGES["png"])
    out = run(tmp_path / "h", "scan", "--json", "--no-progress", str(tmp_path / "in")).stdout
    by_name = {Path(o["path"]).name: o for o in map(json.loads, out.splitlines())}
    assert by_name["b.png"]["error"] is None and by_name["b.png"]["pdq"]
    assert "not a readable zip archive" in by_name["seized.zip"]["error"], by_name


# Inputs the 100,000-case runs found, as the edit of a seed above that makes each: (seed,
# start, end, bytes put in place of seed[start:end]). A TIFF and GIFs whose headers lie made
# Pillow raise KeyError, IndexError, TypeError ("Missing dimensions") or struct.error out of
# `Image.open`, past the decoder's handlers; an MP4 cut where its sample description names
# the codec left PyAV's codec context None (AttributeError). Each would have ended a scan
# worker.
FOUND = {
    "x.tiff": ("tiff", 130, 131, b"\x01"),
    "x1.gif": ("gif", 741, None, b""),
    "x2.gif": ("gif", 740, None, b""),
    "x3.gif": ("gif", 739, None, b""),
    "x4.gif": ("gif", 731, None, b""),
    "x5.gif": ("gif", 723, None, b""),
    "x.mp4": (".mp4", 1718, None, b""),
}


@pytest.mark.parametrize("name", sorted(FOUND))
def test_inputs_the_long_fuzz_run_found_are_refused_by_name(name: str, tmp_path: Path) -> None:
    seed_name, start, end, put = FOUND[name]
    seed = IMAGES.get(seed_name) or VIDEOS[seed_name]
    path = tmp_path / name
    path.write_bytes(seed[:start] + put + (seed[end:] if end is not None else b""))
    with pytest.raises(MediaError) as refused:
        decode_media(FileContent(path, path.name), LIMITS)
    assert refused.value.file == path.name
    assert "corrupt" in refused.value.reason or "no decoder" in refused.value.reason
