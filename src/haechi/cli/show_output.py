"""How `haechi show` prints one item's faces, findings and signals, for people."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from haechi.cli.app import out
from haechi.i18n import N_, _
from haechi.safe_text import visible

if TYPE_CHECKING:
    from haechi.matching.review import Grouped


_BANDS = {
    "strong": N_("strong"),
    "clear": N_("clear"),
    "borderline": N_("borderline: look closely"),
}


def _face_changed_line(g: Grouped) -> str:
    """Same scene as another item with the face region changed: who is likely altered."""
    d = g.best.details or {}
    leads = {
        "likely_manipulated": _("likely manipulated"),
        "source": _("source of a manipulated picture"),
        "altered_pair": _("one of these two was altered"),
    }
    line = _(
        "{lead}: same scene as item {item} with the face at {box} changed "
        "(face cosine {score:.2f}; {inliers} keypoints outside the faces agree)"
    ).format(
        lead=leads.get(str(d.get("role")), str(d.get("role"))),
        item=str(d.get("related_item", ""))[:12],
        box=",".join(str(v) for v in d.get("box") or ()),
        score=g.best.score,
        inliers=d.get("inliers"),
    )
    frames = d.get("frames") or []
    if frames:
        times = sorted({float(f["t"]) for f in frames})
        line += "; " + _(
            "a video: the face differs in {n} of {m} frames compared, {start:.1f}–{end:.1f} s"
        ).format(n=len(times), m=d.get("frames_compared"), start=times[0], end=times[-1])
    if d.get("difference_picture"):
        line += "; " + _("difference picture {sha} in the vault").format(
            sha=d["difference_picture"]
        )
    return line


def _source_photo_line(g: Grouped) -> str:
    """This face was taken from that photo of hers (or this photo's face was put there); for
    a photo posted with a request, who asked, where and when."""
    d = g.best.details or {}
    asked = d.get("request") if d.get("source_kind") == "request" else None
    if d.get("role") != "taken_from":
        text = _(
            "the face of {person} in this photo was put into item {item} "
            "(pixel agreement {score:.3f})"
        )
    elif asked:
        text = _(
            "this face of {person} was taken from photo {item}, posted in a request by "
            "{author} in {room} at {at} (pixel agreement {score:.3f})"
        )
    else:
        text = _(
            "this face of {person} was taken from her photo {item} (pixel agreement {score:.3f})"
        )
    line = text.format(
        person=visible(g.person or "?"),
        item=str(d.get("related_item", ""))[:12],
        score=g.best.score,
        author=visible((asked or {}).get("author") or "?"),
        room=visible((asked or {}).get("room") or "?"),
        at=(asked or {}).get("at") or "?",
    )
    if asked and asked.get("link"):
        line += " " + visible(asked["link"])
    return line


def print_faces(faces: dict[str, Any] | None, found: Sequence[Grouped]) -> None:
    """Faces found, which could be judged, and which enrolled persons they match: scores and
    bands only, never a vector."""
    from haechi.matching.review import similarity_band

    if faces is not None:
        unusable: dict[str, int] = {}
        for f in faces["found"]:
            if not f["usable"]:
                key = f["reason"] or "?"
                unusable[key] = unusable.get(key, 0) + 1
        line = _("faces: {count} found, {usable} usable for matching").format(
            count=faces["count"], usable=faces["usable"]
        )
        if unusable:
            line += " (" + ", ".join(f"{why}: {n}" for why, n in sorted(unusable.items())) + ")"
        out.print(line, markup=False, highlight=False)
    for g in found:
        if g.kind == "face_match":
            band = similarity_band(g.best.score, g.best.threshold)
            line = _(
                "matches {person}: similarity {score:.3f} ({band}; threshold {threshold:.2f})"
            ).format(
                person=visible(g.person or "?"),
                score=g.best.score,
                band=_(_BANDS[band]),
                threshold=g.best.threshold,
            )
        elif g.kind == "own_media_match":
            line = _(
                "own file of {person}: PDQ distance {score:.0f} (limit {threshold:.0f})"
            ).format(
                person=visible(g.person or "?"), score=g.best.score, threshold=g.best.threshold
            )
        elif g.kind == "face_changed":
            line = _face_changed_line(g)
        elif g.kind == "source_photo":
            line = _source_photo_line(g)
        else:
            line = f"{g.kind} {visible(g.person or g.subject)}: {g.best.score:.3f}"
        variant = (g.best.details or {}).get("pdq_variant")
        if variant and variant != "original":
            line += " " + _("(matched as this picture {variant})").format(
                variant=variant.replace("_", " ")
            )
        times = g.times
        if len(times) > 1:
            line += " " + _("in {n} frames, {start:.2f}–{end:.2f} s").format(
                n=len(g.places), start=times[0], end=times[-1]
            )
        elif times:
            line += " " + _("at {t:.2f} s").format(t=times[0])
        status = _(_STATUSES[g.status]) if g.status in _STATUSES else g.status
        line += " · " + _("finding {id}: {status}").format(id=g.best.id, status=status)
        if g.best.possible_minor:
            line += " · " + _("possible minor")
        out.print("  " + line, markup=False, highlight=False)


def print_signals(obj: dict[str, Any]) -> None:
    """The sexual-content score, the synthetic verdict with its evidence, and the risk."""
    sexual = obj.get("sexual")
    if sexual and sexual.get("score") is not None:
        out.print(
            _("sexual content score: {score:.2f} (0 to 1, higher is more likely sexual)").format(
                score=sexual["score"]
            ),
            markup=False,
            highlight=False,
        )
    synthetic = obj.get("synthetic")
    if synthetic and synthetic.get("verdict"):
        conf = synthetic.get("confidence")
        out.print(
            _("synthetic: {verdict} (confidence {confidence})").format(
                verdict=_(_VERDICTS.get(synthetic["verdict"], synthetic["verdict"])),
                confidence="-" if conf is None else f"{conf:.2f}",
            ),
            markup=False,
            highlight=False,
        )
        for line in synthetic.get("evidence") or []:
            out.print(f"  - {visible(line)}", markup=False, highlight=False)
    r = obj["risk"]
    parts = [
        _("{part} {value} × {weight} = {contribution}").format(
            part=_(_RISK_PARTS.get(p["name"], p["name"])),
            value=f"{p['value']:.2f}",
            weight=p["weight"],
            contribution=f"{p['contribution']:.3f}",
        )
        for p in r["parts"]
        if p["value"] is not None
    ]
    unmeasured = [
        _(_RISK_PARTS.get(p["name"], p["name"])) for p in r["parts"] if p["value"] is None
    ]
    out.print(
        _("risk {score:.2f}: {parts}").format(
            score=r["score"], parts="; ".join(parts) or _("nothing measured")
        ),
        markup=False,
        highlight=False,
    )
    if unmeasured:
        out.print(
            "  " + _("not measured: {parts}").format(parts=", ".join(unmeasured)),
            markup=False,
            highlight=False,
        )


_STATUSES = {
    "open": N_("open"),
    "confirmed": N_("confirmed"),
    "dismissed": N_("dismissed"),
    "escalated": N_("escalated"),
    "mixed": N_("mixed"),
}
_VERDICTS = {
    "likely_synthetic": N_("likely synthetic (AI-generated)"),
    "likely_manipulated": N_("likely manipulated"),
    "no_evidence": N_("no evidence of synthesis"),
}
_RISK_PARTS = {
    "sexual": N_("sexual"),
    "face_match": N_("enrolled face"),
    "synthetic": N_("synthetic"),
    "face_match×sexual": N_("enrolled face × sexual"),
}
