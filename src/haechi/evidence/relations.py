"""Manipulation relations as the evidence documents state them: for each item, its
`face_changed` findings (same scene as another item with the face region changed) and its
`source_photo` findings (this face was taken from that photo, or put into that item), each with
the other item's SHA-256, where that item was sighted (room, poster, time, message), the photo's
request when it was posted with one, and the difference picture when one was stored.

One sentence per relation in Korean and in English, written here once for the evidence package
(manifest.json, report.html/.pdf) and the police report. Documents for people, so both languages
are written out, not looked up in the gettext catalogue. Scores, hashes and places only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from haechi.store.findings import Finding
from haechi.store.models import Room, Sighting
from haechi.store.persons import Person

KINDS: Final = ("face_changed", "source_photo")
# Where the other item was seen: the first few sightings are enough to find it again.
SIGHTINGS: Final = 3

_LEAD: Final = {
    "likely_manipulated": ("조작된 것으로 보임", "likely manipulated"),
    "source": ("조작된 사진의 원본", "source of a manipulated picture"),
    "altered_pair": ("둘 중 하나가 조작됨", "one of these two was altered"),
}


def item_relations(s: Session, shas: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Per item, its manipulation relations as JSON for the manifest (findings dismissed by a
    reviewer are left out), oldest finding first."""
    out: dict[str, list[dict[str, Any]]] = {}
    rows = s.execute(
        select(Finding, Person.alias)
        .outerjoin(Person, Person.id == Finding.person_id)
        .where(
            Finding.item_sha256.in_(shas),
            Finding.kind.in_(KINDS),
            Finding.status != "dismissed",
        )
        .order_by(Finding.id)
    )
    seen: dict[str, list[dict[str, Any]]] = {}
    for f, alias in rows:
        d = f.details or {}
        other = str(d.get("related_item") or "")
        if other not in seen:
            seen[other] = _sightings(s, other)
        rel: dict[str, Any] = {
            "finding": f.id,
            "kind": f.kind,
            "role": d.get("role"),
            "person": alias,
            "related_item": other,
            "related_sightings": seen[other],
            "box": d.get("box"),
            "related_box": d.get("related_box"),
            "score": f.score,
            "source_kind": d.get("source_kind"),
            "request": d.get("request"),
            "difference_picture": d.get("difference_picture"),
            "difference_file": None,  # set when the package holds the picture
            "status": f.status,
        }
        rel["ko"], rel["en"] = sentences(rel)
        out.setdefault(f.item_sha256, []).append(rel)
    return out


def _sightings(s: Session, sha: str) -> list[dict[str, Any]]:
    rows = s.execute(
        select(Sighting, Room.name)
        .outerjoin(Room, (Room.source_id == Sighting.source_id) & (Room.room_key == Sighting.room))
        .where(Sighting.item_sha256 == sha)
        .order_by(Sighting.posted_at.is_(None), Sighting.posted_at, Sighting.id)
        .limit(SIGHTINGS)
    )
    return [
        {
            "room": name or sg.room,
            "poster": sg.poster,
            "message_id": sg.message_id,
            "url": sg.url,
            "at": (sg.posted_at or sg.seen_at).isoformat(),
            "locator": sg.locator,
        }
        for sg, name in rows
    ]


def attach_files(relations: Sequence[dict[str, Any]], pictures: Sequence[dict[str, Any]]) -> None:
    """Name, on each relation, the package file of its difference picture (when written)."""
    files = {p["sha256"]: p.get("file") for p in pictures}
    for rel in relations:
        rel["difference_file"] = files.get(rel.get("difference_picture"))


def _where(rel: dict[str, Any]) -> str:
    sg = (rel.get("related_sightings") or [None])[0]
    if sg is None:
        return ""
    parts = [sg.get("room"), sg.get("poster"), sg.get("at"), sg.get("url")]
    return ", ".join(str(p) for p in parts if p)


def sentences(rel: dict[str, Any]) -> tuple[str, str]:
    """The relation in one Korean and one English sentence."""
    other = rel["related_item"]
    where = _where(rel)
    seen_ko = f" (발견: {where})" if where else ""
    seen_en = f" (sighted: {where})" if where else ""
    if rel["kind"] == "face_changed":
        lead_ko, lead_en = _LEAD.get(str(rel["role"]), (str(rel["role"]), str(rel["role"])))
        ko = (
            f"{lead_ko}: 항목 {other}{seen_ko}과(와) 같은 장면이며 얼굴 부분만 다릅니다 "
            f"(얼굴 유사도 {rel['score']:.2f})"
        )
        en = (
            f"{lead_en}: same scene as item {other}{seen_en} with the face region changed "
            f"(face cosine {rel['score']:.2f})"
        )
        if rel.get("difference_picture"):
            ko += f"; 차이 그림 {rel['difference_picture']}"
            en += f"; difference picture {rel['difference_picture']}"
        return ko, en
    measure_ko = f"픽셀 일치도 {rel['score']:.3f}"
    measure_en = f"pixel agreement {rel['score']:.3f}"
    if rel["role"] != "taken_from":
        return (
            f"이 사진의 얼굴이 항목 {other}{seen_ko}에 합성되었습니다 ({measure_ko})",
            f"the face in this photo was put into item {other}{seen_en} ({measure_en})",
        )
    req = rel.get("request") if rel.get("source_kind") == "request" else None
    if req:
        who, room, at = req.get("author") or "?", req.get("room") or "?", req.get("at") or "?"
        link = f", {req['link']}" if req.get("link") else ""
        whose_ko = f"{who}이(가) {room}에서 {at}에 합성 요청과 함께 올린 사진{link}"
        whose_en = f"posted in a request by {who} in {room} at {at}{link}"
    else:
        whose_ko, whose_en = "피해자 본인의 사진", "her own media"
    return (
        f"이 얼굴은 사진 {other}({whose_ko})에서 가져온 것입니다{seen_ko} ({measure_ko})",
        f"this face was taken from photo {other} ({whose_en}){seen_en} ({measure_en})",
    )
