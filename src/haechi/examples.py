"""Example media shipped inside the package (`haechi/data/`, origins in its SOURCES.md): the
analyzers' contract examples and the demo read them from here, so neither needs an extra package
nor the network. Nothing here is sexual; the one photo is a public-domain NASA portrait."""

from __future__ import annotations

from importlib.resources import as_file, files
from pathlib import Path

from PIL import Image


def example_photo_path() -> Path:
    """NASA's portrait of Eileen Collins (public domain), 512×512, one frontal face."""
    resource = files("haechi") / "data" / "astronaut.png"
    with as_file(resource) as path:  # a real file for wheels and editable installs alike
        return Path(path)


def example_photo() -> Image.Image:
    """The example portrait as an RGB Pillow image, read afresh (callers may change it)."""
    with Image.open(example_photo_path()) as im:
        return im.convert("RGB")
