"""An HMA-compatible lookup API: Meta's Hasher-Matcher-Actioner 2.0 paths and answer shapes
(hasher `/h`, matcher `/m`, curator `/c`), so an HMA client works unchanged against haechi's
banks, plus what HMA lacks: each match's provenance tags, per-bank thresholds, negative banks
that suppress a match, and `/m/feedback` (a rejection goes to a negative bank).

The web app mounts `build_router(settings)` behind an API key (scope "hma"); the caller's name,
when the app sets `request.state.actor`, is who the custody log records. Uploaded media is
hashed in memory and never stored; no URL is ever fetched (haechi does not call the network
to analyse media: POST the file instead). The routes live in hma_match (hasher and matcher)
and hma_curation (curator), over one HmaContext."""

from __future__ import annotations

from fastapi import APIRouter

from haechi.config import Settings
from haechi.share.hma_context import HmaContext
from haechi.share.hma_curation import build_curation_router
from haechi.share.hma_match import build_match_router


def build_router(settings: Settings) -> APIRouter:
    """Every HMA route over one context (database, bank index) for `settings`."""
    ctx = HmaContext(settings)
    router = APIRouter()
    router.include_router(build_match_router(ctx))
    router.include_router(build_curation_router(ctx))
    return router
