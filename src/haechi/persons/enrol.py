"""Enrolment: a consent record first, then photos turned into face templates and the person's
own files turned into hashes. Photos and files are read into memory and never written anywhere
(no copy, no temporary file, not their names); only embeddings and hashes are stored.

After enrolment the person is matched at once against every item already scanned, from the
stored embeddings and hashes (no media is decoded again)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from haechi import hooks
from haechi.analyzers.face_calibration import MODEL_NAME, MODEL_VERSION
from haechi.analyzers.face_model import Face
from haechi.analyzers.faces import faces_in_frame
from haechi.analyzers.pdq import pdq_hex
from haechi.config import Settings
from haechi.errors import HaechiError, InputError
from haechi.i18n import _
from haechi.matching.faces import TemplateIndex
from haechi.matching.findings import match_stored
from haechi.media import BytesContent, decode_media
from haechi.store.custody import CustodyAction, CustodyEvent, append
from haechi.store.db import Database
from haechi.store.persons import ConsentRecord, FaceTemplate, OwnMediaHash, Person

MAX_PHOTOS = 20
# An enrolment photo must show the face larger than the scan's usability floor: a template
# from a poor photo would weaken every later match.
MIN_ENROL_FACE_PX = 64
MIN_ENROL_SCORE = 0.8
# Sharpness (var. of Laplacian / var. of grey on the aligned face) above which faces matched
# their own template every time in the calibration (docs/evaluation/faces.md, sharpness bands).
MIN_ENROL_SHARPNESS = 0.2


@dataclass(frozen=True)
class Consent:
    """The consent an enrolment records: what was agreed, by whom, for whom, to what, and how
    the person's identity was checked."""

    text: str  # what was agreed, in the words of the person (or the form)
    consented_by: str  # who gave consent
    for_whom: str  # whose face and files (the person, or a minor/relative they act for)
    scope: str  # what haechi may do: e.g. "match faces and own-media hashes in scans"
    verified_how: str  # how the counsellor checked identity and authority
    given_at: datetime | None = None


@dataclass(frozen=True)
class Upload:
    """A file received in memory (a photo uploaded in the web app): read like a path, and like
    one never kept; only the template or hashes made from it are."""

    name: str
    data: bytes


Source = Path | Upload


@dataclass(frozen=True)
class Refusal:
    """An enrolment photo or file not used, and why (no usable face, someone else's face...)."""

    file: str
    reason: str


@dataclass(frozen=True)
class EnrolResult:
    """The enrolled person, what was stored for her, what was refused, and the findings that
    matching her against what was already scanned gave."""

    person_id: int
    alias: str
    templates: int
    own_media: int
    refused: tuple[Refusal, ...]
    findings: int


def check_consent(consent: Consent | None) -> Consent:
    """The consent, if every part of it is given; otherwise an InputError naming the part."""
    if consent is None or not consent.text.strip():
        raise InputError(_("no enrolment without consent: give the consent text (--consent)"))
    for field, label in (
        (consent.consented_by, _("who consents (--consent-by)")),
        (consent.for_whom, _("for whom (--for-whom)")),
        (consent.scope, _("the scope (--scope)")),
        (consent.verified_how, _("how consent was verified (--verified-how)")),
    ):
        if not field.strip():
            raise InputError(_("the consent record needs {label}").format(label=label))
    return consent


def template_from_photo(data: bytes, name: str, settings: Settings) -> Face:
    """The one face of an enrolment photo, or InputError saying why the photo is refused."""
    try:
        media = decode_media(BytesContent(data, name), settings.limits)
    except HaechiError as exc:
        raise InputError(f"{name}: {getattr(exc, 'reason', exc)}") from None
    if media.kind != "image":
        raise InputError(
            _("{name}: enrolment takes still photos, not {kind}").format(name=name, kind=media.kind)
        )
    faces = faces_in_frame(media.frames[0])
    if not faces:
        raise InputError(_("{name}: no face found").format(name=name))
    if len(faces) > 1:
        raise InputError(
            _("{name}: {n_faces} faces found; use a photo that shows only the person").format(
                name=name, n_faces=len(faces)
            )
        )
    face = faces[0]
    q = face.quality
    if not q.usable or face.embedding is None:
        raise InputError(
            _("{name}: the face cannot be used: {reason}").format(name=name, reason=q.reason)
        )
    if q.size_px < MIN_ENROL_FACE_PX:
        raise InputError(
            _(
                "{name}: the face is too small ({size_px} px wide; at least "
                "{min_enrol_face_px} px is needed for a template)"
            ).format(name=name, size_px=q.size_px, min_enrol_face_px=MIN_ENROL_FACE_PX)
        )
    if q.blur < MIN_ENROL_SHARPNESS:
        raise InputError(
            _(
                "{name}: the face is too blurred for a template (sharpness "
                "{blur:.2f}, at least {min_enrol_sharpness} is needed)"
            ).format(name=name, blur=q.blur, min_enrol_sharpness=MIN_ENROL_SHARPNESS)
        )
    if face.det_score < MIN_ENROL_SCORE:
        raise InputError(
            _("{name}: the face is not clear enough (detector confidence {det_score:.2f})").format(
                name=name, det_score=face.det_score
            )
        )
    return face


def _read(path: Source, settings: Settings) -> bytes:
    if isinstance(path, Upload):
        if len(path.data) > settings.limits.max_file_bytes:
            raise InputError(_("{path}: larger than the file size limit").format(path=path.name))
        return path.data
    try:
        if path.stat().st_size > settings.limits.max_file_bytes:
            raise InputError(_("{path}: larger than the file size limit").format(path=path))
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror or exc}") from None


def own_media_hashes(
    data: bytes, name: str, settings: Settings
) -> tuple[str, str, list[list[object]]]:
    """(kind, md5, [[pdq hex, quality, t], ...]) of one of the person's own files."""
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    try:
        media = decode_media(BytesContent(data, name), settings.limits)
    except HaechiError as exc:
        raise InputError(f"{name}: {getattr(exc, 'reason', exc)}") from None
    hashes: list[list[object]] = []
    for frame in media.frames:
        # As stored, like the scan's PDQ and every other platform's: a rotated copy still
        # matches through the scanned item's dihedral variants.
        h, q = pdq_hex(media.stored_rgb(frame))
        hashes.append([h, q, frame.t])
    return media.kind, md5, hashes


@dataclass(frozen=True)
class _Prepared:
    """What an enrolment keeps of the files it was given: templates and hashes, never bytes."""

    faces: tuple[Face, ...]
    hashed: tuple[tuple[str, str, list[list[object]]], ...]  # (kind, md5, pdq frames)
    refused: tuple[Refusal, ...]


def _prepare(
    settings: Settings, photos: Sequence[Source], own_media: Sequence[Source], limit: int
) -> _Prepared:
    if not photos and not own_media:
        raise InputError(_("give at least one photo of the person, or --own-media files"))
    if len(photos) > limit:
        raise InputError(
            _("at most {max_photos} photos per person ({n_photos} given)").format(
                max_photos=MAX_PHOTOS, n_photos=len(photos)
            )
        )
    refused: list[Refusal] = []
    faces: list[Face] = []
    for p in photos:
        try:
            faces.append(template_from_photo(_read(p, settings), p.name, settings))
        except InputError as exc:
            refused.append(Refusal(_name(p), str(exc).split(": ", 1)[-1]))
    hashed: list[tuple[str, str, list[list[object]]]] = []
    for p in own_media:
        try:
            hashed.append(own_media_hashes(_read(p, settings), p.name, settings))
        except InputError as exc:
            refused.append(Refusal(_name(p), str(exc).split(": ", 1)[-1]))
    if not faces and not hashed:
        detail = "; ".join(f"{r.file}: {r.reason}" for r in refused)
        raise InputError(
            _("nothing to enrol, every file was refused: {detail}").format(detail=detail)
        )
    return _Prepared(tuple(faces), tuple(hashed), tuple(refused))


def _name(p: Source) -> str:
    return p.name if isinstance(p, Upload) else str(p)


def _store(s: Session, person_id: int, prepared: _Prepared) -> tuple[int, int]:
    """Adds the templates and the own-media hashes not already held; (templates, files) added."""
    for f in prepared.faces:
        assert f.embedding is not None
        s.add(
            FaceTemplate(
                person_id=person_id,
                embedding=np.asarray(f.embedding, dtype="<f4").tobytes(),
                model=MODEL_NAME,
                model_version=MODEL_VERSION,
                quality={
                    "size_px": f.quality.size_px,
                    "blur": round(f.quality.blur, 4),
                    "pose": round(f.quality.pose, 3),
                    "score": round(f.det_score, 4),
                },
            )
        )
    seen_md5 = set(s.scalars(select(OwnMediaHash.md5).where(OwnMediaHash.person_id == person_id)))
    added = 0
    for kind, md5, hashes in prepared.hashed:
        if md5 in seen_md5:
            continue
        seen_md5.add(md5)
        added += 1
        s.add(OwnMediaHash(person_id=person_id, kind=kind, md5=md5, pdq={"hashes": hashes}))
    s.flush()
    return len(prepared.faces), added


def _log(
    s: Session, settings: Settings, person_id: int, what: str, counts: tuple[int, int]
) -> None:
    # Counts only, under the person's row id: the permanent log must hold nothing that names
    # her or describes her face (see forget).
    from haechi.evidence.context import actor_name

    append(
        s,
        CustodyEvent(
            actor_name(settings),
            CustodyAction.ENROLLED,
            f"person:{person_id}",
            {"what": what, "templates": counts[0], "own_media": counts[1]},
        ),
    )


def enrol(
    db: Database,
    settings: Settings,
    alias: str,
    consent: Consent | None,
    photos: Sequence[Source],
    own_media: Sequence[Source] = (),
) -> EnrolResult:
    """Enrol a new person under `alias` with her consent record: each photo becomes a face
    template (the photo is read, never kept), each own file its MD5 and PDQ hashes, and items
    already scanned are matched at once. Refuses without consent, for an alias already
    enrolled, or photos that do not show one usable face of the same person; the result lists
    each refused file with its reason and the findings made."""
    consent = check_consent(consent)
    alias = alias.strip()
    if not alias:
        raise InputError(_("give an alias for the person (--alias)"))
    with db.session() as s:
        if s.scalar(select(Person.id).where(Person.alias == alias)) is not None:
            raise InputError(
                _(
                    "{alias!r} is already enrolled: add photos or files to her "
                    "record with `haechi enrol --alias ALIAS --add PHOTO…` (or "
                    "--own-media), or use another alias"
                ).format(alias=alias)
            )
    prepared = _prepare(settings, photos, own_media, MAX_PHOTOS)
    _check_same_person(list(prepared.faces), settings.thresholds.face_min_similarity)
    with db.session() as s:
        person = Person(alias=alias)
        s.add(person)
        s.flush()
        s.add(
            ConsentRecord(
                person_id=person.id,
                text=consent.text.strip(),
                consented_by=consent.consented_by.strip(),
                for_whom=consent.for_whom.strip(),
                scope=consent.scope.strip(),
                verified_how=consent.verified_how.strip(),
                given_at=consent.given_at or datetime.now(UTC),
            )
        )
        counts = _store(s, person.id, prepared)
        _log(s, settings, person.id, "enrolled", counts)
        new = match_stored(s, settings, person.id)
        person_id = person.id
    with db.session() as s:
        TemplateIndex.load(s, settings)  # writes the index file with the new templates
    hooks.findings_created(db, new)
    return EnrolResult(person_id, alias, counts[0], counts[1], prepared.refused, len(new))


def add_to_person(
    db: Database,
    settings: Settings,
    alias: str,
    photos: Sequence[Source],
    own_media: Sequence[Source] = (),
) -> EnrolResult:
    """Add photos (as templates) or own files (as hashes) to an enrolled person, under the
    consent already recorded; her findings stay. New photos must show the same person as her
    templates. Already scanned items are matched again with what was added."""
    alias = alias.strip()
    with db.session() as s:
        person_id = s.scalar(select(Person.id).where(Person.alias == alias))
        if person_id is None:
            raise InputError(
                _("{alias!r} is not enrolled: enrol her first (with her consent)").format(
                    alias=alias
                )
            )
        held = list(s.scalars(select(FaceTemplate).where(FaceTemplate.person_id == person_id)))
    prepared = _prepare(settings, photos, own_media, MAX_PHOTOS - len(held))
    thr = settings.thresholds.face_min_similarity
    if prepared.faces and held:
        stored = np.stack([np.frombuffer(t.embedding, dtype="<f4") for t in held])
        for face in prepared.faces:
            assert face.embedding is not None
            if float((stored @ np.asarray(face.embedding, dtype=np.float32)).max()) < thr:
                raise InputError(
                    _(
                        "a new photo does not show the person enrolled as {alias!r} "
                        "(it resembles none of her templates); nothing was added"
                    ).format(alias=alias)
                )
    else:
        _check_same_person(list(prepared.faces), thr)
    with db.session() as s:
        counts = _store(s, person_id, prepared)
        _log(s, settings, person_id, "added", counts)
        new = match_stored(s, settings, person_id)
    with db.session() as s:
        TemplateIndex.load(s, settings)
    hooks.findings_created(db, new)
    return EnrolResult(person_id, alias, counts[0], counts[1], prepared.refused, len(new))


def _check_same_person(faces: list[Face], threshold: float) -> None:
    """Refuse an enrolment whose photos show different people: one wrong photo would make
    every scan report someone else's face as this person's."""
    if len(faces) < 2:
        return
    vecs = np.stack([f.embedding for f in faces if f.embedding is not None])
    sims = vecs @ vecs.T
    np.fill_diagonal(sims, -1.0)
    if (sims.max(axis=1) < threshold).any():
        raise InputError(
            _(
                "the photos do not all show the same person (some face "
                "resembles none of the others); enrol each person separately "
                "with their own consent"
            )
        )
