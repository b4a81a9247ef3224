"""HMA's curator (`/c`): banks and their contents, created, changed, switched off and deleted
through the service layer (each change logged in custody as the CLI's are)."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Annotated, Any, ParamSpec, TypeVar

from fastapi import APIRouter, Body, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from haechi.errors import HaechiError, InputError
from haechi.i18n import _
from haechi.services import banks as svc
from haechi.share.hma_context import HmaContext, checked_type, form_file, problem

P = ParamSpec("P")
R = TypeVar("R")


def build_curation_router(ctx: HmaContext) -> APIRouter:
    """The bank and content routes over `ctx`; every change makes the next lookup recheck."""
    router = APIRouter()

    def writes(route: Callable[P, R]) -> Callable[P, R]:
        @wraps(route)
        def changing(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return route(*args, **kwargs)
            finally:
                ctx.changed()

        return changing

    def writes_async(route: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @wraps(route)
        async def changing(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return await route(*args, **kwargs)
            finally:
                ctx.changed()

        return changing

    def _bank_json(b: svc.BankView) -> dict[str, Any]:
        return {
            "name": b.name,
            "matching_enabled_ratio": b.rollout if b.enabled else 0.0,
            "is_enabled": b.enabled,
            "negative": b.negative,
            "thresholds": b.thresholds,
            "contents": b.contents,
        }

    @router.get("/c/banks")
    def banks_list() -> list[dict[str, Any]]:
        return [_bank_json(b) for b in svc.list_banks(ctx.db())]

    @router.post("/c/banks", status_code=201)
    @writes
    def banks_create(request: Request, body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        ratio = body.get("enabled_ratio", body.get("matching_enabled_ratio", 1.0))
        try:
            b = svc.create_bank(
                ctx.db(),
                ctx.actor(request),
                str(body.get("name", "")),
                negative=bool(body.get("negative", False)),
                thresholds=dict(body.get("thresholds") or {}),
                rollout=float(ratio),
            )
            if body.get("enabled") is False:
                b = svc.update_bank(ctx.db(), ctx.actor(request), b.name, enabled=False)
        except HaechiError as exc:
            raise problem(exc) from None
        return _bank_json(b)

    @router.get("/c/bank/{name}")
    def bank_get(name: str) -> dict[str, Any]:
        try:
            return _bank_json(svc.get_bank(ctx.db(), name))
        except HaechiError as exc:
            raise problem(exc) from None

    @router.put("/c/bank/{name}")
    @writes
    def bank_put(
        request: Request, name: str, body: Annotated[dict[str, Any], Body()]
    ) -> dict[str, Any]:
        ratio = body.get("enabled_ratio", body.get("matching_enabled_ratio"))
        try:
            b = svc.update_bank(
                ctx.db(),
                ctx.actor(request),
                name,
                enabled=body.get("enabled"),
                rollout=None if ratio is None else float(ratio),
                thresholds=body.get("thresholds"),
                negative=body.get("negative"),
            )
        except HaechiError as exc:
            raise problem(exc) from None
        return _bank_json(b)

    @router.delete("/c/bank/{name}")
    @writes
    def bank_delete(request: Request, name: str) -> dict[str, Any]:
        try:
            n = svc.delete_bank(ctx.db(), ctx.actor(request), name)
        except HaechiError as exc:
            raise problem(exc) from None
        return {"deleted": name, "contents": n}

    def _content_json(c: svc.ContentView) -> dict[str, Any]:
        return {
            "id": c.id,
            "bank": c.bank,
            "disable_until_ts": 1 if c.enabled else 0,
            "signals": {
                {"md5": "video_md5", "sha256": "video_sha256"}.get(s.signal_type, s.signal_type): (
                    svc.signal_text(s)
                )
                for s in c.signals
            },
            "provenance": c.provenance(),
        }

    @router.post("/c/bank/{name}/content")
    @writes_async
    async def content_add(request: Request, name: str) -> dict[str, Any]:
        form = await request.form()
        ct, upload = form_file(form)
        meta_raw = form.get("metadata")
        meta: dict[str, Any] = {}
        if isinstance(meta_raw, str) and meta_raw.strip():
            try:
                meta = dict(json.loads(meta_raw))
            except (ValueError, TypeError):
                raise HTTPException(400, "metadata is a JSON object") from None
        signals = await ctx.hash_upload(upload, ct)
        sigs = []
        for k, v in signals.items():
            st = checked_type(k)
            if st == "vpdq":
                from haechi.share.formats import parse_te_vpdq

                sigs.append(svc.SignalIn("vpdq", frames=parse_te_vpdq(v)))
            else:
                sigs.append(svc.SignalIn(st, v))
        tags = tuple(str(t) for t in (meta.get("json") or {}).get("tags", ()) if t)
        where = str(meta.get("content_uri") or meta.get("content_id") or upload.filename or "")
        try:
            added = svc.add_contents(
                ctx.db(),
                ctx.actor(request),
                name,
                [svc.ContentIn(tuple(sigs), tags=tags)],
                source=f"api:{where[:255]}",
            )
        except HaechiError as exc:
            raise problem(exc) from None
        return {"id": (added.content_ids or (None,))[0], "signals": signals}

    @router.post("/c/bank/{name}/signal")
    @writes
    def signal_add(
        request: Request, name: str, body: Annotated[dict[str, Any], Body()]
    ) -> dict[str, Any]:
        tags = tuple(str(t) for t in body.pop("tags", ()) or ())
        try:
            sigs = []
            for k, v in body.items():
                st = checked_type(k)
                if st == "vpdq":
                    from haechi.share.formats import parse_te_vpdq

                    sigs.append(svc.SignalIn("vpdq", frames=parse_te_vpdq(str(v))))
                else:
                    sigs.append(svc.SignalIn(st, str(v)))
            if not sigs:
                raise InputError(_('give a signal, e.g. {"pdq": "…"}'))
            added = svc.add_contents(
                ctx.db(),
                ctx.actor(request),
                name,
                [svc.ContentIn(tuple(sigs), tags=tags)],
                source="api",
            )
        except HaechiError as exc:
            raise problem(exc) from None
        return {"id": (added.content_ids or (None,))[0], "signals": body}

    @router.get("/c/bank/{name}/content/{content_id}")
    def content_get(name: str, content_id: int) -> dict[str, Any]:
        try:
            return _content_json(svc.get_content(ctx.db(), name, content_id))
        except HaechiError as exc:
            raise problem(exc) from None

    @router.put("/c/bank/{name}/content/{content_id}")
    @writes
    def content_put(
        request: Request, name: str, content_id: int, body: Annotated[dict[str, Any], Body()]
    ) -> dict[str, Any]:
        ts = body.get("disable_until_ts")
        if ts is None:
            raise HTTPException(400, "give disable_until_ts: 0 (disabled) or 1 (enabled)")
        enabled = ts == 1 or (ts not in (0, 1) and float(ts) <= time.time())
        try:
            c = svc.set_content_enabled(ctx.db(), ctx.actor(request), name, content_id, enabled)
        except HaechiError as exc:
            raise problem(exc) from None
        return _content_json(c)

    @router.delete("/c/bank/{name}/content/{content_id}")
    @writes
    def content_delete(request: Request, name: str, content_id: int) -> dict[str, Any]:
        try:
            svc.delete_content(ctx.db(), ctx.actor(request), name, content_id)
        except HaechiError as exc:
            raise problem(exc) from None
        return {"deleted": content_id}

    @router.get("/c/bank/{name}/content")
    def content_list(
        name: str,
        after: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> JSONResponse:
        try:
            rows = svc.contents(ctx.db(), name, after=after, limit=limit)
        except HaechiError as exc:
            raise problem(exc) from None
        return JSONResponse([_content_json(c) for c in rows])

    return router
