"""A picture of one content cluster's network: the rooms it was posted in (in order of first
sighting, left to right), who posted it where, how it moved (dashed: uncertain), who was
present, and a legend of roles in English and Korean. Drawn as a list of shapes, written as SVG
by hand or as PNG with Pillow (a Korean-capable font from the system; `fonts-nanum` on Debian).

The scene (its shapes and layout) is `haechi.network.scene`; this module draws it.

The picture shows accounts and rooms, never the media itself."""

from __future__ import annotations

from html import escape
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from haechi.errors import InputError
from haechi.i18n import _
from haechi.network.model import Network
from haechi.network.scene import RGB, Box, Circle, Line, Scene, cluster_scene

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/nanum/NanumGothic.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansKR-Regular.ttf",
    "/usr/share/fonts/truetype/unfonts-core/UnDotum.ttf",
)


def _hex(c: RGB) -> str:
    return "#{:02x}{:02x}{:02x}".format(*c)


def to_svg(scene: Scene) -> str:
    """The scene as a standalone SVG document (text escaped; fonts named, not embedded)."""
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{scene.width}" height="{scene.height}" '
        f'viewBox="0 0 {scene.width} {scene.height}" font-family="NanumGothic, Noto Sans CJK KR, '
        f'Malgun Gothic, sans-serif">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#444"/></marker></defs>',
        f'<rect width="{scene.width}" height="{scene.height}" fill="#ffffff"/>',
    ]
    for s in scene.shapes:
        if isinstance(s, Line):
            dash = ' stroke-dasharray="6,4"' if s.dashed else ""
            arrow = ' marker-end="url(#arrow)"' if s.arrow else ""
            out.append(
                f'<line x1="{s.x1:.1f}" y1="{s.y1:.1f}" x2="{s.x2:.1f}" y2="{s.y2:.1f}" '
                f'stroke="{_hex(s.colour)}" stroke-width="{s.width}"{dash}{arrow}/>'
            )
        elif isinstance(s, Circle):
            out.append(
                f'<circle cx="{s.x:.1f}" cy="{s.y:.1f}" r="{s.r:.1f}" fill="{_hex(s.fill)}"/>'
            )
        elif isinstance(s, Box):
            out.append(
                f'<rect x="{s.x:.1f}" y="{s.y:.1f}" width="{s.w:.1f}" height="{s.h:.1f}" rx="6" '
                f'fill="{_hex(s.fill)}" stroke="{_hex(s.outline)}"/>'
            )
        else:
            out.append(
                f'<text x="{s.x:.1f}" y="{s.y:.1f}" font-size="{s.size}" '
                f'fill="{_hex(s.colour)}" text-anchor="{s.anchor}">{escape(s.text)}</text>'
            )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def find_font() -> Path | None:
    """The first Korean-capable font of `FONT_CANDIDATES` on this system, or None (the PNG
    then uses Pillow's default font, which has no Hangul)."""
    for p in FONT_CANDIDATES:
        if Path(p).is_file():
            return Path(p)
    return None


def to_png(scene: Scene, path: Path, scale: float = 1.5) -> None:
    """Draw the scene as a PNG at `path`, `scale` times its size in pixels."""
    font_path = find_font()
    im = Image.new("RGB", (int(scene.width * scale), int(scene.height * scale)), "white")
    d = ImageDraw.Draw(im)
    fonts: dict[int, ImageFont.FreeTypeFont | ImageFont.ImageFont] = {}

    def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
        if size not in fonts:
            px = int(size * scale)
            fonts[size] = (
                ImageFont.truetype(str(font_path), px)
                if font_path
                else ImageFont.load_default(px)  # no Hangul in it: install fonts-nanum
            )
        return fonts[size]

    def p(v: float) -> float:
        return v * scale

    for s in scene.shapes:
        if isinstance(s, Line):
            _line(d, p(s.x1), p(s.y1), p(s.x2), p(s.y2), s.colour, s.dashed, int(s.width * scale))
            if s.arrow:
                _arrow_head(d, p(s.x1), p(s.y1), p(s.x2), p(s.y2), s.colour, scale)
        elif isinstance(s, Circle):
            d.ellipse((p(s.x - s.r), p(s.y - s.r), p(s.x + s.r), p(s.y + s.r)), fill=s.fill)
        elif isinstance(s, Box):
            d.rounded_rectangle(
                (p(s.x), p(s.y), p(s.x + s.w), p(s.y + s.h)),
                radius=int(p(6)),
                fill=s.fill,
                outline=s.outline,
            )
        else:
            anchor = "ms" if s.anchor == "middle" else "ls"
            d.text((p(s.x), p(s.y)), s.text, fill=s.colour, font=font(s.size), anchor=anchor)
    im.save(path, "PNG")


def _line(
    d: ImageDraw.ImageDraw,
    x1: float,
    y1: float,
    x2: float,
    y2: float,
    colour: RGB,
    dashed: bool,
    width: int,
) -> None:
    if not dashed:
        d.line((x1, y1, x2, y2), fill=colour, width=width)
        return
    length = max(1.0, ((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5)
    step, on = 14.0, 8.0
    t = 0.0
    while t < length:
        a, b = t / length, min(length, t + on) / length
        d.line(
            (x1 + (x2 - x1) * a, y1 + (y2 - y1) * a, x1 + (x2 - x1) * b, y1 + (y2 - y1) * b),
            fill=colour,
            width=width,
        )
        t += step


def _arrow_head(
    d: ImageDraw.ImageDraw, x1: float, y1: float, x2: float, y2: float, colour: RGB, scale: float
) -> None:
    length = max(1.0, ((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5)
    ux, uy = (x2 - x1) / length, (y2 - y1) / length
    size = 9 * scale
    bx, by = x2 - ux * size, y2 - uy * size
    d.polygon(
        [
            (x2, y2),
            (bx - uy * size / 2, by + ux * size / 2),
            (bx + uy * size / 2, by - ux * size / 2),
        ],
        fill=colour,
    )


def render_cluster(net: Network, cluster: str, path: Path) -> None:
    """Write one cluster's picture to `path`, as SVG or PNG by its suffix; raises InputError
    for another suffix or an unknown cluster."""
    scene = cluster_scene(net, cluster)
    suffix = path.suffix.lower()
    if suffix == ".svg":
        path.write_text(to_svg(scene), encoding="utf-8")
    elif suffix == ".png":
        to_png(scene, path)
    else:
        raise InputError(_("{path}: the picture must end in .svg or .png").format(path=path))
