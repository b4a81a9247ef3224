"""The network view for investigators and admins: content clusters, and for one cluster its
rendered picture (inline, as `haechi network picture` draws it) with each role and the messages
behind it. A lead for people, never a verdict: the page says so."""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from haechi.network.model import NOTICE_EN, NOTICE_KO
from haechi.services.network_view import cluster_view, list_clusters
from haechi.web.access import Principal, require
from haechi.web.paging import Paging, paginate, paging, window
from haechi.web.render import lang_of, page

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["network"])
Investigate = Annotated[Principal, Depends(require("admin", "investigator"))]
KeyInvestigate = Annotated[
    Principal, Depends(require("admin", "investigator", scopes=("evidence",)))
]
Pages = Annotated[Paging, Depends(paging)]


@router.get("/network")
def network(request: Request, who: Investigate, p: Pages) -> Response:
    """The content clusters page with the notice that a cluster is a lead, not a verdict (admins and
    investigators)."""
    shown, more = window(list_clusters(request.app.state.db, request.app.state.settings), p)
    notice = NOTICE_KO if lang_of(request) == "ko" else NOTICE_EN
    return page(request, "network.html", who, clusters=shown, paging=p, more=more, notice=notice)


@router.get("/network/{cluster}")
def network_cluster(request: Request, who: Investigate, cluster: str) -> Response:
    """One cluster's picture, roles and the messages behind each (admins and investigators); 404 for
    an unknown cluster."""
    view = cluster_view(request.app.state.db, request.app.state.settings, cluster)
    # Inline: the CSP allows data: images, and an SVG in <img> runs no script.
    src = "data:image/svg+xml;base64," + base64.b64encode(view.svg.encode("utf-8")).decode()
    lang = lang_of(request)
    return page(
        request,
        "cluster.html",
        who,
        v=view,
        src=src,
        ko=lang == "ko",
        notice=NOTICE_KO if lang == "ko" else NOTICE_EN,
    )


@api.get("/network")
def api_network(request: Request, who: KeyInvestigate, p: Pages) -> dict[str, Any]:
    """The content clusters, paginated. Admins and investigators, or a key of scope evidence."""
    lines = list_clusters(request.app.state.db, request.app.state.settings)
    return paginate(request, lines, p, lambda x: x.to_json())


@api.get("/network/{cluster}")
def api_cluster(request: Request, who: KeyInvestigate, cluster: str) -> dict[str, Any]:
    """One cluster with each claimed role and the messages behind it."""
    view = cluster_view(request.app.state.db, request.app.state.settings, cluster)
    return view.cluster.to_json() | {"claims": [c.to_json() for c in view.claims]}


@api.get("/network/{cluster}/picture.svg", response_class=Response)
def api_picture(request: Request, who: KeyInvestigate, cluster: str) -> Response:
    """One cluster drawn as SVG, as `haechi network picture` draws it."""
    view = cluster_view(request.app.state.db, request.app.state.settings, cluster)
    return Response(view.svg, media_type="image/svg+xml")
