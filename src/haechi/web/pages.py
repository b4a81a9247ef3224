"""The pages: dashboard, cases (findings, evidence, timeline, evidence package), rooms, leads,
persons, and a victim's own page. The review queue is in web/review.py."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.background import BackgroundTask

from haechi.errors import InputError
from haechi.i18n import N_, _, translator
from haechi.network.rooms import rank_rooms
from haechi.persons.enrol import MAX_PHOTOS, EnrolResult, Upload
from haechi.services.cases import add_note, get_case, list_cases
from haechi.services.dashboard import overview
from haechi.services.evidence import export_case
from haechi.services.leads import harvest_leads, rank_leads
from haechi.services.persons import list_persons, self_view
from haechi.services.review import queue
from haechi.services.takedown import list_requests
from haechi.services.users import enrol_self, erase_self
from haechi.web.access import ALL_ROLES, SESSION_COOKIE, STAFF, Principal, require
from haechi.web.paging import Paging, paging, window
from haechi.web.render import lang_of, page

router = APIRouter(include_in_schema=False)
Staff = Annotated[Principal, Depends(require(*STAFF))]
Anyone = Annotated[Principal, Depends(require(*ALL_ROLES))]
Victim = Annotated[Principal, Depends(require("victim"))]
Counsel = Annotated[Principal, Depends(require("admin", "counsellor"))]
Investigate = Annotated[Principal, Depends(require("admin", "investigator"))]
Pages = Annotated[Paging, Depends(paging)]


@router.get("/")
def dashboard(request: Request, who: Anyone) -> Response:
    """The dashboard for staff (figures and overdue takedowns); a victim is sent to her own page."""
    if who.role == "victim":
        return RedirectResponse("/me", status_code=303)
    db = request.app.state.db
    late = list_requests(db, overdue=True)
    return page(request, "dashboard.html", who, overview=overview(db), overdue=late)


@router.get("/cases")
def cases(request: Request, who: Staff, p: Pages) -> Response:
    """The list of cases (staff)."""
    shown, more = window(list_cases(request.app.state.db), p)
    return page(request, "cases.html", who, cases=shown, paging=p, more=more)


@router.get("/cases/{case_id}")
def case(request: Request, who: Staff, case_id: int) -> Response:
    """One case: its findings, evidence, timeline and takedown requests (staff)."""
    db = request.app.state.db
    detail = get_case(db, case_id)
    findings = queue(db, case_id=case_id, statuses=())
    requests = list_requests(db, case_id=case_id)
    return page(request, "case.html", who, case=detail, findings=findings, requests=requests)


@router.post("/cases/{case_id}/notes")
def case_note(
    request: Request,
    who: Staff,
    case_id: int,
    csrf: Annotated[str, Form(max_length=128)],
    text: Annotated[str, Form(max_length=20_000)],
) -> Response:
    """Add a note to a case's timeline in this account's name, then back to the case (staff)."""
    add_note(request.app.state.db, case_id, text, who.actor)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


def package_response(
    request: Request, who: Principal, case_id: int, recipients: list[str]
) -> Response:
    """A case's evidence package as a zip download. Media goes in only encrypted to the
    investigator's age keys; without one the package holds hashes, sightings and the log.
    Built in a private temporary folder that is removed once sent."""
    folder = Path(tempfile.mkdtemp(prefix="haechi-package-"))
    try:
        res = export_case(
            request.app.state.db,
            request.app.state.settings,
            case_id,
            folder / f"case-{case_id}.zip",
            actor=who.actor,
            recipients=recipients,
            include_media=bool(recipients),
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(
        res.path,
        media_type="application/zip",
        filename=res.path.name,
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


@router.post("/cases/{case_id}/package")
def case_package_download(
    request: Request,
    who: Investigate,
    case_id: int,
    csrf: Annotated[str, Form(max_length=128)],
    recipients: Annotated[str, Form(max_length=10_000)] = "",
) -> Response:
    """Download a case's evidence package (admins and investigators); media only if age keys are
    given in the form."""
    keys = [k.strip() for k in recipients.split() if k.strip()]
    return package_response(request, who, case_id, keys)


@router.get("/rooms")
def rooms(request: Request, who: Staff, p: Pages) -> Response:
    """Rooms ranked by risk, those above the configured flag marked (staff)."""
    settings = request.app.state.settings
    shown, more = window(rank_rooms(request.app.state.db, settings), p)
    return page(
        request,
        "rooms.html",
        who,
        rooms=shown,
        paging=p,
        more=more,
        flag=settings.thresholds.room_risk_flag,
    )


@router.get("/leads")
def leads(request: Request, who: Staff, p: Pages) -> Response:
    """Rooms named in what was scanned, most urgent first (what `haechi discover leads` lists)."""
    shown, more = window(rank_leads(request.app.state.db, request.app.state.settings), p)
    return page(request, "leads.html", who, leads=shown, paging=p, more=more)


@router.post("/leads")
def leads_read(
    request: Request, who: Staff, csrf: Annotated[str, Form(max_length=128)]
) -> Response:
    """Read the messages and pages stored since the last reading for new leads (no network)."""
    harvest_leads(request.app.state.db, request.app.state.settings)
    return RedirectResponse("/leads", status_code=303)


@router.get("/persons")
def persons(request: Request, who: Counsel, p: Pages) -> Response:
    """Enrolled persons with their consent, template count and findings (admins and counsellors)."""
    shown, more = window(list_persons(request.app.state.db), p)
    return page(request, "persons.html", who, persons=shown, paging=p, more=more)


@router.get("/me")
def me(request: Request, who: Victim) -> Response:
    """A victim's own page: her enrolment, consent and case status, and the forms to enrol or erase
    herself."""
    view = self_view(request.app.state.db, who.user.person)
    text = translator(lang_of(request)).gettext(SELF_CONSENT)
    return page(request, "me.html", who, me=view, enrolled=None, consent_text=text)


@router.post("/me/forget")
def me_forget(
    request: Request,
    who: Victim,
    csrf: Annotated[str, Form(max_length=128)],
    confirm: Annotated[str, Form(max_length=128)],
) -> Response:
    """She erases herself, as `haechi forget` does; her account then ends."""
    db, settings = request.app.state.db, request.app.state.settings
    result = erase_self(db, settings, who.user.name, confirm)
    resp = page(request, "forgotten.html", None, result=result)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


# What she agrees to when she enrols herself; recorded, in her language, as her consent.
SELF_CONSENT = N_(
    "I agree that haechi keeps face templates made from these photos, to find pictures of me "
    "in material the centre scans. The photos themselves are not kept. I can erase everything "
    "about me at any time."
)


def self_enrol(
    request: Request, who: Principal, alias: str, agree: str, photos: list[UploadFile]
) -> EnrolResult:
    """Her uploads are read into memory, made into templates by the enrol service, and dropped:
    nothing of a photo is written anywhere."""
    settings = request.app.state.settings
    tr = translator(lang_of(request))
    if agree != "yes":
        raise InputError(tr.gettext("Nothing was enrolled: tick the box to give your consent."))
    if len(photos) > MAX_PHOTOS:
        raise InputError(_("at most {n} photos").format(n=MAX_PHOTOS))
    limit = settings.limits.max_file_bytes
    uploads = [Upload(f.filename or "photo", f.file.read(limit + 1)) for f in photos]
    return enrol_self(
        request.app.state.db,
        settings,
        who.user.name,
        alias,
        tr.gettext(SELF_CONSENT),
        uploads,
    )


@router.post("/me/enrol")
def me_enrol(
    request: Request,
    who: Victim,
    csrf: Annotated[str, Form(max_length=128)],
    photos: Annotated[list[UploadFile], File()],
    alias: Annotated[str, Form(max_length=128)] = "",
    agree: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """A victim enrols herself (or adds photos) with her consent, then sees her page with what was
    made and refused."""
    result = self_enrol(request, who, alias, agree, photos)
    view = self_view(request.app.state.db, result.alias)
    return page(request, "me.html", who, me=view, enrolled=result, consent_text=None)
