"""The review queue page: findings most urgent first, each with a blurred greyscale preview
(served from a blurred rendering, never the original); one button reveals one item, and every
look is logged by haechi.services.review. Media flagged as a possible minor is shown (blurred)
only to admins and investigators, and never revealed here."""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from haechi.i18n import _
from haechi.services.review import ACTIONS, act, is_possible_minor, queue, render
from haechi.web.access import STAFF, ForbiddenError, Principal, require
from haechi.web.paging import Paging, paging, window
from haechi.web.render import page

router = APIRouter(include_in_schema=False)
Staff = Annotated[Principal, Depends(require(*STAFF))]
PER_PAGE = 20


def check_minor(request: Request, who: Principal, finding_id: int) -> None:
    """Raise ForbiddenError if the finding is flagged as a possible minor and this account may not
    see such media."""
    if not who.may_see_minor and is_possible_minor(request.app.state.db, finding_id):
        raise ForbiddenError(
            _(
                "this finding is flagged as a possible minor: only an admin "
                "or investigator may see its media"
            )
        )


def png(data: bytes) -> Response:
    """A PNG response of these bytes."""
    return Response(data, media_type="image/png")


@router.get("/review")
def review_queue(
    request: Request,
    who: Staff,
    p: Annotated[Paging, Depends(paging)],
    include_done: bool = False,
) -> Response:
    """The review queue page, most urgent first, at most 20 findings a page; open and escalated only
    unless `include_done` (staff)."""
    statuses = () if include_done else ("open", "escalated")
    entries = queue(request.app.state.db, statuses=statuses)
    shown, more = window(entries, Paging(p.page, min(p.per_page, PER_PAGE)))
    return page(
        request,
        "review.html",
        who,
        entries=shown,
        paging=p,
        more=more,
        total=len(entries),
        actions=ACTIONS,
    )


@router.get("/review/{finding_id}/blurred.png")
def blurred(request: Request, who: Staff, finding_id: int) -> Response:
    """A finding's media, blurred and greyscale (PNG); the look is logged (staff; a possible minor
    only for admins and investigators)."""
    check_minor(request, who, finding_id)
    shown = render(request.app.state.db, request.app.state.settings, finding_id, who.actor)
    return png(shown.png)


@router.post("/review/{finding_id}/reveal")
def reveal(
    request: Request,
    who: Staff,
    finding_id: int,
    csrf: Annotated[str, Form(max_length=128)],
) -> Response:
    """A finding's media unblurred, inline in the page; the look is logged (staff; refused for a
    possible minor unless admin or investigator)."""
    check_minor(request, who, finding_id)
    db, settings = request.app.state.db, request.app.state.settings
    shown = render(db, settings, finding_id, who.actor, unblurred=True)
    # Inline (data:), so the clear picture has no URL that a history or cache could fetch again.
    src = "data:image/png;base64," + base64.b64encode(shown.png).decode("ascii")
    return page(request, "reveal.html", who, finding_id=finding_id, src=src, sha=shown.item_sha256)


@router.post("/review/{finding_id}/action")
def review_action(
    request: Request,
    who: Staff,
    finding_id: int,
    csrf: Annotated[str, Form(max_length=128)],
    action: Annotated[str, Form(max_length=16)],
    reason: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    """Record a review decision on a finding, then back to the queue (staff)."""
    act(request.app.state.db, finding_id, action, who.actor, reason)
    return RedirectResponse("/review", status_code=303)
