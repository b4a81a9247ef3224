"""Routes anyone may reach: the login page, the language switch, static assets and the OpenAPI
schema; and logout. Login is protected against forged posts by a value that must match in a
cookie and the form (there is no session yet to hold a CSRF token)."""

from __future__ import annotations

import hmac
import secrets
from functools import cache
from importlib.resources import files
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from haechi.errors import AccessError, ThrottledError
from haechi.i18n import LANGUAGES, translator
from haechi.services.users import authenticate, end_session, start_session
from haechi.web.access import ALL_ROLES, SESSION_COOKIE, Principal, require
from haechi.web.render import LANG_COOKIE, lang_of, page

router = APIRouter()
Anyone = Annotated[Principal | None, Depends(require(public=True))]
LOGIN_COOKIE = "haechi_login"
STATIC = files("haechi.web") / "static"
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
STATIC_TYPES |= {".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon"}


def _secure(request: Request) -> bool:
    return bool(request.app.state.settings.web.secure_cookies)


def _login_page(
    request: Request, who: Principal | None, error: str = "", status: int = 200
) -> Response:
    token = secrets.token_urlsafe(32)
    resp = page(request, "login.html", None, status, login_token=token, error=error)
    resp.set_cookie(
        LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request), path="/"
    )
    return resp


@router.get("/login", include_in_schema=False)
def login_form(request: Request, who: Anyone) -> Response:
    """The login page, with a fresh login token in a cookie and the form; a signed-in browser goes
    to /."""
    if who is not None and who.via == "session":
        return RedirectResponse("/", status_code=303)
    return _login_page(request, who)


@router.post("/login", include_in_schema=False)
def login(
    request: Request,
    who: Anyone,
    name: Annotated[str, Form(max_length=128)],
    password: Annotated[str, Form(max_length=1024)],
    login_token: Annotated[str, Form(max_length=128)],
) -> Response:
    """Check the login token and the password, then start a session and send a victim to /me, anyone
    else to /. Wrong credentials answer 401, too many failures 429 with Retry-After, a stale form
    403."""
    tr = translator(lang_of(request))
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, login_token):
        msg = tr.gettext("The login form was out of date; please try again.")
        return _login_page(request, who, msg, 403)
    settings, db = request.app.state.settings, request.app.state.db
    address = request.client.host if request.client else "unknown"
    try:
        user = authenticate(db, settings, name, password, address)
    except AccessError as exc:
        if isinstance(exc, ThrottledError):
            msg = tr.gettext("Too many failed logins: wait a few minutes, then try again.")
            resp = _login_page(request, who, msg, 429)
            resp.headers["Retry-After"] = str(exc.retry_after)
            return resp
        msg = tr.gettext("Wrong user name or password, or the account is disabled.")
        return _login_page(request, who, msg, 401)
    token, _session = start_session(db, settings, user.id)
    resp = RedirectResponse("/me" if user.role == "victim" else "/", status_code=303)
    resp.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.web.session_hours * 3600,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/",
    )
    resp.delete_cookie(LOGIN_COOKIE, path="/")
    return resp


@router.post("/logout", include_in_schema=False)
def logout(
    request: Request,
    who: Annotated[Principal, Depends(require(*ALL_ROLES))],
    csrf: Annotated[str, Form(max_length=128)],
) -> Response:
    """End this session and go to the login page."""
    if who.token:
        end_session(request.app.state.db, who.token)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


@router.get("/lang/{code}", include_in_schema=False)
def set_language(request: Request, who: Anyone, code: str, next: str = "/") -> Response:
    """Remember the reader's language (a preference, not server state: a link, no form)."""
    # Only a path on this site: never an open redirect.
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    resp = RedirectResponse(target, status_code=303)
    if code in LANGUAGES:
        resp.set_cookie(
            LANG_COOKIE,
            code,
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="strict",
            secure=_secure(request),
            path="/",
        )
    return resp


@cache
def _asset(name: str) -> bytes | None:
    asset = STATIC / name
    return asset.read_bytes() if asset.is_file() else None


@router.get("/static/{name}", include_in_schema=False)
def static(who: Anyone, name: str) -> Response:
    """A bundled CSS, JavaScript or image file by plain name (no folders, no hidden files, only
    known types); 404 otherwise."""
    suffix = name[name.rfind(".") :] if "." in name else ""
    if "/" in name or name.startswith(".") or suffix not in STATIC_TYPES:
        return Response("not found", status_code=404, media_type="text/plain")
    data = _asset(name)
    if data is None:
        return Response("not found", status_code=404, media_type="text/plain")
    return Response(
        data,
        media_type=STATIC_TYPES[suffix],
        headers={"Cache-Control": "public, max-age=3600"},
    )


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request, who: Anyone) -> JSONResponse:
    """The API's OpenAPI schema (public: it describes the operations, not data)."""
    schema: dict[str, Any] = request.app.openapi()
    return JSONResponse(schema)
