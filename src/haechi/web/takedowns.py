"""Takedown pages and their API: draft requests for a case (from its page or from a finding),
read each language's text, download the files, approve (a second person), record what the
platform did, and recheck a case's locations (which uses the network). Every operation is a
service call (haechi.services.takedown, .drafts, .recheck); nothing is decided here."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from haechi.errors import InputError
from haechi.i18n import N_, _
from haechi.services.drafts import draft
from haechi.services.recheck import recheck
from haechi.services.takedown import (
    MARKABLE,
    approve,
    list_requests,
    mark,
    request_detail,
    request_file,
)
from haechi.takedown.templates import LANGUAGES, parse_languages
from haechi.web.access import STAFF, Principal, require
from haechi.web.paging import Paging, paginate, paging, window
from haechi.web.render import page

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["takedown"])
Staff = Annotated[Principal, Depends(require(*STAFF))]
Reader = Annotated[Principal, Depends(require(*STAFF, scopes=("read",)))]
Taker = Annotated[Principal, Depends(require(*STAFF, scopes=("takedown",)))]
Pages = Annotated[Paging, Depends(paging)]
Json = dict[str, Any]
LANGUAGE_NAMES = {
    "ko": "한국어",
    "en": "English",
    "ja": "日本語",
    "zh": "中文",
    "ru": "Русский",
    "vi": "Tiếng Việt",
    "th": "ไทย",
}
# Request states, shown translated by value.
SHOWN_STATES = (
    N_("drafted"),
    N_("approved"),
    N_("sent"),
    N_("acknowledged"),
    N_("removed"),
    N_("refused"),
    N_("no_answer"),
    N_("reappeared"),
    # recheck results
    N_("still_up"),
    N_("still_gone"),
    N_("unclear"),
    N_("unreachable"),
    N_("not_checkable"),
    N_("absent"),
)
FILE_TYPES = {".eml": "message/rfc822", ".txt": "text/plain; charset=utf-8"}
FILE_TYPES |= {".csv": "text/csv; charset=utf-8"}


def _languages(chosen: list[str]) -> tuple[str, ...]:
    return parse_languages(",".join(chosen) if chosen else None)


def _file_response(request: Request, request_id: int, name: str) -> Response:
    data = request_file(request.app.state.db, request_id, name)
    suffix = name[name.rfind(".") :] if "." in name else ""
    # Always a download: a drafted text is never rendered by the browser as a page.
    return Response(
        data,
        media_type=FILE_TYPES.get(suffix, "application/octet-stream"),
        headers={"Content-Disposition": f'attachment; filename="request-{request_id}-{name}"'},
    )


# --------------------------------------------------------------------------- pages
@router.get("/takedowns")
def tracker(request: Request, who: Staff, p: Pages, overdue: bool = False) -> Response:
    """Every takedown request and its state, or only the overdue ones (staff)."""
    shown, more = window(list_requests(request.app.state.db, overdue=overdue), p)
    return page(
        request, "takedowns.html", who, requests=shown, paging=p, more=more, overdue=overdue
    )


@router.get("/cases/{case_id}/takedowns")
def draft_form(request: Request, who: Staff, case_id: int, finding: int | None = None) -> Response:
    """The form to draft takedown requests for a case, with its requests so far (staff)."""
    requests = list_requests(request.app.state.db, case_id=case_id)
    return page(
        request,
        "takedown_draft.html",
        who,
        case_id=case_id,
        finding=finding,
        requests=requests,
        languages=LANGUAGES,
        names=LANGUAGE_NAMES,
        report=None,
    )


@router.post("/cases/{case_id}/takedowns")
def draft_requests(
    request: Request,
    who: Staff,
    case_id: int,
    csrf: Annotated[str, Form(max_length=128)],
    lang: Annotated[list[str] | None, Form(max_length=16)] = None,
) -> Response:
    """Draft requests in the chosen languages for the case's locations that have none in progress,
    and show what was drafted (staff)."""
    db, settings = request.app.state.db, request.app.state.settings
    report = draft(db, settings, case_id, _languages(lang or []), who.actor)
    return page(
        request,
        "takedown_draft.html",
        who,
        case_id=case_id,
        finding=None,
        requests=list_requests(db, case_id=case_id),
        languages=LANGUAGES,
        names=LANGUAGE_NAMES,
        report=report,
    )


@router.get("/takedowns/{request_id}")
def request_page(request: Request, who: Staff, request_id: int, lang: str = "") -> Response:
    """One takedown request: its state, history and the drafted text in one language (staff)."""
    detail = request_detail(request.app.state.db, request_id)
    shown = lang if lang in detail.texts else (detail.texts[0] if detail.texts else "")
    text = request_file(request.app.state.db, request_id, f"{shown}.txt") if shown else b""
    return page(
        request,
        "takedown.html",
        who,
        d=detail,
        r=detail.request,
        shown=shown,
        text=text.decode("utf-8", errors="replace"),
        names=LANGUAGE_NAMES,
        markable=MARKABLE,
    )


@router.get("/takedowns/{request_id}/files/{name}")
def request_file_download(request: Request, who: Staff, request_id: int, name: str) -> Response:
    """Download one of a request's drafted files (staff); always as an attachment."""
    return _file_response(request, request_id, name)


@router.post("/takedowns/{request_id}/approve")
def approve_request(
    request: Request, who: Staff, request_id: int, csrf: Annotated[str, Form(max_length=128)]
) -> Response:
    """Approve a request in this account's name; the account that drafted it may not (staff)."""
    approve(request.app.state.db, request_id, who.user.name, who.actor, second_person=True)
    return RedirectResponse(f"/takedowns/{request_id}", status_code=303)


@router.post("/takedowns/{request_id}/mark")
def mark_request(
    request: Request,
    who: Staff,
    request_id: int,
    csrf: Annotated[str, Form(max_length=128)],
    state: Annotated[str, Form(max_length=16)],
    on: Annotated[date | None, Form()] = None,
) -> Response:
    """Record the platform's answer (or that she sent it herself), on a day (default: now)."""
    at = datetime.combine(on, time(12), tzinfo=UTC) if on else None
    mark(request.app.state.db, request_id, state, who.actor, at=at)
    return RedirectResponse(f"/takedowns/{request_id}", status_code=303)


@router.post("/cases/{case_id}/recheck")
def recheck_case(
    request: Request, who: Staff, case_id: int, csrf: Annotated[str, Form(max_length=128)]
) -> Response:
    """Fetch every followed location of the case again: this uses the network."""
    results = recheck(request.app.state.db, request.app.state.settings, who.actor, case_id=case_id)
    return page(request, "recheck.html", who, case_id=case_id, results=results)


# --------------------------------------------------------------------------- API
class DraftBody(BaseModel):
    """The languages to draft takedown requests in."""

    languages: list[str] = Field(
        default_factory=list, max_length=len(LANGUAGES), description="none: all seven"
    )


class MarkBody(BaseModel):
    """What the platform did with a request, and when."""

    state: Literal["sent", "acknowledged", "removed", "refused", "no_answer"]
    at: datetime | None = Field(default=None, description="when it happened (default: now)")


class RecheckBody(BaseModel):
    """An explicit agreement that the recheck uses the network."""

    use_network: Literal[True] = Field(
        description="true: the recheck fetches every followed location again over the network"
    )


@api.get("/takedowns")
def api_list(
    request: Request, who: Reader, p: Pages, case: int | None = None, overdue: bool = False
) -> Json:
    """Takedown requests, of one case or all, optionally only the overdue. Staff, or a key of scope
    read."""
    views = list_requests(request.app.state.db, case_id=case, overdue=overdue)
    return paginate(request, views, p, lambda v: v.to_json())


@api.post("/cases/{case_id}/takedowns", status_code=201)
def api_draft(request: Request, who: Taker, case_id: int, body: DraftBody) -> Json:
    """Draft a request for every location of the case's items that has none in progress."""
    db, settings = request.app.state.db, request.app.state.settings
    return draft(db, settings, case_id, _languages(body.languages), who.actor).to_json()


@api.get("/takedowns/{request_id}")
def api_request(request: Request, who: Reader, request_id: int) -> Json:
    """One takedown request with who drafted it and its history. Staff, or a key of scope read."""
    d = request_detail(request.app.state.db, request_id)
    return d.request.to_json() | {"drafted_by": d.drafted_by, "history": list(d.history)}


@api.get("/takedowns/{request_id}/files/{name}", response_class=Response)
def api_file(request: Request, who: Reader, request_id: int, name: str) -> Response:
    """One drafted file: `ko.txt`, `en.eml`, `hashes.csv`… (the names the request lists)."""
    return _file_response(request, request_id, name)


@api.post("/takedowns/{request_id}/approve")
def api_approve(request: Request, who: Taker, request_id: int) -> Json:
    """Approve, by this account's name; the account that drafted it may not."""
    v = approve(request.app.state.db, request_id, who.user.name, who.actor, second_person=True)
    return v.to_json()


@api.post("/takedowns/{request_id}/mark")
def api_mark(request: Request, who: Taker, request_id: int, body: MarkBody) -> Json:
    """Record what the platform did with a request (a time without zone is taken as UTC); answers
    the request as it now stands."""
    at = body.at.replace(tzinfo=UTC) if body.at and body.at.tzinfo is None else body.at
    return mark(request.app.state.db, request_id, body.state, who.actor, at=at).to_json()


@api.post("/cases/{case_id}/recheck")
def api_recheck(request: Request, who: Taker, case_id: int, body: RecheckBody) -> Json:
    """Fetch every followed location of the case again (uses the network)."""
    if body.use_network is not True:
        raise InputError(_("a recheck uses the network: send use_network: true"))
    results = recheck(request.app.state.db, request.app.state.settings, who.actor, case_id=case_id)
    return {"network": True, "checked": [r.to_json() for r in results]}
