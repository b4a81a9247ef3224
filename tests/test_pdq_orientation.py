"""PDQ as every other platform computes it: on the pixels as stored, never EXIF-rotated; rotated
and mirrored copies found through PDQ's dihedral variants, with the variant named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pdqhash
import pytest
from conftest import haechi, jpeg_bytes, noise_image, testdata
from PIL import Image
from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_file

from haechi.analyzers.pdq import VARIANTS, PdqAnalyzer, pdq_dihedral_hex, pdq_hex
from haechi.config import Limits, Settings
from haechi.matching.pdq import distance
from haechi.media import FileContent, decode_media
from haechi.media.types import as_stored


def _with_orientation(src: Path, dest: Path, orientation: int) -> None:
    """A copy of `src` tagged with EXIF `orientation`, as a phone writes it."""
    with Image.open(src) as im:
        exif = Image.Exif()
        exif[0x0112] = orientation
        im.convert("RGB").save(dest, "JPEG", quality=92, exif=exif.tobytes())


@pytest.mark.parametrize("orientation", [6, 3, 8, 5])
def test_an_exif_rotated_photo_hashes_as_threatexchange_hashes_it(
    tmp_path: Path, settings: Settings, orientation: int
) -> None:
    phone = tmp_path / "phone.jpg"
    _with_orientation(testdata("faces", "img1.jpg"), phone, orientation)
    media = decode_media(FileContent(phone, phone.name), Limits())
    sig = PdqAnalyzer(settings).analyze(media)
    assert (sig.pdq, sig.quality) == pdq_from_file(phone)
    # Faces keep seeing the upright picture: an orientation-6 photo is decoded turned.
    with Image.open(phone) as im:
        w, h = im.size
    turned = orientation in (5, 6, 7, 8)
    assert (media.width, media.height) == ((h, w) if turned else (w, h))


def test_undoing_each_orientation_gives_back_the_stored_pixels() -> None:
    from PIL import ImageOps

    stored = np.asarray(noise_image(3, (40, 24)))
    for orientation in range(1, 9):
        im = Image.fromarray(stored)
        exif = Image.Exif()
        exif[0x0112] = orientation
        im.info["exif"] = exif.tobytes()
        im.getexif()[0x0112] = orientation
        upright = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
        assert np.array_equal(as_stored(upright, orientation), stored), orientation


def test_the_variant_names_say_what_is_done_to_the_picture() -> None:
    a = np.asarray(Image.open(testdata("faces", "img2.jpg")).convert("RGB"))
    turned = {
        "original": a,
        "rotate_90_ccw": np.rot90(a, 1),
        "rotate_180": np.rot90(a, 2),
        "rotate_90_cw": np.rot90(a, -1),
        "flip_vertical": a[::-1],
        "flip_horizontal": a[:, ::-1],
        "transpose": a.transpose(1, 0, 2),
        "transverse": a[::-1, ::-1].transpose(1, 0, 2),
    }
    assert tuple(turned) == VARIANTS
    hashes, _ = pdq_dihedral_hex(a)
    for (name, pixels), h in zip(turned.items(), hashes, strict=True):
        assert distance(pdq_hex(pixels)[0], h) <= 16, name
    assert pdqhash.compute_dihedral(np.ascontiguousarray(a))[1] == pdqhash.compute(a)[1]


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.mark.slow
def test_a_rotated_copy_matches_the_registered_original_with_the_variant_named(
    tmp_path: Path,
) -> None:
    original = noise_image(71, (640, 480))
    own = tmp_path / "own.jpg"
    own.write_bytes(jpeg_bytes(original, 92))
    corpus = tmp_path / "collected"
    corpus.mkdir()
    # Pixels really turned (a re-upload that baked the rotation in), and a mirror.
    (corpus / "turned.jpg").write_bytes(jpeg_bytes(original.transpose(Image.Transpose.ROTATE_90)))
    (corpus / "mirror.jpg").write_bytes(
        jpeg_bytes(original.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    )
    (corpus / "other.jpg").write_bytes(jpeg_bytes(noise_image(72, (640, 480))))
    home = tmp_path / "h"
    consent = ["--consent", "yes", "--consent-by", "person_01", "--scope", "own files"]
    haechi(home, "enrol", "--alias", "p", *consent, "--own-media", str(own))
    lines = {
        Path(str(o["path"])).name: o
        for o in _json_lines(haechi(home, "scan", "--json", str(corpus)).stdout)
    }
    (turned,) = lines["turned.jpg"]["findings"]
    assert turned["kind"] == "own_media_match"
    # ROTATE_90 turned it counter-clockwise: turning it clockwise gives the original back.
    assert turned["pdq_variant"] == "rotate_90_cw"
    (mirror,) = lines["mirror.jpg"]["findings"]
    assert mirror["pdq_variant"] == "flip_horizontal"
    assert lines["other.jpg"]["findings"] == []
