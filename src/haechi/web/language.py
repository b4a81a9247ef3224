"""Each web request is served in its reader's language (cookie, then Accept-Language, then the
server's locale): messages worded deep in haechi during the request, such as an error's problem
details, follow it, not the server's locale."""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from haechi.i18n import reading_in
from haechi.web.render import lang_of


class ReaderLanguage:
    """ASGI middleware that serves each request in its reader's language (see `lang_of`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with reading_in(lang_of(Request(scope))):
            await self.app(scope, receive, send)
