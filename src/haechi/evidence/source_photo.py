"""Source photo found, as a finding: when a face in an item matches an enrolled person and an
item that is her own media is stored too (an `own_media_match`), or a photo posted in a request
to synthesise (evidence.request_photos: the network's "someone's source photo", whether or not
its own face matched her), the two faces are compared pixel for pixel
(haechi.matching.source_photo); where they agree beyond what two photos of one person share,
the item gets a `source_photo` finding "this face was taken from that photo", and the photo one
that names the item its face was put into. Only faces matched to an enrolled person are ever
compared with a request photo: this is never a general face search.

Runs after new findings are preserved (hooks.BUILTIN_HOOKS), on the pixels of both items from
the scan or the vault; the findings it adds go through the finding hooks in turn. Scores and
boxes only: no face crop or embedding is written anywhere."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select

from haechi import hooks
from haechi.analyzers.faces import Faces, FacesAnalyzer
from haechi.errors import HaechiError
from haechi.evidence.context import init_vault
from haechi.evidence.difference import item_frame
from haechi.evidence.request_photos import RequestPost, first_posted, request_photos
from haechi.matching.source_photo import SOURCE_AT_LEAST, pixel_agreement
from haechi.store.db import Database
from haechi.store.findings import Finding
from haechi.store.models import SignalRow
from haechi.store.vault import Vault

log = logging.getLogger("haechi.evidence")

KIND: Final[str] = "source_photo"


def record_source_photos(db: Database, event: hooks.FindingsCreated) -> None:
    """Compare each new face match with her own photos, and each new own photo with the
    items her face was matched in."""
    with db.session() as s:
        new = list(
            s.scalars(
                select(Finding).where(
                    Finding.id.in_(event.finding_ids),
                    Finding.kind.in_(("face_match", "own_media_match")),
                )
            )
        )
        # One comparison per item and photo: at the face that matched her best (a video
        # matches in many frames; each comparison decodes both items).
        todo: dict[tuple[str, str, int], tuple[float, tuple[int, ...], float | None]] = {}
        for f in new:
            if f.person_id is None:
                continue
            other_kind = "own_media_match" if f.kind == "face_match" else "face_match"
            others = s.scalars(
                select(Finding).where(
                    Finding.person_id == f.person_id,
                    Finding.kind == other_kind,
                    Finding.item_sha256 != f.item_sha256,
                )
            )
            for o in others:
                match, photo = (f, o) if f.kind == "face_match" else (o, f)
                d = match.details or {}
                key = (match.item_sha256, photo.item_sha256, f.person_id)
                if d.get("box") and match.score > todo.get(key, (-1.0,))[0]:
                    todo[key] = (match.score, tuple(d["box"]), d.get("t"))
        matches = [
            (f.item_sha256, f.person_id, f.score, dict(f.details or {}))
            for f in new
            if f.kind == "face_match" and f.person_id is not None
        ]
    asked = _request_candidates(db, matches, todo) if matches else {}
    if asked:
        _as_request_photo(db, matches, asked, todo)
    if not todo:
        return
    vault, _created = init_vault(db.settings, db)
    ids: list[int] = []
    for (item_sha, photo_sha, person), (_score, box, t) in sorted(todo.items()):
        try:
            ids += _compare(
                db, vault, event, item_sha, photo_sha, person, box, t, asked.get(photo_sha)
            )
        except (HaechiError, ValueError, OSError) as exc:
            log.warning("item %s: source photo not compared: %s", item_sha[:12], exc)
    hooks.findings_created(db, ids, event.contents)


def _request_candidates(
    db: Database,
    matches: list[tuple[str, int, float, dict[str, Any]]],
    todo: dict[tuple[str, str, int], tuple[float, tuple[int, ...], float | None]],
) -> dict[str, RequestPost]:
    """Add to `todo` each new face match against each photo posted in a request (not itself,
    and not one posted only after the matched item was: a source comes first)."""
    asked = request_photos(db)
    if not asked:
        return {}
    posted: dict[str, datetime | None] = {}
    for sha, person, score, d in matches:
        if not d.get("box"):
            continue
        if sha not in posted:
            posted[sha] = first_posted(db, sha)
        since = posted[sha]
        for photo, post in asked.items():
            if photo == sha or (since is not None and post.at is not None and post.at > since):
                continue
            key = (sha, photo, person)
            if score > todo.get(key, (-1.0,))[0]:
                todo[key] = (score, tuple(d["box"]), d.get("t"))
    return asked


def _as_request_photo(
    db: Database,
    matches: list[tuple[str, int, float, dict[str, Any]]],
    asked: dict[str, RequestPost],
    todo: dict[tuple[str, str, int], tuple[float, tuple[int, ...], float | None]],
) -> None:
    """The other way round: a new match in a photo posted with a request (scanned after the
    fake, or in another scan) makes it a candidate source for every item her face was matched
    in before, unless that item was posted before the request (a source comes first)."""
    new = {(sha, person) for sha, person, _score, _d in matches if sha in asked}
    if not new:
        return
    with db.session() as s:
        earlier = s.scalars(
            select(Finding).where(
                Finding.kind == "face_match",
                Finding.person_id.in_({person for _sha, person in new}),
                Finding.item_sha256.not_in({sha for sha, _person in new}),
            )
        ).all()
        for photo, person in sorted(new):
            post = asked[photo]
            for f in earlier:
                d = f.details or {}
                if f.person_id != person or not d.get("box"):
                    continue
                since = first_posted(db, f.item_sha256)
                if since is not None and post.at is not None and post.at > since:
                    continue
                key = (f.item_sha256, photo, person)
                if f.score > todo.get(key, (-1.0,))[0]:
                    todo[key] = (f.score, tuple(d["box"]), d.get("t"))


def _faces(db: Database, sha: str) -> Faces | None:
    with db.session() as s:
        payload = s.scalar(
            select(SignalRow.payload).where(
                SignalRow.item_sha256 == sha, SignalRow.analyzer == FacesAnalyzer.name
            )
        )
    return None if payload is None else Faces.from_payload(payload)


def _compare(
    db: Database,
    vault: Vault,
    event: hooks.FindingsCreated,
    item: str,
    photo: str,
    person: int,
    box: Sequence[int],
    t: float | None,
    asked: RequestPost | None,
) -> list[int]:
    fi, fp = _faces(db, item), _faces(db, photo)
    if fi is None or fp is None:
        return []
    here = [f for fr in fi.frames if fr.t == t for f in fr.faces if list(f.box) == list(box)]
    if not here:
        return []
    frame = item_frame(db, vault, event, item, t)
    best: tuple[float, Any, float | None] | None = None
    for fr in fp.frames:
        pic = None
        for face in fr.faces:
            if not face.usable:
                continue
            pic = pic or item_frame(db, vault, event, photo, fr.t)
            score = pixel_agreement(frame.rgb, here[0].landmarks, pic.rgb, face.landmarks)
            if best is None or score > best[0]:
                best = (score, face.box, fr.t)
    if best is None or best[0] < SOURCE_AT_LEAST:
        return []
    return _record(db, item, photo, person, list(box), t, best, asked)


def _record(
    db: Database,
    item: str,
    photo: str,
    person: int,
    box: list[int],
    t: float | None,
    best: tuple[float, Any, float | None],
    asked: RequestPost | None,
) -> list[int]:
    from haechi.matching.findings import _record as record

    score, photo_box, photo_t = best
    measure = (
        f"the two faces, aligned by their landmarks and then on their detail, correlate "
        f"{score:.3f} (two different photos of one person stay below {SOURCE_AT_LEAST:.2f})"
    )
    if asked is None:
        whose = "(her own media)"
    else:  # a log line and a finding reason are machine records: never translated
        whose = (
            f"posted in a request by {asked.author or '?'} in {asked.room} "
            f"at {asked.at.isoformat() if asked.at else '?'}"
            + (f" ({asked.link})" if asked.link else "")
        )
    sides = (
        (item, photo, box, t, list(photo_box), photo_t, "taken_from",
         f"this face was taken from photo {photo[:12]} {whose}: {measure}"),
        (photo, item, list(photo_box), photo_t, box, t, "taken_into",
         f"the face in this photo was put into item {item[:12]}: {measure}"),
    )  # fmt: skip
    extra: dict[str, Any] = (
        {"source_kind": "own_media"}
        if asked is None
        else {"source_kind": "request", "request": asked.to_json()}
    )
    ids = []
    with db.session() as s:
        for sha, other, b, bt, ob, ot, role, reason in sides:
            fid = record(
                s,
                item_sha256=sha,
                kind=KIND,
                person_id=person,
                subject=f"item:{other}",
                locus="box=" + ",".join(str(v) for v in b),
                score=score,
                threshold=SOURCE_AT_LEAST,
                reason=reason,
                details={
                    "related_item": other,
                    "role": role,
                    "box": b,
                    "t": bt,
                    "related_box": ob,
                    "related_t": ot,
                    "pixel_agreement": score,
                }
                | extra,
            )
            if fid is not None:
                ids.append(fid)
    return ids
