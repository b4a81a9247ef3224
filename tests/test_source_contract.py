"""The contract every source passes, built-in or plug-in: each sighting it yields can be read
back, byte for byte, through `open_locator` on the source the registry reopens from the stored
kind and root (what evidence capture does); a locator it cannot read is a `SourceError`.

A new source must add a sample here, or the contract test fails for it."""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import pytest
from conftest import jpeg_bytes, noise_image
from tdesktop_html import write_html_chat
from telegram_exports import write_media_export
from warc_files import write_warc

from haechi.config import Settings
from haechi.errors import SourceError
from haechi.sources import Sighting, Source, load_registry

REGISTRY = load_registry()


def _folder(tmp: Path) -> Path:
    root = tmp / "folder"
    (root / "sub").mkdir(parents=True)
    (root / "a.jpg").write_bytes(jpeg_bytes(noise_image(1)))
    (root / "sub" / "b.png").write_bytes(jpeg_bytes(noise_image(2)))  # misnamed, still read
    (root / "voice.ogg").write_bytes(b"OggS\x00\x02" + bytes(300))
    with zipfile.ZipFile(root / "sub" / "bundle.zip", "w") as zf:
        zf.writestr("inner/c.jpg", jpeg_bytes(noise_image(3)))
        zf.writestr("inner/d.pdf", b"%PDF-1.4\n%%EOF\n")
    return root


def _single_file(tmp: Path) -> Path:
    path = tmp / "one.jpg"
    path.write_bytes(jpeg_bytes(noise_image(4)))
    return path


def _zip_file(tmp: Path) -> Path:
    path = tmp / "bundle.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("x/e.jpg", jpeg_bytes(noise_image(5)))
    return path


def _json_export(tmp: Path) -> Path:
    root = tmp / "ChatExport_2024-03-01"
    write_media_export(root, jpeg_bytes(noise_image(6)))
    return root


def _html_account_export(tmp: Path) -> Path:
    root = tmp / "DataExport"
    root.mkdir()
    for n in (1, 2):
        folder = root / "chats" / f"chat_{n:03d}"
        write_html_chat(folder, base="../../", media_prefix=f"../../chats/chat_{n:03d}/", title="R")
        photo = folder / "photos" / "photo_1@12-03-2024_21-06-00.jpg"
        photo.write_bytes(jpeg_bytes(noise_image(10 + n)))
    return root


def _warc(tmp: Path) -> Path:
    path = tmp / "page.warc.gz"
    write_warc(path, gz=True)
    return path


SAMPLES: dict[str, list[Callable[[Path], Path]]] = {
    "folder": [_folder, _single_file, _zip_file],
    "telegram_export": [_json_export, _html_account_export],
    "warc": [_warc],
    "telegram": [],  # live: not scanned from a path; checked below
}


def _sightings(source: Source) -> Iterator[Sighting]:
    for place in source.sightings():
        if isinstance(place, Sighting):
            yield place


def _sha(fh: BinaryIO) -> str:
    with fh:
        return hashlib.sha256(fh.read()).hexdigest()


def test_every_registered_source_has_a_sample() -> None:
    assert set(REGISTRY.kinds()) <= set(SAMPLES), "add a sample of the new source to SAMPLES"


def test_a_source_without_open_locator_cannot_exist(settings: Settings, tmp_path: Path) -> None:
    class Forgetful(Source):
        kind = "forgetful"

        @classmethod
        def recognises(cls, path: Path) -> bool:
            return False

        def sightings(self) -> Iterator[Sighting]:
            return iter(())

    with pytest.raises(TypeError, match="open_locator"):
        Forgetful(tmp_path, settings)  # type: ignore[abstract]


@pytest.mark.parametrize("kind", REGISTRY.kinds())
def test_contract(kind: str, settings: Settings, tmp_path: Path) -> None:
    cls = REGISTRY.get(kind)
    assert cls.kind == kind
    if not cls.scans_paths:
        # A source that is not read from a path still answers for its stored sightings.
        reader = REGISTRY.reader(kind, f"{kind}:1", settings)
        with pytest.raises(SourceError) as gone:
            reader.open_locator("1")
        assert gone.value.reason
        return
    for make in SAMPLES[kind]:
        (tmp_path / make.__name__).mkdir()
        path = make(tmp_path / make.__name__)
        source = REGISTRY.open(path, settings)
        assert source.kind == kind, f"{make.__name__}: opened as {source.kind}"
        seen = list(_sightings(source))
        assert seen, f"{make.__name__}: no sightings"
        # What capture does later: the source reopened from the stored kind and root.
        again = REGISTRY.reader(kind, source.locator, settings)
        for sg in seen:
            assert _sha(again.open_locator(sg.locator)) == _sha(sg.content.open()), sg.locator
        with pytest.raises(SourceError):
            again.open_locator(seen[0].locator + "-no-such-thing")


def test_locators_never_reach_outside_the_source(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "secret.jpg").write_bytes(b"secret")
    folder = REGISTRY.reader("folder", str(_folder(tmp_path / "f")), settings)
    export = REGISTRY.reader("telegram_export", str(_json_export(tmp_path / "e")), settings)
    for source, locator in (
        (folder, "../../secret.jpg"),
        (folder, str(tmp_path / "secret.jpg")),
        (export, "4242/10/../../../secret.jpg"),
    ):
        with pytest.raises(SourceError):
            source.open_locator(locator)
