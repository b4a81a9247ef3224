"""The web app and REST API (`haechi serve`): thin routes over haechi.services.

`create_app(settings)` builds everything (database, routes, error handling, security headers)
inside the factory, never at import time. Routes hold no logic: they check who is asking
(haechi.web.access), call a service function and render its typed result."""

from __future__ import annotations

from fastapi import FastAPI

from haechi import __version__
from haechi.config import Settings
from haechi.store.db import Database


def create_app(settings: Settings, db: Database | None = None) -> FastAPI:
    """The whole app for these settings: routes, problem handlers, reader language and security
    headers. Opens a Database unless one is given (tests share theirs); raises RuntimeError if any
    route lacks an access rule."""
    from fastapi import Depends

    from haechi.share.hma_api import build_router as hma_router
    from haechi.web import admin, api, evidence, network, pages, problems, public, review, takedowns
    from haechi.web.access import check_every_route_has_a_rule, require
    from haechi.web.headers import SecurityHeaders
    from haechi.web.language import ReaderLanguage

    app = FastAPI(
        title="haechi",
        version=__version__,
        description="Cases, review queue, rooms, persons and evidence packages of a haechi "
        "installation. Authenticate with an API key: `Authorization: Bearer hk_…` "
        "(`haechi users key NAME --scope …`).",
        # Served by a route with its own access rule (web/public.py); the interactive docs
        # load scripts from a CDN and run inline script, which the CSP forbids.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        # FastAPI's built-in OpenTelemetry exports on its own when FASTAPI_OTEL_AUTO_CONFIGURE is
        # set: haechi tells no one what it serves or examines, so none of it is ever on.
        telemetry={
            "tracing": False,
            "metrics": False,
            "logs": False,
            "operation_spans": False,
            "auto_configure": False,
        },
    )
    app.state.settings = settings
    app.state.db = db if db is not None else Database(settings)
    problems.install(app)
    # The HMA-compatible lookup and bank API at HMA's own paths, so an HMA client works
    # unchanged: machine clients with a key of scope "hma"; admins and investigators signed in.
    # First, because routes are matched in order and these are the busiest.
    app.include_router(
        hma_router(settings),
        dependencies=[Depends(require("admin", "investigator", scopes=("hma",)))],
    )
    app.include_router(public.router)
    app.include_router(pages.router)
    app.include_router(review.router)
    app.include_router(api.router)
    app.include_router(takedowns.router)
    app.include_router(takedowns.api)
    app.include_router(evidence.router)
    app.include_router(evidence.api)
    app.include_router(admin.router)
    app.include_router(network.router)
    app.include_router(network.api)
    app.include_router(admin.api)
    app.add_middleware(ReaderLanguage)
    app.add_middleware(SecurityHeaders)
    check_every_route_has_a_rule(app)
    return app


def app_from_environment() -> FastAPI:
    """The app of one server process among several (`haechi serve --processes N`): uvicorn
    starts each process fresh, so the settings come from the environment `haechi serve` set
    (HAECHI_HOME and the rest), exactly as the command line would have built them."""
    from haechi.config import load_settings

    return create_app(load_settings())
