"""Pages: Jinja2 templates rendered in the reader's language (the `haechi_lang` cookie, else
the browser's Accept-Language, else the server's), autoescaped, with the caller's CSRF token at
hand for every form."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from haechi.i18n import LANGUAGES, N_, language, translator
from haechi.web.access import Principal

LANG_COOKIE = "haechi_lang"
TEMPLATES = files("haechi.web") / "templates"

# Values the pages translate by value (`_(who.role)`, `_(case.status)`), listed for extraction.
SHOWN_VALUES = (
    N_("admin"),
    N_("counsellor"),
    N_("investigator"),
    N_("victim"),
    N_("open"),
    N_("in_progress"),
    N_("referred"),
    N_("closed"),
    N_("confirmed"),
    N_("dismissed"),
    N_("escalated"),
    N_("confirm"),
    N_("dismiss"),
    N_("escalate"),
    N_("minor"),
)

env = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def lang_of(request: Request) -> str:
    """The request's language: the `haechi_lang` cookie, else the first supported Accept-Language,
    else the server's."""
    chosen = request.cookies.get(LANG_COOKIE, "")
    if chosen in LANGUAGES:
        return chosen
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower().split("-")[0]
        if code in LANGUAGES:
            return code
    return language()


def page(
    request: Request,
    name: str,
    who: Principal | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render a template in the reader's language with the caller and their CSRF token at hand."""
    lang = lang_of(request)
    tr = translator(lang)
    html = env.get_template(name).render(
        _=tr.gettext,
        ngettext=tr.ngettext,
        lang=lang,
        who=who,
        csrf=who.csrf if who is not None else None,
        path=request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code=status_code)
