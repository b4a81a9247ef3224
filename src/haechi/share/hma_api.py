"""An HMA-compatible lookup API: Meta's Hasher-Matcher-Actioner 2.0 paths and answer shapes
(hasher `/h`, matcher `/m`, curator `/c`), so an HMA client works unchanged against haechi's
banks, plus what HMA lacks: each match's provenance tags, per-bank thresholds, negative banks
that suppress a match, and `/m/feedback` (a rejection goes to a negative bank).

The web app mounts `build_router(settings)` behind an API key (scope "hma"); the caller's name,
when the app sets `request.state.actor`, is who the custody log records. Uploaded media is
hashed in memory and never stored; no URL is ever fetched (haechi does not call the network
to analyse media: POST the file instead)."""

from __future__ import annotations

import hashlib
import time
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query, Request, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse

from haechi.config import Settings
from haechi.errors import HaechiError, InputError, NotFoundError
from haechi.i18n import _
from haechi.services import banks as svc
from haechi.store.db import Database

CONTENT_TYPES = ("photo", "video")
HMA_TYPES = {"pdq": "pdq", "video_md5": "md5", "md5": "md5", "sha256": "sha256"}
HMA_TYPES |= {"video_sha256": "sha256", "vpdq": "vpdq"}
DEFAULT_NEGATIVE = "FALSE_POSITIVES"
# A rejected match suppresses only what is close to it: at PDQ's usual 31 it would also hide
# copies of the banked picture (a false positive sits up to 31 bits from it).
NEGATIVE_PDQ = 8


def _problem(exc: HaechiError) -> HTTPException:
    status = 404 if isinstance(exc, NotFoundError) else 400
    return HTTPException(status, str(exc))


def _no_urls(url: str | None) -> None:
    if url:
        raise HTTPException(
            400, "haechi never fetches media from a URL; POST the file (multipart) instead"
        )


def _signal_type(name: str) -> str:
    st = HMA_TYPES.get(name.strip().lower())
    if st is None:
        raise HTTPException(400, f"signal_type {name!r}: one of {', '.join(sorted(HMA_TYPES))}")
    return st


def build_router(settings: Settings) -> APIRouter:
    router = APIRouter()
    state: dict[str, Any] = {}

    def db() -> Database:
        if "db" not in state:
            state["db"] = Database(settings)
        got: Database = state["db"]
        return got

    def index() -> Any:
        from haechi.matching.banks import current

        with db().session() as s:
            return current(s, settings, db().url)

    def actor(request: Request) -> str:
        return str(getattr(request.state, "actor", None) or "api")

    # ------------------------------------------------------------------ hashing
    async def _hash_upload(upload: UploadFile, content_type: str) -> dict[str, str]:
        """Signals of an uploaded file, computed in memory (the bytes are dropped after)."""
        from haechi.analyzers.pdq import PdqAnalyzer
        from haechi.media import BytesContent, decode_media

        limit = settings.limits.max_file_bytes
        data = await upload.read(limit + 1)
        if len(data) > limit:
            raise HTTPException(413, f"the file is over the limit of {limit} bytes")
        name = upload.filename or "upload"
        try:
            media = decode_media(BytesContent(data, name), settings.limits)
            pdq = PdqAnalyzer(settings).analyze(media)
        except HaechiError as exc:
            raise HTTPException(400, str(exc)) from None
        out: dict[str, str] = {}
        if content_type == "photo" or media.kind == "image":
            if pdq.pdq is not None:
                out["pdq"] = pdq.pdq
        else:
            out["vpdq"] = svc.signal_text(
                svc.SignalIn(
                    "vpdq", frames=tuple(svc.Frame(f.pdq, f.quality, f.t) for f in pdq.frames)
                )
            )
            out["video_md5"] = hashlib.md5(data, usedforsecurity=False).hexdigest()
        return out

    def _form_file(form: Any) -> tuple[str, UploadFile]:
        for ct in CONTENT_TYPES:
            f = form.get(ct)
            if f is not None and hasattr(f, "read"):
                return ct, f
        raise HTTPException(400, "send one file in a multipart field named photo or video")

    @router.get("/status", response_class=PlainTextResponse)
    def status() -> str:
        return "I-AM-ALIVE"

    @router.get("/h/hash")
    def hash_get(url: str | None = None) -> dict[str, str]:
        _no_urls(url)
        raise HTTPException(400, "POST a file to /h/hash (multipart field photo or video)")

    @router.post("/h/hash")
    async def hash_post(request: Request, types: str | None = None) -> dict[str, str]:
        ct, upload = _form_file(await request.form())
        got = await _hash_upload(upload, ct)
        if types:
            wanted = {t.strip() for t in types.split(",")}
            got = {k: v for k, v in got.items() if k in wanted}
        return got

    # ------------------------------------------------------------------ matching
    def _lookup(signal: str, st: str, banks: list[str] | None) -> dict[str, list[dict[str, Any]]]:
        idx = index()
        if st == "pdq":
            try:
                (found,) = idx.lookup_pdq([signal], banks)
            except HaechiError as exc:
                raise _problem(exc) from None
            pairs = [(b, e, d) for b, e, d in found]
        elif st in ("md5", "sha256"):
            pairs = [(b, e, 0) for b, e in idx.lookup_exact(st, signal, banks)]
        else:
            raise HTTPException(400, "look up vPDQ by POSTing the video to /m/lookup")
        negative = [e for b, e, _ in pairs if b.negative]
        if negative:
            return {}  # a known false positive: no match, whatever else it resembles
        out: dict[str, list[dict[str, Any]]] = {}
        for b, e, d in sorted(pairs, key=lambda p: (p[0].name, p[2], p[1].content_id)):
            out.setdefault(b.name, []).append(
                {"bank_content_id": e.content_id, "distance": str(d), "tags": list(e.tags)}
            )
        return out

    @router.get("/m/lookup")
    def lookup_get(
        signal: str | None = None,
        signal_type: str | None = None,
        banks: str | None = None,
        url: str | None = None,
    ) -> dict[str, list[dict[str, Any]]]:
        _no_urls(url)
        if not signal or not signal_type:
            raise HTTPException(400, "give signal and signal_type (or POST a file)")
        return _lookup(signal, _signal_type(signal_type), _banks(banks))

    @router.post("/m/lookup")
    async def lookup_post(
        request: Request, banks: str | None = None
    ) -> dict[str, dict[str, list[dict[str, Any]]]]:
        ct, upload = _form_file(await request.form())
        signals = await _hash_upload(upload, ct)
        out: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for name, value in signals.items():
            if name == "vpdq":
                out[name] = _video_lookup(value, _banks(banks))
            else:
                out[name] = _lookup(value, _signal_type(name), _banks(banks))
        return out

    def _video_lookup(vpdq: str, banks: list[str] | None) -> dict[str, list[dict[str, Any]]]:
        from haechi.analyzers.pdq import Pdq, PdqFrame
        from haechi.matching.findings import ScannedItem
        from haechi.share.formats import parse_te_vpdq

        frames = tuple(PdqFrame(f.t, f.pdq, f.quality) for f in parse_te_vpdq(vpdq))
        item = ScannedItem("", "", None, Pdq(None, None, frames=frames))
        hits = index().match_item(item, settings.thresholds.pdq_min_quality)
        if any(h.negative for h in hits):
            return {}
        out: dict[str, list[dict[str, Any]]] = {}
        for h in hits:
            if banks is not None and h.bank not in banks:
                continue
            row: dict[str, Any] = {
                "bank_content_id": h.content_id,
                "distance": str(h.distance),
                "tags": list(h.tags),
            }
            if h.signal_type == "vpdq":
                row["query_match_percent"] = round(100 * (h.query_share or 0), 2)
                row["compared_match_percent"] = round(100 * (h.target_share or 0), 2)
            out.setdefault(h.bank, []).append(row)
        return out

    @router.get("/m/raw_lookup")
    def raw_lookup(
        signal: str, signal_type: str, include_distance: bool = False
    ) -> dict[str, list[Any]]:
        """Index matches across every bank, enabled or not (HMA's raw lookup)."""
        st = _signal_type(signal_type)
        idx = index()
        if st == "pdq":
            try:
                (found,) = idx.lookup_pdq([signal], None, all_banks=True)
            except HaechiError as exc:
                raise _problem(exc) from None
            pairs = [(e.content_id, d) for _, e, d in found]
        else:
            pairs = [(e.content_id, 0) for e in idx.exact.get((st, signal.lower()), ())]
        if include_distance:
            return {"matches": [{"bank_content_id": c, "distance": str(d)} for c, d in pairs]}
        return {"matches": [c for c, _ in pairs]}

    @router.post("/m/compare")
    def compare(body: Annotated[dict[str, list[str]], Body()]) -> dict[str, list[Any]]:
        from haechi.matching.pdq import distance

        out: dict[str, list[Any]] = {}
        for name, pair in body.items():
            if _signal_type(name) != "pdq" or len(pair) != 2:
                raise HTTPException(400, f"{name}: compare takes pdq: [hash, hash]")
            try:
                d = distance(pair[0].lower(), pair[1].lower())
            except ValueError as exc:
                raise HTTPException(400, str(exc)) from None
            out[name] = [d <= settings.thresholds.pdq_max_distance, {"distance": d}]
        return out

    @router.get("/m/index/status")
    def index_status() -> dict[str, dict[str, Any]]:
        idx = index()
        sizes = {"pdq": len(idx.pdq_entries), "vpdq": len(idx.videos)}
        for (st, _kind), entries in idx.exact.items():
            key = {"md5": "video_md5", "sha256": "video_sha256"}[st]
            sizes[key] = sizes.get(key, 0) + len(entries)
        return {
            name: {"built_to": int(idx.built_at), "present": True, "size": n}
            for name, n in sizes.items()
        }

    @router.post("/m/feedback")
    def feedback(request: Request, body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        """haechi's addition: a platform says whether a match was right. A rejection banks the
        query's signal in a negative bank (created when missing), so it no longer matches."""
        verdict = str(body.get("verdict", ""))
        if verdict not in ("confirm", "reject"):
            raise HTTPException(400, 'verdict is "confirm" or "reject"')
        bank, content_id = str(body.get("bank", "")), body.get("bank_content_id")
        try:
            svc.get_content(db(), bank, int(content_id))  # type: ignore[arg-type]
        except (HaechiError, TypeError, ValueError) as exc:
            raise HTTPException(404, f"no content {content_id} in bank {bank!r}") from exc
        who = actor(request)
        if verdict == "confirm":
            svc.record_feedback(db(), who, bank, int(content_id), "confirm")  # type: ignore[arg-type]
            return {"bank": bank, "bank_content_id": content_id, "verdict": verdict}
        st = _signal_type(str(body.get("signal_type", "pdq")))
        signal = str(body.get("signal", ""))
        negative = str(body.get("negative_bank") or DEFAULT_NEGATIVE)
        try:
            try:
                nb = svc.get_bank(db(), negative)
                if not nb.negative:
                    raise HTTPException(400, f"bank {negative} is not a negative bank")
            except NotFoundError:
                svc.create_bank(
                    db(),
                    who,
                    negative,
                    negative=True,
                    description="rejected matches",
                    thresholds={"pdq": NEGATIVE_PDQ},
                )
            added = svc.add_contents(
                db(),
                who,
                negative,
                [svc.ContentIn((svc.SignalIn(st, signal),), tags=("feedback",))],
                source=f"feedback:{bank}/{content_id}",
            )
            svc.record_feedback(db(), who, bank, int(content_id), "reject")  # type: ignore[arg-type]
        except HaechiError as exc:
            raise _problem(exc) from None
        return {
            "bank": bank,
            "bank_content_id": content_id,
            "verdict": verdict,
            "negative_bank": negative,
            "negative_content_ids": list(added.content_ids),
        }

    # ------------------------------------------------------------------ curation
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
        return [_bank_json(b) for b in svc.list_banks(db())]

    @router.post("/c/banks", status_code=201)
    def banks_create(request: Request, body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        ratio = body.get("enabled_ratio", body.get("matching_enabled_ratio", 1.0))
        try:
            b = svc.create_bank(
                db(),
                actor(request),
                str(body.get("name", "")),
                negative=bool(body.get("negative", False)),
                thresholds=dict(body.get("thresholds") or {}),
                rollout=float(ratio),
            )
            if body.get("enabled") is False:
                b = svc.update_bank(db(), actor(request), b.name, enabled=False)
        except HaechiError as exc:
            raise _problem(exc) from None
        return _bank_json(b)

    @router.get("/c/bank/{name}")
    def bank_get(name: str) -> dict[str, Any]:
        try:
            return _bank_json(svc.get_bank(db(), name))
        except HaechiError as exc:
            raise _problem(exc) from None

    @router.put("/c/bank/{name}")
    def bank_put(
        request: Request, name: str, body: Annotated[dict[str, Any], Body()]
    ) -> dict[str, Any]:
        ratio = body.get("enabled_ratio", body.get("matching_enabled_ratio"))
        try:
            b = svc.update_bank(
                db(),
                actor(request),
                name,
                enabled=body.get("enabled"),
                rollout=None if ratio is None else float(ratio),
                thresholds=body.get("thresholds"),
                negative=body.get("negative"),
            )
        except HaechiError as exc:
            raise _problem(exc) from None
        return _bank_json(b)

    @router.delete("/c/bank/{name}")
    def bank_delete(request: Request, name: str) -> dict[str, Any]:
        try:
            n = svc.delete_bank(db(), actor(request), name)
        except HaechiError as exc:
            raise _problem(exc) from None
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
    async def content_add(request: Request, name: str) -> dict[str, Any]:
        import json

        form = await request.form()
        ct, upload = _form_file(form)
        meta_raw = form.get("metadata")
        meta: dict[str, Any] = {}
        if isinstance(meta_raw, str) and meta_raw.strip():
            try:
                meta = dict(json.loads(meta_raw))
            except (ValueError, TypeError):
                raise HTTPException(400, "metadata is a JSON object") from None
        signals = await _hash_upload(upload, ct)
        sigs = []
        for k, v in signals.items():
            st = _signal_type(k)
            if st == "vpdq":
                from haechi.share.formats import parse_te_vpdq

                sigs.append(svc.SignalIn("vpdq", frames=parse_te_vpdq(v)))
            else:
                sigs.append(svc.SignalIn(st, v))
        tags = tuple(str(t) for t in (meta.get("json") or {}).get("tags", ()) if t)
        where = str(meta.get("content_uri") or meta.get("content_id") or upload.filename or "")
        try:
            added = svc.add_contents(
                db(),
                actor(request),
                name,
                [svc.ContentIn(tuple(sigs), tags=tags)],
                source=f"api:{where[:255]}",
            )
        except HaechiError as exc:
            raise _problem(exc) from None
        return {"id": (added.content_ids or (None,))[0], "signals": signals}

    @router.post("/c/bank/{name}/signal")
    def signal_add(
        request: Request, name: str, body: Annotated[dict[str, Any], Body()]
    ) -> dict[str, Any]:
        tags = tuple(str(t) for t in body.pop("tags", ()) or ())
        try:
            sigs = []
            for k, v in body.items():
                st = _signal_type(k)
                if st == "vpdq":
                    from haechi.share.formats import parse_te_vpdq

                    sigs.append(svc.SignalIn("vpdq", frames=parse_te_vpdq(str(v))))
                else:
                    sigs.append(svc.SignalIn(st, str(v)))
            if not sigs:
                raise InputError(_('give a signal, e.g. {"pdq": "…"}'))
            added = svc.add_contents(
                db(), actor(request), name, [svc.ContentIn(tuple(sigs), tags=tags)], source="api"
            )
        except HaechiError as exc:
            raise _problem(exc) from None
        return {"id": (added.content_ids or (None,))[0], "signals": body}

    @router.get("/c/bank/{name}/content/{content_id}")
    def content_get(name: str, content_id: int) -> dict[str, Any]:
        try:
            return _content_json(svc.get_content(db(), name, content_id))
        except HaechiError as exc:
            raise _problem(exc) from None

    @router.put("/c/bank/{name}/content/{content_id}")
    def content_put(
        request: Request, name: str, content_id: int, body: Annotated[dict[str, Any], Body()]
    ) -> dict[str, Any]:
        ts = body.get("disable_until_ts")
        if ts is None:
            raise HTTPException(400, "give disable_until_ts: 0 (disabled) or 1 (enabled)")
        enabled = ts == 1 or (ts not in (0, 1) and float(ts) <= time.time())
        try:
            c = svc.set_content_enabled(db(), actor(request), name, content_id, enabled)
        except HaechiError as exc:
            raise _problem(exc) from None
        return _content_json(c)

    @router.delete("/c/bank/{name}/content/{content_id}")
    def content_delete(request: Request, name: str, content_id: int) -> dict[str, Any]:
        try:
            svc.delete_content(db(), actor(request), name, content_id)
        except HaechiError as exc:
            raise _problem(exc) from None
        return {"deleted": content_id}

    @router.get("/c/bank/{name}/content")
    def content_list(
        name: str,
        after: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> JSONResponse:
        try:
            rows = svc.contents(db(), name, after=after, limit=limit)
        except HaechiError as exc:
            raise _problem(exc) from None
        return JSONResponse([_content_json(c) for c in rows])

    return router


def _banks(banks: str | None) -> list[str] | None:
    if not banks:
        return None
    return [b.strip() for b in banks.split(",") if b.strip()]
