"""Turning stored signals into findings for enrolled persons: faces against their templates,
and files against the hashes of their own media (MD5 equal, or PDQ within the distance).

Runs in the scan's single writer inside the batch's transaction (so a committed item always has
its findings), and once over stored signals when a person is enrolled (no media is decoded).
Every write is an insert-or-ignore on the finding's unique key: repeating a match adds nothing."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from haechi.analyzers.face_calibration import MODEL_NAME, MODEL_VERSION
from haechi.analyzers.faces import Faces, FacesAnalyzer
from haechi.analyzers.pdq import VARIANTS, Pdq, PdqAnalyzer
from haechi.config import Settings
from haechi.matching.faces import TemplateIndex
from haechi.matching.pdq import distance
from haechi.store.findings import Finding
from haechi.store.models import Item, SignalRow, utcnow
from haechi.store.persons import OwnMediaHash
from haechi.store.upsert import insert_ignore_returning


@dataclass(frozen=True)
class ScannedItem:
    """What the matchers need of one item: its hashes and its face and PDQ signals (None when
    the analyzer did not run or failed on it)."""

    sha256: str
    md5: str
    faces: Faces | None
    pdq: Pdq | None

    @classmethod
    def from_payloads(
        cls, sha256: str, md5: str, faces: dict[str, Any] | None, pdq: dict[str, Any] | None
    ) -> ScannedItem:
        """The item from its stored signal payloads (as the database and the scan hold them)."""
        return cls(
            sha256,
            md5,
            None if faces is None else Faces.from_payload(faces),
            None if pdq is None else Pdq.from_payload(pdq),
        )


@dataclass(frozen=True)
class OwnHash:
    """A file an enrolled person registered as her own: its MD5 and PDQ hashes (with times)."""

    id: int
    person_id: int
    md5: str
    hashes: tuple[tuple[str, int, float | None], ...]  # (pdq hex, quality, t)


class Matcher:
    """Matches items against every enrolled person (or one: `person_id`)."""

    def __init__(self, settings: Settings, person_id: int | None = None) -> None:
        self.settings = settings
        self.person_id = person_id
        self._index: TemplateIndex | None = None

    def match(self, session: Session, items: Iterable[ScannedItem]) -> list[int]:
        """Record findings for `items`; returns the ids of findings that are new. Matching
        all persons (a scan) also runs the registered item matchers (hash banks)."""
        batch = list(items) if self.person_id is None else []
        if self.person_id is None:
            items = batch  # read twice: by the persons, then by the item matchers
        if self.person_id is None:
            self._index = TemplateIndex.load(session, self.settings, self._index)
        elif self._index is None:
            self._index = TemplateIndex.for_person(session, self.person_id)
        own = _own_hashes(session, self.person_id)
        new: list[int] = []
        for item in items:
            if item.faces is not None and len(self._index):
                new.extend(self._faces(session, item, self._index))
            if own:
                new.extend(self._own_media(session, item, own))
        if self.person_id is None:
            from haechi import hooks

            new.extend(hooks.match_items(session, self.settings, batch))
        return new

    def _faces(self, session: Session, item: ScannedItem, index: TemplateIndex) -> list[int]:
        sig = item.faces
        if sig is None or sig.model_version != MODEL_VERSION:
            return []  # other weights: the threshold does not apply; a rescan updates it
        places, vecs = [], []
        for fr in sig.frames:
            for face in fr.faces:
                v = face.vector()
                if face.usable and v is not None:  # unusable faces are never matched
                    places.append((fr.t, face))
                    vecs.append(v)
        if not vecs:
            return []
        thr = self.settings.thresholds.face_min_similarity
        new = []
        for (t, face), hits in zip(places, index.search(np.stack(vecs), thr), strict=True):
            for hit in hits:
                box = ",".join(str(v) for v in face.box)
                locus = f"box={box}" if t is None else f"t={t:.3f} box={box}"
                fid = _record(
                    session,
                    item_sha256=item.sha256,
                    kind="face_match",
                    person_id=hit.person_id,
                    subject=f"person:{hit.person_id}",
                    locus=locus,
                    score=round(hit.similarity, 4),
                    threshold=thr,
                    reason=(
                        f"a face {'at ' + format(t, '.2f') + ' s ' if t is not None else ''}"
                        f"resembles an enrolled template: cosine {hit.similarity:.3f} ≥ "
                        f"{thr:.2f} ({MODEL_NAME})"
                    ),
                    details={
                        "box": list(face.box),
                        "t": t,
                        "template_id": hit.template_id,
                        "face_quality": {
                            "size_px": face.size_px,
                            "blur": face.blur,
                            "pose": face.pose,
                            "score": face.score,
                        },
                        "model_version": MODEL_VERSION,
                    },
                )
                if fid is not None:
                    new.append(fid)
        return new

    def _own_media(self, session: Session, item: ScannedItem, own: list[OwnHash]) -> list[int]:
        th = self.settings.thresholds
        # (hash, t, dihedral variant): a still image's rotations and mirrors are tried after
        # its original, so a tie keeps the original.
        mine: list[tuple[str, float | None, str]] = []
        if item.pdq:
            if (item.pdq.quality or 0) >= th.pdq_min_quality:
                mine.extend((h, None, v) for v, h in item.pdq.variants())
            mine.extend(
                (f.pdq, f.t, VARIANTS[0]) for f in item.pdq.trusted_frames(th.pdq_min_quality)
            )
        new = []
        for o in own:
            best: tuple[int, float | None, float | None, str | None] | None = None
            if o.md5 == item.md5:
                best = (0, None, None, None)
                how = "the file's MD5 equals"
            else:
                how = "PDQ within the distance of"
                for h, _q, ot in o.hashes:
                    for m, t, v in mine:
                        d = distance(h, m)
                        if d <= th.pdq_max_distance and (best is None or d < best[0]):
                            best = (d, t, ot, v)
            if best is None:
                continue
            d, t, ot, variant = best
            turned = "" if variant in (None, VARIANTS[0]) else f"{variant}".replace("_", " ")
            fid = _record(
                session,
                item_sha256=item.sha256,
                kind="own_media_match",
                person_id=o.person_id,
                subject=f"person:{o.person_id}",
                locus=f"own:{o.id}",
                score=float(d),
                threshold=float(th.pdq_max_distance),
                reason=(
                    f"{how} a file the enrolled person registered"
                    + ("" if d == 0 and how.startswith("the file") else f": distance {d}")
                    + (f" (this picture {turned})" if turned else "")
                ),
                details={
                    "distance": d,
                    "t": t,
                    "own_t": ot,
                    "own_media_id": o.id,
                    "pdq_variant": variant,
                },
            )
            if fid is not None:
                new.append(fid)
        return new


def _record(session: Session, **values: Any) -> int | None:
    values.setdefault("status", "open")
    values.setdefault("possible_minor", False)
    values.setdefault("created_at", utcnow())
    got = insert_ignore_returning(
        session, Finding.__table__, values, ["item_sha256", "kind", "subject", "locus"], Finding.id
    )
    return None if got is None else int(got)


def _own_hashes(session: Session, person_id: int | None) -> list[OwnHash]:
    q = select(OwnMediaHash)
    if person_id is not None:
        q = q.where(OwnMediaHash.person_id == person_id)
    return [
        OwnHash(
            o.id,
            o.person_id,
            o.md5,
            tuple((h[0], int(h[1]), h[2]) for h in o.pdq.get("hashes", ())),
        )
        for o in session.scalars(q)
    ]


def stored_items(session: Session, batch: int = 500) -> Iterator[ScannedItem]:
    """Every stored item with its face and PDQ payloads, read from the database only."""
    after = ""
    names = (FacesAnalyzer.name, PdqAnalyzer.name)
    while True:
        items = list(
            session.execute(
                select(Item.sha256, Item.md5)
                .where(Item.sha256 > after)
                .order_by(Item.sha256)
                .limit(batch)
            )
        )
        if not items:
            return
        shas = [sha for sha, _ in items]
        payloads: dict[tuple[str, str], dict[str, Any]] = {}
        for sha, analyzer, payload in session.execute(
            select(SignalRow.item_sha256, SignalRow.analyzer, SignalRow.payload)
            .where(SignalRow.item_sha256.in_(shas), SignalRow.analyzer.in_(names))
            .order_by(SignalRow.created_at)
        ):
            payloads[(sha, analyzer)] = payload  # the latest version wins
        for sha, md5 in items:
            yield ScannedItem.from_payloads(
                sha, md5, payloads.get((sha, FacesAnalyzer.name)), payloads.get((sha, "pdq"))
            )
        after = items[-1][0]


def match_stored(session: Session, settings: Settings, person_id: int) -> list[int]:
    """Match one (newly enrolled) person against every item already scanned."""
    return Matcher(settings, person_id).match(session, stored_items(session))
