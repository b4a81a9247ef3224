"""The synthetic-media analyzer: every verdict with its evidence lines, provenance read
offline, generator metadata found, hostile metadata reported rather than fatal."""

from __future__ import annotations

import gzip
import io
import socket
import struct
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import testdata
from PIL import Image, PngImagePlugin

from haechi.analyzers.synthetic import Synthetic, SyntheticAnalyzer
from haechi.analyzers.synthetic.detector import run_detector
from haechi.config import Settings, load_settings
from haechi.media import BytesContent, Frame, Media, decode_media


def analyse(settings: Settings, data: bytes, name: str) -> Synthetic:
    media = decode_media(BytesContent(data, name), settings.limits)
    return SyntheticAnalyzer(settings).analyze(media)


def analyse_bytes(settings: Settings, data: bytes, fmt: str) -> Synthetic:
    """The analyzer on bytes a decoder may refuse: the pixels come from a clean frame, so
    what is tested is how the metadata readers take the hostile bytes."""
    rgb = np.full((40, 40, 3), 90, np.uint8)
    media = Media(BytesContent(data, f"hostile.{fmt}"), "image", fmt, 40, 40, (Frame(rgb=rgb),))
    return SyntheticAnalyzer(settings).analyze(media)


def lines(s: Synthetic) -> list[str]:
    return [e.line for e in s.evidence]


def grep(s: Synthetic, word: str) -> list[str]:
    return [line for line in lines(s) if word in line]


def png(rgb: np.ndarray | None = None, **chunks: str) -> bytes:
    meta = PngImagePlugin.PngInfo()
    for k, v in chunks.items():
        meta.add_text(k, v)
    buf = io.BytesIO()
    Image.fromarray(rgb if rgb is not None else np.full((40, 40, 3), 90, np.uint8)).save(
        buf, "PNG", pnginfo=meta
    )
    return buf.getvalue()


def raw_chunk(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


def with_chunk(data: bytes, chunk: bytes) -> bytes:
    """`data` (a PNG) with `chunk` inserted right after IHDR."""
    at = 8 + 8 + 13 + 4
    return data[:at] + chunk + data[at:]


# --- C2PA -----------------------------------------------------------------------------------


def test_c2pa_fixtures_are_reported_per_their_manifest(settings: Settings) -> None:
    c2pa = testdata("c2pa")
    got = {p.name: analyse(settings, p.read_bytes(), p.name) for p in sorted(c2pa.iterdir())}

    c = got["C.jpg"]
    assert c.verdict == "likely_synthetic"
    assert grep(c, "c2pa: manifest present, validation state Valid")
    assert grep(c, "c2pa.digitalSourceType: algorithmicMedia")

    ca = got["CA.jpg"]
    assert grep(ca, "validation state Valid") and grep(ca, "1 ingredient(s): A.jpg")
    assert ca.verdict == "no_evidence"
    assert not grep(ca, "altered after it was signed")

    xca = got["XCA.jpg"]
    assert xca.verdict == "likely_manipulated"
    assert grep(xca, "altered after it was signed (assertion.dataHash.mismatch)")

    for name in ("no_manifest.jpg", "sample1.png"):
        assert got[name].verdict == "no_evidence"
        assert grep(got[name], "c2pa: no Content Credentials")

    for s in got.values():
        assert s.evidence  # never a bare number
        assert not any("authentic" in line.lower() for line in lines(s))


@pytest.fixture
def listener() -> Iterator[tuple[int, list[bytes]]]:
    """A local server standing in for a planted file's author: it records any connection."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(0.1)
    seen: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                continue
            seen.append(conn.recv(1024))
            conn.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield srv.getsockname()[1], seen
    stop.set()
    t.join()
    srv.close()


def jpeg_with_xmp(xmp: bytes) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((48, 48, 3), 120, np.uint8)).save(buf, "JPEG")
    jpg = buf.getvalue()
    payload = b"http://ns.adobe.com/xap/1.0/\x00" + xmp
    return jpg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpg[2:]


def test_a_remote_manifest_is_never_fetched(
    settings: Settings, listener: tuple[int, list[bytes]]
) -> None:
    port, seen = listener
    url = f"http://127.0.0.1:{port}/manifest.c2pa"
    xmp = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
        f'xmlns:dcterms="http://purl.org/dc/terms/" dcterms:provenance="{url}"/>'
        "</rdf:RDF></x:xmpmeta>"
    ).encode()
    got = analyse(settings, jpeg_with_xmp(xmp), "planted.jpg")
    assert grep(got, f"c2pa: the manifest is remote ({url}) and was not fetched")
    assert seen == []


# --- Generator metadata ---------------------------------------------------------------------


def test_generator_metadata_in_every_positive_and_not_in_the_negative(
    settings: Settings,
) -> None:
    folder = testdata("ai_metadata")
    expected = {
        "automatic1111_cropped.png": "png:parameters: AUTOMATIC1111",
        "img2img_cropped.png": "png:prompt: ComfyUI",
        "invokeai_imeta1.png": "png:invokeai_metadata: InvokeAI",
    }
    names = sorted(p.name for p in folder.glob("*.png"))
    assert set(names) == {*expected, "empty_image.png"}, names  # the loop must see every case
    for p in sorted(folder.glob("*.png")):
        got = analyse(settings, p.read_bytes(), p.name)
        if p.name in expected:
            assert got.verdict == "likely_synthetic", p.name
            assert grep(got, expected[p.name]), lines(got)
        else:
            assert got.verdict == "no_evidence"
            assert grep(got, "no generator metadata found")


@pytest.mark.parametrize(
    ("key", "text", "found"),
    [
        ("Software", "NovelAI", "png:Software: NovelAI"),
        ("fooocus_scheme", "fooocus", "Fooocus"),
        ("parameters", '{"prompt": "a duck", "base_model": "juggernaut"}', "Fooocus"),
        ("workflow", '{"nodes": [], "links": []}', "ComfyUI workflow"),
    ],
)
def test_other_generators_are_named(settings: Settings, key: str, text: str, found: str) -> None:
    got = analyse(settings, png(None, **{key: text}), "g.png")
    assert got.verdict == "likely_synthetic" and grep(got, found), lines(got)


def stealth_png(text: str) -> bytes:
    """An RGBA PNG carrying A1111 'stealth_pngcomp' metadata in the alpha low bits."""
    payload = gzip.compress(text.encode())
    data = b"stealth_pngcomp"
    bits = np.unpackbits(np.frombuffer(data, np.uint8))
    length = np.array([int(b) for b in format(len(payload) * 8, "032b")], np.uint8)
    bits = np.concatenate([bits, length, np.unpackbits(np.frombuffer(payload, np.uint8))])
    h, w = 64, 64
    alpha = np.full(h * w, 254, np.uint8)
    alpha[: bits.size] |= bits
    grid = alpha.reshape(w, h).T  # column-major, as the extension writes it
    rgba = np.dstack([np.full((h, w, 3), 100, np.uint8), grid])
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, "PNG")
    return buf.getvalue()


def test_stealth_metadata_in_alpha_low_bits_is_found(settings: Settings) -> None:
    got = analyse(settings, stealth_png("a duck\nSteps: 20, Sampler: Euler, Seed: 3"), "s.png")
    assert got.verdict == "likely_synthetic"
    assert grep(got, "stealth:alpha: AUTOMATIC1111 parameters hidden in pixel low bits")


def test_exif_user_comment_and_xmp_source_type(settings: Settings) -> None:
    im = Image.fromarray(np.full((40, 40, 3), 70, np.uint8))
    exif = Image.Exif()
    exif[0x0131] = "Photo editor 1.0"
    exif.get_ifd(0x8769)[0x9286] = b"UNICODE\x00" + "a duck\nSteps: 20, Seed: 5".encode("utf-16-be")
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif)
    got = analyse(settings, buf.getvalue(), "e.jpg")
    assert grep(got, "exif:UserComment: AUTOMATIC1111"), lines(got)

    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description '
        b'Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/'
        b'compositeWithTrainedAlgorithmicMedia"/></x:xmpmeta>'
    )
    got = analyse(settings, jpeg_with_xmp(xmp), "x.jpg")
    assert got.verdict == "likely_manipulated"
    assert grep(got, "xmp:DigitalSourceType: compositeWithTrainedAlgorithmicMedia (unsigned)")


# --- Hostile metadata -----------------------------------------------------------------------


def _hostile() -> dict[str, tuple[bytes, str]]:
    base = png()
    deep = "[" * 100_000 + "]" * 100_000
    bomb = zlib.compress(b"a" * (64 * 1024 * 1024), 9)
    c_jpg = (testdata("c2pa") / "C.jpg").read_bytes()
    jumb = c_jpg.find(b"jumb")
    return {
        "truncated text chunk": (
            base[:33] + struct.pack(">I", 1 << 30) + b"tEXt" + b"parameters\x00x" + base[33:],
            "png: unreadable: chunk 'tEXt' at byte 33 claims 1073741824 bytes",
        ),
        "deep JSON": (png(prompt=deep), "png:prompt: unreadable: JSON nested deeper"),
        "oversized JSON": (
            png(workflow="{" + " " * (3 * 1024 * 1024) + "}"),
            "png:workflow: unreadable: JSON of",
        ),
        "zTXt bomb": (
            with_chunk(base, raw_chunk(b"zTXt", b"parameters\x00\x00" + bomb)),
            "png:zTXt: unreadable: at byte 33: zTXt 'parameters': inflates to more than",
        ),
        "iTXt not UTF-8": (
            with_chunk(base, raw_chunk(b"iTXt", b"parameters\x00\x00\x00\x00\x00\xff\xfe")),
            "not valid UTF-8",
        ),
        "truncated XMP": (
            jpeg_with_xmp(b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>'),
            "xmp: unreadable: the XMP packet has no end",
        ),
        "oversized XMP": (
            jpeg_with_xmp(b"<x:xmpmeta>" + b" " * 60000 + b"</x:xmpmeta>"),
            "",  # within limits: must simply not fail
        ),
        "corrupt C2PA store": (
            c_jpg[: jumb + 40] + b"\xff" * 400 + c_jpg[jumb + 440 :],
            "c2pa",
        ),
    }


@pytest.mark.parametrize("case", list(_hostile()))
def test_hostile_metadata_gives_a_line_not_a_crash(settings: Settings, case: str) -> None:
    data, expected = _hostile()[case]
    got = analyse_bytes(settings, data, "png" if data.startswith(b"\x89PNG") else "jpeg")
    assert got.evidence
    if expected:
        assert grep(got, expected), lines(got)
    # The other checks still ran.
    assert grep(got, "forensics")


def test_truncated_c2pa_store_is_unreadable_and_the_item_still_scanned(
    tmp_path: Path,
) -> None:
    from haechi.scan import scan_paths
    from haechi.services.items import item_json
    from haechi.store import items as store
    from haechi.store.db import Database

    c_jpg = (testdata("c2pa") / "C.jpg").read_bytes()
    folder = tmp_path / "in"
    folder.mkdir()
    # The JUMBF box is cut in half and the picture after it is gone too.
    at = c_jpg.find(b"jumb")
    (folder / "cut.jpg").write_bytes(c_jpg[: at + 200] + c_jpg[-20000:])
    settings = load_settings(home=tmp_path / "home", workers=1)
    db = Database(settings)
    scan_paths(db, settings, [folder])
    with db.session() as s:
        views = list(store.iter_items(s))
    db.close()
    assert len(views) == 1
    item = item_json(views[0])
    # The cut leaves no decodable picture: the item is kept with its hashes and a reason, and the
    # broken manifest store did not stop the scan.
    assert item["sha256"] and item["md5"]
    assert item["error"] and "decode" in item["error"], item["error"]


# --- Pluggable detector ---------------------------------------------------------------------


def tiny_detector(path: Path, fake: float) -> Path:
    """An ONNX model keeping the contract: (1, 3, 32, 32) in, [real, fake] logits out, the
    logits fixed so the answer is known."""
    import onnx
    from onnx import TensorProto, helper

    logits = np.array([[0.0, np.log(fake / (1 - fake))]], np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", ["x"], ["m"], keepdims=0),
            helper.make_node("Mul", ["m", "zero"], ["z"]),
            helper.make_node("Add", ["logits", "z"], ["y"]),
        ],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])],
        [
            helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0]),
            helper.make_tensor("logits", TensorProto.FLOAT, [1, 2], logits.ravel().tolist()),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def test_a_plugged_detector_adds_one_evidence_line(tmp_path: Path) -> None:
    model = tiny_detector(tmp_path / "fake.onnx", 0.9)
    settings = load_settings(home=tmp_path / "h", judge={"detector_model": str(model)})
    got = analyse(settings, png(), "d.png")
    assert grep(got, "detector: fake.onnx gives 0.90 fake (threshold 0.50)")
    assert got.verdict == "likely_manipulated"
    low = run_detector(
        tiny_detector(tmp_path / "real.onnx", 0.1), np.zeros((8, 8, 3), np.uint8), 0.5
    )
    assert low.points == "info" and "0.10 fake" in low.text
