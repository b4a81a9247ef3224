"""Items as the CLI, the web app and the API read them: one item by hash or prefix, every item
in batches, what one scan sighted, and the errors with no item behind them."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from haechi.matching.review import ChatPlace, Grouped, chat_places, item_findings
from haechi.risk import Risk, inputs_from_signals, risk
from haechi.store import items as store
from haechi.store.db import Database
from haechi.store.items import ItemView
from haechi.store.models import Sighting

# The scene signature's matching data: kilobytes of base64 no reader needs, shown as counts
# (bytes per point: two float32, a 32-byte descriptor, two 16-bit words).
_SCENE_BLOBS = (("points", 8), ("descriptors", 32), ("words", 4))


def signals_json(signals: Mapping[str, Any]) -> dict[str, Any]:
    """An item's stored signals as `show --json` prints them: the faces' scene signature with
    its keypoints, descriptors and keypoint words as counts (machine data for matching)."""
    out = dict(signals)
    faces = out.get("faces")
    if isinstance(faces, dict) and isinstance(faces.get("scene"), dict):
        scene = dict(faces["scene"])
        for key, per in _SCENE_BLOBS:
            if isinstance(scene.get(key), str):
                try:
                    scene[key] = len(base64.b64decode(scene[key])) // per
                except (binascii.Error, ValueError):
                    scene[key] = None
        out["faces"] = faces | {"scene": scene}
    return out


def item_risk(view: ItemView) -> Risk:
    """Ranking risk from the item's signals and its matches with enrolled persons."""
    from haechi.analyzers.nudity import Nudity, NudityAnalyzer
    from haechi.analyzers.synthetic.analyzer import Synthetic, SyntheticAnalyzer

    nudity = view.signals.get(NudityAnalyzer.name)
    synthetic = view.signals.get(SyntheticAnalyzer.name)
    return risk(
        inputs_from_signals(
            Nudity.from_payload(nudity) if nudity else None,
            Synthetic.from_payload(synthetic) if synthetic else None,
            view.face_match,
        )
    )


def item_json(view: ItemView, path: str | None = None) -> dict[str, Any]:
    """The machine interface line of an item (`scan --json`, `items --json`, `show --json`).
    Each analyzer adds its own keys (see `Analyzer.json_fields`); keys of analyzers that did
    not run stay null."""
    from haechi.analyzers.registry import default_registry

    first = view.sightings[0].path if view.sightings else None
    obj: dict[str, Any] = {
        "path": path or first,
        "sha256": view.sha256,
        "md5": view.md5,
        "size": view.size,
        "kind": view.kind,
        "format": view.format,
        "width": view.width,
        "height": view.height,
        "duration": view.duration,
        "pdq": None,
        "pdq_quality": None,
        "frames": [],
    }
    obj["sexual"] = obj["synthetic"] = None
    for cls in default_registry():
        if cls.name in view.signals:
            obj.update(cls.json_fields(view.signals[cls.name]))
    obj["risk"] = item_risk(view).to_json()
    obj["error"] = "; ".join(view.errors) or None
    obj["notes"] = view.notes
    obj["sightings"] = [s.__dict__ for s in view.sightings]
    return obj


@dataclass(frozen=True)
class SourceErrorView:
    """A place that could not be read, with no item behind it."""

    locator: str
    reason: str


@dataclass(frozen=True)
class ItemDetail:
    """One item in full, as `show` presents it: the item, the chats it was posted in and the
    findings about enrolled persons in it."""

    view: ItemView
    chats: tuple[ChatPlace, ...]
    findings: tuple[Grouped, ...]


def get_item(db: Database, ref: str) -> ItemView:
    """An item by SHA-256 or a unique prefix of it (at least 6 hex characters)."""
    with db.session() as s:
        return store.get_item(s, ref)


def resolve_item(db: Database, ref: str) -> str:
    """The full SHA-256 of the item a SHA-256 or unique prefix names."""
    return get_item(db, ref).sha256


def item_detail(db: Database, ref: str) -> ItemDetail:
    """An item (SHA-256 or a unique prefix) with its chats and findings, as `show` presents
    it; raises NotFoundError or InputError when the reference names no single item."""
    with db.session() as s:
        view = store.get_item(s, ref)
        chats = chat_places(s, view.sha256)
        found = item_findings(s, view.sha256)
    return ItemDetail(view, tuple(chats), tuple(found))


def iter_items(
    db: Database, *, kind: str | None = None, errors_only: bool = False
) -> Generator[ItemView, None, None]:
    """Every stored item once, in SHA-256 order; the session stays open while the caller reads,
    so close the iterator (or read it to the end) before writing elsewhere."""
    with db.session() as s:
        yield from store.iter_items(s, kind=kind, errors_only=errors_only)


def source_errors(db: Database) -> list[SourceErrorView]:
    """Errors with no item behind them (unreadable files, refused archive entries)."""
    with db.session() as s:
        return [SourceErrorView(e.locator, e.reason) for e in store.source_errors(s)]


def scan_urls(db: Database, scan_id: int) -> dict[str, str | None]:
    """locator → the URL it was fetched from, for every sighting one scan wrote."""
    with db.session() as s:
        rows = s.execute(select(Sighting.locator, Sighting.url).where(Sighting.scan_id == scan_id))
        return {loc: u for loc, u in rows}
