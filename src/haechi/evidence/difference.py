"""Difference pictures as evidence: for every new `face_changed` finding, the face region of
each picture of the pair and a heat map of their difference (haechi.matching.difference) go
into the vault, encrypted, with a `derived` custody entry naming the two items and the
findings, and the findings name the picture (`details["difference_picture"]`).

One picture per pair (the item with the smaller SHA-256 first), so both findings of a pair
name the same blob. The pixels come from the bytes the scan holds, or from the vault (the
finding's own capture runs first, see `hooks.BUILTIN_HOOKS`); an item whose bytes are in
neither gets no picture, and the finding stands. Never more than the face regions is written,
and nothing is written outside the vault."""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from haechi import hooks
from haechi.errors import HaechiError
from haechi.evidence.context import actor_name, init_vault
from haechi.matching.difference import difference_picture, face_region, png
from haechi.matching.manipulation import KIND
from haechi.media.content import BytesContent, Content
from haechi.media.decode import frame_at
from haechi.media.types import RGB, Frame
from haechi.store.custody import CustodyAction, CustodyEvent, append
from haechi.store.db import Database
from haechi.store.findings import Finding
from haechi.store.vault import Vault

log = logging.getLogger("haechi.evidence")

PICTURE_KEY = "difference_picture"


def record_difference_pictures(db: Database, event: hooks.FindingsCreated) -> None:
    """A difference picture for each pair a new `face_changed` finding belongs to."""
    settings = db.settings
    with db.session() as s:
        rows = list(
            s.scalars(
                select(Finding).where(Finding.id.in_(event.finding_ids), Finding.kind == KIND)
            )
        )
        pairs: dict[tuple[str, str, str], list[int]] = {}
        for f in rows:
            d = f.details or {}
            if d.get(PICTURE_KEY) or not d.get("related_item"):
                continue
            key = _pair_key(f.item_sha256, str(d["related_item"]), d)
            pairs.setdefault(key, []).append(f.id)
    if not pairs:
        return
    vault, _created = init_vault(settings, db)
    actor = actor_name(settings)
    for (a, b, where), ids in pairs.items():
        try:
            _one_picture(db, vault, event, actor, a, b, where, ids)
        except (HaechiError, ValueError, OSError) as exc:
            log.warning("findings %s: no difference picture: %s", ids, exc)


def _pair_key(sha: str, other: str, d: dict[str, Any]) -> tuple[str, str, str]:
    """(first item, second item, their boxes and times in that order) for one finding."""
    mine = (list(d.get("box") or ()), d.get("t"))
    theirs = (list(d.get("related_box") or ()), d.get("related_t"))
    (a, pa), (b, pb) = sorted([(sha, mine), (other, theirs)], key=lambda p: p[0])
    return a, b, repr((pa, pb))


def _one_picture(
    db: Database,
    vault: Vault,
    event: hooks.FindingsCreated,
    actor: str,
    a: str,
    b: str,
    where: str,
    ids: Sequence[int],
) -> None:
    with db.session() as s:
        f = s.get(Finding, ids[0])
        assert f is not None
        d = dict(f.details or {})
    first = f.item_sha256 == a
    box_a, box_b = (d["box"], d["related_box"]) if first else (d["related_box"], d["box"])
    t_a, t_b = (d.get("t"), d.get("related_t")) if first else (d.get("related_t"), d.get("t"))
    sizes = d.get("picture_sizes") or {}
    crops = [
        _crop(db, vault, event, sha, box, t, sizes.get(sha))
        for sha, box, t in ((a, box_a, t_a), (b, box_b, t_b))
    ]
    data = png(difference_picture(crops[0], crops[1]))
    sha = hashlib.sha256(data).hexdigest()
    staged = vault.stage_stream(lambda: io.BytesIO(data), expect=sha)
    try:
        with db.session() as s:
            rec = append(
                s,
                CustodyEvent(
                    actor,
                    CustodyAction.DERIVED,
                    f"derived:{sha}",
                    {
                        "kind": PICTURE_KEY,
                        "size": len(data),
                        "from_items": [a, b],
                        "findings": list(ids),
                        "vault_key_id": vault.key_id.hex(),
                    },
                ),
            )
            for row in s.scalars(select(Finding).where(Finding.id.in_(ids))):
                row.details = {**(row.details or {}), PICTURE_KEY: sha, "picture_seq": rec.seq}
    except BaseException:
        staged.discard()
        raise
    staged.commit()


def _crop(
    db: Database,
    vault: Vault,
    event: hooks.FindingsCreated,
    sha: str,
    box: Sequence[int],
    t: float | None,
    size: Sequence[int] | None,
) -> RGB:
    """The face region of item `sha` at `box` (in a picture `size` wide and high, when the
    analysis saw it at another size), in the frame at `t` seconds for a video."""
    frame = item_frame(db, vault, event, sha, t)
    scale = frame.width / size[0] if size else 1.0
    return face_region(frame.rgb, box, scale)


def item_frame(
    db: Database, vault: Vault, event: hooks.FindingsCreated, sha: str, t: float | None
) -> Frame:
    """The decoded picture of item `sha` (for a video, its sampled frame nearest `t` seconds),
    from the content the scan holds or from the vault. A video is decoded from the keyframe
    before `t` only (media.frame_at): one difference picture must not cost a whole video."""
    content: Content | None = event.contents.get(sha)
    if content is None:
        if not vault.has(sha):
            raise ValueError(f"item {sha[:12]} is not in the vault")
        content = BytesContent(vault.read_bytes(sha), sha[:12])
    return frame_at(content, t, db.settings.limits)
