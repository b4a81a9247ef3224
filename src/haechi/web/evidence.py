"""Evidence pages for investigators and admins: the custody log, `evidence verify`, a case's
police report as one zip; and, for admins, the audit of every reveal. Thin routes over
haechi.services.custody and haechi.services.report."""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from haechi.services.custody import custody_lines, reveals, verify
from haechi.services.report import write_police_report
from haechi.web.access import Principal, require
from haechi.web.paging import Paging, paginate, paging, window
from haechi.web.render import page

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["evidence"])
Investigate = Annotated[Principal, Depends(require("admin", "investigator"))]
Admin = Annotated[Principal, Depends(require("admin"))]
KeyInvestigate = Annotated[
    Principal, Depends(require("admin", "investigator", scopes=("evidence",)))
]
KeyAdmin = Annotated[Principal, Depends(require("admin", scopes=("admin",)))]
Pages = Annotated[Paging, Depends(paging)]
Json = dict[str, Any]


class ReportRequest(BaseModel):
    """Who a police report's media is encrypted to."""

    recipients: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="age public keys (age1…) the media is encrypted to; none: no media",
    )


def report_response(
    request: Request, who: Principal, case_id: int, recipients: list[str]
) -> Response:
    """The police report (report.html, report.pdf, the evidence package without media, and
    SHA256SUMS) as one zip, built in a private temporary folder removed once sent."""
    tmp = Path(tempfile.mkdtemp(prefix="haechi-report-"))
    try:
        res = write_police_report(
            request.app.state.db,
            request.app.state.settings,
            case_id,
            tmp / f"case-{case_id}-report",
            actor=who.actor,
            recipients=tuple(recipients),
        )
        archive = tmp / f"case-{case_id}-report.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
            for f in sorted(res.path.rglob("*")):
                if f.is_file():
                    z.write(f, f.relative_to(tmp).as_posix())
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return FileResponse(
        archive,
        media_type="application/zip",
        filename=archive.name,
        background=BackgroundTask(shutil.rmtree, tmp, ignore_errors=True),
    )


@router.get("/custody")
def custody(request: Request, who: Investigate, p: Pages, action: str = "") -> Response:
    """The custody log page, newest first, optionally of one action (admins and investigators)."""
    lines = custody_lines(request.app.state.db, request.app.state.settings, action=action or None)
    shown, more = window(lines, p)
    return page(
        request,
        "custody.html",
        who,
        lines=shown,
        paging=p,
        more=more,
        action=action,
        total=len(lines),
    )


@router.get("/custody/verify")
def custody_verify(request: Request, who: Investigate) -> Response:
    """`haechi evidence verify`: read-only, it changes nothing (so a GET)."""
    report = verify(request.app.state.settings)
    return page(request, "verify.html", who, report=report)


@router.post("/cases/{case_id}/report")
def case_report(
    request: Request,
    who: Investigate,
    case_id: int,
    csrf: Annotated[str, Form(max_length=128)],
    recipients: Annotated[str, Form(max_length=10_000)] = "",
) -> Response:
    """Download a case's police report as a zip (admins and investigators); media only encrypted to
    the age keys in the form."""
    return report_response(request, who, case_id, recipients.split())


@router.get("/audit/reveals")
def audit_reveals(request: Request, who: Admin, p: Pages) -> Response:
    """Every unblurred look at a finding's media: who revealed which item, when (admins only)."""
    lines = reveals(request.app.state.db, request.app.state.settings)
    shown, more = window(lines, p)
    return page(request, "reveals.html", who, lines=shown, paging=p, more=more, total=len(lines))


@api.get("/custody")
def api_custody(request: Request, who: KeyInvestigate, p: Pages, action: str = "") -> Json:
    """The custody log entries, newest first, paginated, optionally of one action. Admins and
    investigators, or a key of scope evidence."""
    lines = custody_lines(request.app.state.db, request.app.state.settings, action=action or None)
    return paginate(request, lines, p, lambda x: x.to_json())


@api.get("/custody/verify")
def api_verify(request: Request, who: KeyInvestigate) -> Json:
    """Check the custody chain and every vault blob (read-only); answers the verdict and each
    problem found."""
    r = verify(request.app.state.settings)
    return {
        "ok": r.ok,
        "verdict": r.verdict(),
        "entries": r.entries,
        "head_hash": r.head_hash,
        "blobs_checked": r.blobs_checked,
        "blobs_intact": r.blobs_intact,
        "problems": [
            {"kind": x.kind.value, "seq": x.seq, "blob": x.blob, "message": x.message}
            for x in r.problems
        ],
    }


@api.post("/cases/{case_id}/report", response_class=Response)
def api_report(
    request: Request, who: KeyInvestigate, case_id: int, body: ReportRequest
) -> Response:
    """The case's police report (zip: report.html, report.pdf, the evidence package with media
    only encrypted to the given age keys)."""
    return report_response(request, who, case_id, body.recipients)


@api.get("/audit/reveals")
def api_reveals(request: Request, who: KeyAdmin, p: Pages) -> Json:
    """Every unblurred look at a finding's media, who and when. Admins, or a key of scope admin."""
    lines = reveals(request.app.state.db, request.app.state.settings)
    return paginate(request, lines, p, lambda x: x.to_json())
