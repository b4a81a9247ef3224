"""Errors as people and programs read them: RFC 9457 problem details (application/problem+json)
under /api/, an error page (or the login page) elsewhere. Every HaechiError carries a message
meant for a person, so it is shown as it is; anything else is a 500 without internals."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from haechi.errors import (
    AccessError,
    ConfigError,
    HaechiError,
    InputError,
    IntegrityError,
    NotFoundError,
    StoreError,
    ThrottledError,
)
from haechi.i18n import N_, translator
from haechi.web.access import ForbiddenError, NotAuthenticatedError, principal
from haechi.web.render import lang_of, page

log = logging.getLogger("haechi.web")
PROBLEM = "application/problem+json"
TITLES = {
    400: N_("Bad request"),
    401: N_("Not logged in"),
    403: N_("Forbidden"),
    404: N_("Not found"),
    405: N_("Method not allowed"),
    409: N_("Integrity problem"),
    422: N_("Unusable input"),
    429: N_("Too many attempts"),
    500: N_("Internal error"),
    503: N_("Storage unavailable"),
}


def status_of(exc: HaechiError) -> int:
    """The HTTP status for a haechi error: 429 throttled, 403 access, 404 not found, 422 input, 409
    integrity, 503 store, 500 config, else 400."""
    if isinstance(exc, ThrottledError):
        return 429
    for cls, status in (
        (AccessError, 403),
        (NotFoundError, 404),
        (InputError, 422),
        (IntegrityError, 409),
        (StoreError, 503),
        (ConfigError, 500),
    ):
        if isinstance(exc, cls):
            return status
    return 400


# Machine paths: the REST API, and the HMA-compatible API at HMA's own paths (its clients
# expect status codes, not a login page).
API_PREFIXES = ("/api/", "/h/", "/m/", "/c/")


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIXES)


def problem(
    status: int, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """An RFC 9457 problem details response; `extra` adds members (such as `errors`) to the body."""
    body = {"type": "about:blank", "title": TITLES.get(status, "Error"), "status": status}
    body |= {"detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _respond(request: Request, status: int, detail: str, **extra: Any) -> Response:
    headers = {"Retry-After": str(extra.pop("retry_after"))} if "retry_after" in extra else None
    if _is_api(request):
        return problem(status, detail, headers, **extra)
    tr = translator(lang_of(request))
    resp = page(
        request,
        "error.html",
        principal(request),
        status_code=status,
        title=tr.gettext(TITLES.get(status, "Error")),
        detail=detail,
    )
    if headers:
        resp.headers.update(headers)
    return resp


def install(app: FastAPI) -> None:
    """Register the app's exception handlers: problem details under the API paths, an error page (or
    a redirect to /login) elsewhere; unexpected errors are logged and answered without internals."""

    @app.exception_handler(NotAuthenticatedError)
    async def _anonymous(request: Request, exc: NotAuthenticatedError) -> Response:
        if _is_api(request):
            return problem(
                401,
                "log in or send an API key: Authorization: Bearer hk_…",
                {"WWW-Authenticate": "Bearer"},
            )
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(ForbiddenError)
    async def _forbidden(request: Request, exc: ForbiddenError) -> Response:
        return _respond(request, 403, exc.detail)

    @app.exception_handler(HaechiError)
    async def _haechi(request: Request, exc: HaechiError) -> Response:
        extra: dict[str, Any] = {}
        if isinstance(exc, ThrottledError):
            extra["retry_after"] = exc.retry_after
        return _respond(request, status_of(exc), str(exc), **extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"where": ".".join(str(p) for p in e.get("loc", ())), "problem": e.get("msg", "")}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['where']}: {e['problem']}" for e in errors)
        return _respond(request, 422, detail, errors=errors)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        return _respond(request, exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _respond(request, 500, "an unexpected error; the server log has the details")
