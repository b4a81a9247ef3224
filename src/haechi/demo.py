"""`haechi demo`: a corpus made from a public-domain photo and generated images, then a scan
and a plain-language account of what haechi found. Nothing sexual, no private person."""

from __future__ import annotations

import io
import shutil
import zipfile
import zlib
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageOps
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from sqlalchemy import select

from haechi.analyzers.pdq import PdqFrame
from haechi.config import Settings
from haechi.examples import example_photo, example_photo_path
from haechi.matching.pdq import compare_frames, distance
from haechi.persons.enrol import Consent, enrol
from haechi.safe_text import visible
from haechi.scan import scan_paths
from haechi.store import items as store
from haechi.store.db import Database
from haechi.store.findings import Finding
from haechi.store.models import Sighting
from haechi.store.persons import Person

DEMO_ALIAS = "astronaut-demo"


def astronaut_path() -> Path:
    """NASA's portrait of Eileen Collins (public domain), shipped inside the package."""
    return example_photo_path()


def astronaut() -> Image.Image:
    return example_photo()


def _jpeg(im: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _scene(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """An unrelated picture: a gradient sky, hills and shapes from a seeded generator."""
    rng = np.random.default_rng(seed)
    w, h = size
    y = np.linspace(0, 1, h)[:, None, None]
    top, bottom = rng.integers(0, 255, 3), rng.integers(0, 255, 3)
    sky = (top * (1 - y) + bottom * y).repeat(w, axis=1).astype(np.uint8)
    im = Image.fromarray(sky)
    draw = ImageDraw.Draw(im)
    for _shape in range(8):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        r = int(rng.integers(20, 120))
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        if rng.random() < 0.5:
            draw.ellipse((x0 - r, y0 - r, x0 + r, y0 + r), fill=colour)
        else:
            draw.rectangle((x0 - r, y0 - r // 2, x0 + r, y0 + r // 2), fill=colour)
    return im


def _video(path: Path, base: Image.Image, seconds: int, fps: int, width: int) -> None:
    """A slow zoom over `base`, encoded with H.264 like most shared clips."""
    src = np.asarray(base)
    h0, w0 = src.shape[:2]
    height = int(width * h0 / w0) // 2 * 2
    with av.open(str(path), "w") as c:
        stream = c.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        n = seconds * fps
        for i in range(n):
            z = 1.0 - 0.15 * i / n
            cw, ch = int(w0 * z), int(h0 * z)
            x, y = (w0 - cw) // 2, (h0 - ch) // 2
            crop = Image.fromarray(src[y : y + ch, x : x + cw]).resize((width, height))
            frame = av.VideoFrame.from_ndarray(np.asarray(crop), format="rgb24")
            for packet in stream.encode(frame):
                c.mux(packet)
        for packet in stream.encode():
            c.mux(packet)


def _png_bomb(path: Path, side: int) -> None:
    """A valid 1-bit PNG of side×side pixels that compresses to a few hundred kilobytes."""
    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    comp = zlib.compressobj(9)
    body = b"".join(comp.compress(row) for _row in range(side)) + comp.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return len(data).to_bytes(4, "big") + kind + data + crc.to_bytes(4, "big")

    ihdr = side.to_bytes(4, "big") * 2 + bytes([1, 0, 0, 0, 0])
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


def build_corpus(root: Path) -> dict[str, str]:
    """Write the demo corpus under `root`; returns file → what it is."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "copies").mkdir(exist_ok=True)
    (root / "other").mkdir(exist_ok=True)
    (root / "broken").mkdir(exist_ok=True)
    what: dict[str, str] = {}
    base = astronaut()

    def put(rel: str, data: bytes, desc: str) -> None:
        (root / rel).write_bytes(data)
        what[rel] = desc

    put("original.jpg", _jpeg(base, 95), "the original photo")
    w, h = base.size
    put("copies/resized-50.jpg", _jpeg(base.resize((w // 2, h // 2)), 85), "resized to 50 %")
    put("copies/recompressed-q30.jpg", _jpeg(base, 30), "recompressed at JPEG quality 30")
    put(
        "copies/brighter.jpg",
        _jpeg(ImageEnhance.Brightness(base).enhance(1.25), 80),
        "brightened 25 %",
    )
    put("copies/grey.jpg", _jpeg(ImageOps.grayscale(base).convert("RGB"), 80), "greyscale")
    stamped = base.copy()
    ImageDraw.Draw(stamped).rectangle((w - 140, h - 40, w - 10, h - 10), fill=(255, 255, 255))
    put("copies/stamped.jpg", _jpeg(stamped, 85), "with a 'channel watermark' box")
    m = int(w * 0.1)
    put(
        "copies/cropped-10pct.jpg",
        _jpeg(base.crop((m, m, w - m, h - m)), 85),
        "cropped 10 % per side (PDQ is not built for crops; face matching is)",
    )
    put("copies/mirrored.jpg", _jpeg(ImageOps.mirror(base), 85), "mirrored")
    for i in range(6):
        put(f"other/scene-{i}.jpg", _jpeg(_scene(i), 85), "an unrelated generated picture")
    _video(root / "clip.mp4", base, seconds=6, fps=10, width=384)
    what["clip.mp4"] = "a 6 s zoom over the photo (H.264)"
    _video(root / "copies/clip-reencoded.mp4", base, seconds=6, fps=8, width=256)
    what["copies/clip-reencoded.mp4"] = "the same clip, smaller and re-encoded"
    frames = [_scene(100 + i, (240, 180)) for i in range(3)]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:], duration=700, loop=0)
    put("other/animated.gif", gif.getvalue(), "an animated GIF (scanned as frames)")
    good = _jpeg(base, 90)
    put("broken/empty.jpg", b"", "a zero-byte file")
    put("broken/truncated.jpg", good[: len(good) // 3], "a JPEG cut off at a third")
    put("broken/not-a-photo.jpg", b"Meeting notes, not a photo.\n", "text with a .jpg name")
    _png_bomb(root / "broken/bomb.png", 30_000)
    what["broken/bomb.png"] = "a decompression bomb (30000x30000 pixels)"
    with zipfile.ZipFile(root / "shared-album.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("album/photo-1.jpg", _jpeg(base.resize((w * 3 // 4, h * 3 // 4)), 70))
        zf.writestr("album/scene.jpg", _jpeg(_scene(42), 80))
        zf.writestr("../outside.jpg", good)
    what["shared-album.zip"] = "an archive: a copy, a scene, and an entry that tries to escape"
    return what


def _esc(value: object) -> str:
    # The data directory is the user's: a `[` in its path must not be read as markup.
    return escape(visible(value))


def run_demo(settings: Settings, db: Database, console: Console, *, fresh: bool = False) -> None:
    root = settings.home_dir / "demo-corpus"
    if fresh and root.exists():
        shutil.rmtree(root)
    if not root.exists():
        console.print(f"building the demo corpus in {_esc(root)} …")
        build_corpus(root)
    _enrol_demo_person(settings, db, console)
    console.print(f"scanning {_esc(root)} …")
    (summary,) = scan_paths(db, settings, [root])
    console.print(
        f"\n[bold]{summary.seen}[/] files handled: {summary.new_items} new items, "
        f"{summary.known_items} already known, {summary.unchanged} unchanged since the last "
        f"scan, {summary.errors} refused with a reason.\n"
    )
    _explain(db, settings, console, root)


def _explain(db: Database, settings: Settings, console: Console, root: Path) -> None:
    with db.session() as s:
        views = [
            v
            for v in store.iter_items(s)
            if any(sg.source == str(root.resolve()) for sg in v.sightings)
        ]
        errors = store.source_errors(s)
    original = next(
        (v for v in views if any(sg.locator == "original.jpg" for sg in v.sightings)), None
    )
    limit = settings.thresholds.pdq_max_distance
    if original is not None and original.pdq.get("pdq"):
        table = Table(title=f"copies of original.jpg found by PDQ (match: distance ≤ {limit})")
        for col in ("file", "PDQ distance", "quality", "verdict"):
            table.add_column(col)
        rows = []
        for v in views:
            h = v.pdq.get("pdq")
            if not h or v.sha256 == original.sha256:
                continue
            d = distance(original.pdq["pdq"], h)
            rows.append((d, v))
        for d, v in sorted(rows, key=lambda r: r[0]):
            verdict = "[green]same picture[/]" if d <= limit else "[dim]different[/]"
            table.add_row(_where(v, root), str(d), str(v.pdq.get("quality")), verdict)
        console.print(table)
    videos = [v for v in views if v.kind == "video" and v.pdq.get("frames")]
    if len(videos) >= 2:
        table = Table(title="videos compared frame by frame (vPDQ style)")
        for col in ("video A", "video B", "A frames matched", "B frames matched", "verdict"):
            table.add_column(col)
        share = settings.thresholds.vpdq_frame_share
        for i, a in enumerate(videos):
            for b in videos[i + 1 :]:
                fa = [PdqFrame(**f) for f in a.pdq["frames"]]
                fb = [PdqFrame(**f) for f in b.pdq["frames"]]
                m = compare_frames(fa, fb, max_distance=limit)
                verdict = "[green]same video[/]" if m.matches(share) else "[dim]different[/]"
                table.add_row(
                    _where(a, root),
                    _where(b, root),
                    f"{m.query_share:.0%}",
                    f"{m.target_share:.0%}",
                    verdict,
                )
        console.print(table)
    _explain_findings(db, console, root)
    bad = [(v, e) for v in views for e in v.errors]
    if bad or errors:
        table = Table(title="refused files (the scan went on)")
        table.add_column("file")
        table.add_column("reason")
        for v, e in bad:
            table.add_row(Text(visible(_where(v, root))), Text(visible(e)))
        for problem in errors:
            table.add_row(Text(visible(problem.locator)), Text(visible(problem.reason)))
        console.print(table)
    console.print(
        "\nNext: `haechi items` lists every item, `haechi show SHA256` shows one, "
        "`haechi findings` lists what matched an enrolled person, `haechi forget "
        f"{DEMO_ALIAS}` erases the demo person, and `--json` gives the same for machines."
    )


def _enrol_demo_person(settings: Settings, db: Database, console: Console) -> None:
    """Enrol the astronaut from one photo, shipped inside the package (nothing is
    copied), with a consent record marked as a demo."""
    with db.session() as s:
        if s.scalar(select(Person.id).where(Person.alias == DEMO_ALIAS)) is not None:
            return
    result = enrol(
        db,
        settings,
        DEMO_ALIAS,
        Consent(
            text="DEMO: a public-domain NASA portrait stands in for a person who consented.",
            consented_by="haechi demo",
            for_whom="the person in NASA's public-domain astronaut portrait (demo only)",
            scope="match faces in the demo corpus",
            verified_how="not applicable: public-domain demo image",
        ),
        [astronaut_path()],
    )
    console.print(
        f"enrolled [bold]{DEMO_ALIAS}[/] from one photo with a demo consent record: "
        f"{result.templates} face template stored, the photo itself was not."
    )


def _explain_findings(db: Database, console: Console, root: Path) -> None:
    table = Table(title=f"findings: faces matching the enrolled person {DEMO_ALIAS!r}")
    for col in ("file", "t (s)", "similarity", "face box (x,y,w,h)"):
        table.add_column(col)
    with db.session() as s:
        rows = s.execute(
            select(Finding)
            .join(Person, Person.id == Finding.person_id)
            .where(Person.alias == DEMO_ALIAS, Finding.kind == "face_match")
        ).scalars()
        found = []
        for f in rows:
            locs = s.scalars(
                select(Sighting.locator).where(Sighting.item_sha256 == f.item_sha256)
            ).all()
            t = f.details.get("t")
            found.append((", ".join(sorted(locs)), t, f.score, f.details.get("box")))
    for where, t, score, box in sorted(found, key=lambda r: (r[0], r[1] or 0.0)):
        table.add_row(
            where,
            "-" if t is None else f"{t:.2f}",
            f"{score:.3f}",
            ",".join(map(str, box or ())),
        )
    console.print(table)
    console.print(
        "Faces are compared only with enrolled persons (here, the demo person). The cropped and "
        "mirrored copies, which PDQ calls different pictures, are found by the face."
    )


def _where(view: store.ItemView, root: Path) -> str:
    locs = [sg.locator for sg in view.sightings if sg.source == str(root.resolve())]
    return ", ".join(locs) if locs else view.sha256[:12]
