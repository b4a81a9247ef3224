"""The REST API, /api/v1: the operations the pages offer, for machine clients (API keys with
scopes) and for scripts run by a logged-in person (session plus X-CSRF-Token on changes).
Lists are paginated (`page`, `per_page`); errors are RFC 9457 problem details."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from haechi.network.rooms import rank_rooms
from haechi.services.cases import add_note, get_case, list_cases
from haechi.services.dashboard import overview
from haechi.services.leads import harvest_leads, rank_leads
from haechi.services.persons import list_persons, self_view
from haechi.services.review import act, queue, render
from haechi.services.takedown import list_requests
from haechi.services.users import erase_self
from haechi.web.access import ALL_ROLES, STAFF, Principal, require
from haechi.web.pages import package_response, self_enrol
from haechi.web.paging import Paging, paginate, paging
from haechi.web.review import check_minor, png

router = APIRouter(prefix="/api/v1", tags=["api"])
Reader = Annotated[Principal, Depends(require(*STAFF, scopes=("read",)))]
Reviewer = Annotated[Principal, Depends(require(*STAFF, scopes=("review",)))]
Counsel = Annotated[Principal, Depends(require("admin", "counsellor", scopes=("persons",)))]
Investigate = Annotated[Principal, Depends(require("admin", "investigator", scopes=("evidence",)))]
Victim = Annotated[Principal, Depends(require("victim"))]
Pages = Annotated[Paging, Depends(paging)]
Json = dict[str, Any]


class Action(BaseModel):
    """A review decision on a finding, with the reviewer's reason for the case timeline."""

    action: Literal["confirm", "dismiss", "escalate", "minor"]
    reason: str = Field(default="", max_length=20_000)


class Note(BaseModel):
    """A note to add to a case timeline."""

    text: str = Field(min_length=1, max_length=20_000)


class PackageRequest(BaseModel):
    """Who an evidence package's media is encrypted to."""

    recipients: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="age public keys (age1…); none: a package without media",
    )


class Erase(BaseModel):
    """A victim's confirmation that she wants everything about her erased."""

    confirm: str = Field(max_length=128, description="her alias, as shown, to confirm")


@router.get("/whoami")
def whoami(who: Annotated[Principal, Depends(require(*ALL_ROLES, scopes=("read", "hma")))]) -> Json:
    """The account behind this key or session: name, role, how it authenticated and its scopes."""
    return {
        "name": who.user.name,
        "role": who.role,
        "via": who.via,
        "scopes": sorted(who.scopes),
    }


@router.get("/dashboard")
def dashboard(request: Request, who: Reader) -> Json:
    """The dashboard figures (findings to review, possible minors, escalated, cases by status, the
    most urgent findings) and the overdue takedown requests. Staff, or a key of scope read."""
    db = request.app.state.db
    late = [r.to_json() for r in list_requests(db, overdue=True)]
    return overview(db).to_json() | {"overdue_takedowns": late}


@router.get("/review")
def review_queue(request: Request, who: Reader, p: Pages, include_done: bool = False) -> Json:
    """Findings most urgent first; open and escalated only unless `include_done`. Staff, or a key of
    scope read."""
    entries = queue(request.app.state.db, statuses=() if include_done else ("open", "escalated"))
    return paginate(request, entries, p, lambda e: e.to_json())


@router.get("/review/{finding_id}/preview", response_class=Response)
def preview(request: Request, who: Reader, finding_id: int) -> Response:
    """The finding's media, blurred and greyscale (PNG); the look is logged."""
    check_minor(request, who, finding_id)
    return png(render(request.app.state.db, request.app.state.settings, finding_id, who.actor).png)


@router.post("/review/{finding_id}/reveal", response_class=Response)
def reveal(request: Request, who: Reviewer, finding_id: int) -> Response:
    """The finding's media unblurred (PNG); the look is logged. Never for a possible minor."""
    check_minor(request, who, finding_id)
    db, settings = request.app.state.db, request.app.state.settings
    return png(render(db, settings, finding_id, who.actor, unblurred=True).png)


@router.post("/review/{finding_id}/actions")
def review_action(request: Request, who: Reviewer, finding_id: int, body: Action) -> Json:
    """Confirm, dismiss, escalate or flag as a possible minor; answers the finding's new status.
    Staff, or a key of scope review."""
    status = act(request.app.state.db, finding_id, body.action, who.actor, body.reason)
    return {"finding_id": finding_id, "status": status}


@router.get("/cases")
def cases(request: Request, who: Reader, p: Pages) -> Json:
    """The cases in the order they were opened, paginated. Staff, or a key of scope read."""
    return paginate(request, list_cases(request.app.state.db), p, lambda c: c.to_json())


@router.get("/cases/{case_id}")
def case(request: Request, who: Reader, case_id: int) -> Json:
    """One case with its items, timeline and every finding whatever its status; 404 for an unknown
    id."""
    db = request.app.state.db
    detail = get_case(db, case_id).to_json()
    detail["findings"] = [e.to_json() for e in queue(db, case_id=case_id, statuses=())]
    return detail


@router.post("/cases/{case_id}/notes", status_code=201)
def case_note(request: Request, who: Reviewer, case_id: int, body: Note) -> Json:
    """Add a note to a case's timeline in this account's name (201). Staff, or a key of scope
    review."""
    add_note(request.app.state.db, case_id, body.text, who.actor)
    return {"case_id": case_id, "noted": True}


@router.post("/cases/{case_id}/package", response_class=Response)
def case_package(
    request: Request, who: Investigate, case_id: int, body: PackageRequest
) -> Response:
    """The case's evidence package (zip); media only encrypted to the given age keys."""
    return package_response(request, who, case_id, body.recipients)


@router.get("/rooms")
def rooms(request: Request, who: Reader, p: Pages) -> Json:
    """Rooms ranked by risk, paginated. Staff, or a key of scope read."""
    ranked = rank_rooms(request.app.state.db, request.app.state.settings)
    return paginate(request, ranked, p, lambda r: r.to_json())


@router.get("/leads")
def leads(request: Request, who: Reader, p: Pages) -> Json:
    """Rooms named in scanned messages and pages (t.me links, invites, @names), most urgent
    first, with where each was named. `POST /leads` reads what was stored since."""
    ranked = rank_leads(request.app.state.db, request.app.state.settings)
    return paginate(request, ranked, p, lambda r: r.to_json())


@router.post("/leads")
def leads_read(request: Request, who: Reviewer) -> Json:
    """Read messages and pages stored since the last reading for new leads (no network); answers the
    counts and any unreadable inputs. Staff, or a key of scope review."""
    done = harvest_leads(request.app.state.db, request.app.state.settings)
    return {
        "messages": done.messages,
        "pages": done.pages,
        "new_leads": done.new_leads,
        "problems": list(done.problems),
    }


@router.get("/persons")
def persons(request: Request, who: Counsel, p: Pages) -> Json:
    """Enrolled persons with their consent, template count and findings, paginated. Admins and
    counsellors, or a key of scope persons."""
    return paginate(request, list_persons(request.app.state.db), p, lambda x: x.to_json())


@router.get("/me")
def me(request: Request, who: Victim) -> Json:
    """A victim's own enrolment, consent record and case status; nothing of anyone else."""
    return self_view(request.app.state.db, who.user.person).to_json()


@router.post("/me/forget")
def me_forget(request: Request, who: Victim, body: Erase) -> Json:
    """A victim erases herself, as `haechi forget` does; `confirm` must be her alias. Answers what
    was removed; her account ends with it."""
    result = erase_self(
        request.app.state.db, request.app.state.settings, who.user.name, body.confirm
    )
    return {"forgotten": True, "removed": dict(result.removed)}


@router.post("/me/enrol", status_code=201)
def me_enrol(
    request: Request,
    who: Victim,
    photos: Annotated[list[UploadFile], File(description="1-20 photos of her face")],
    alias: Annotated[str, Form(max_length=128)] = "",
    agree: Annotated[str, Form(max_length=8, description="yes: she consents")] = "",
) -> Json:
    """She enrols herself (or adds photos): templates are made, the photos are not kept."""
    r = self_enrol(request, who, alias, agree, photos)
    refused = [{"file": x.file, "reason": x.reason} for x in r.refused]
    return {"alias": r.alias, "templates": r.templates, "findings": r.findings, "refused": refused}
