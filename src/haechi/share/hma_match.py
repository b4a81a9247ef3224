"""HMA's hasher (`/h`) and matcher (`/m`): hash an uploaded file in memory, look a signal up in
the banks (PDQ within each bank's threshold, exact MD5/SHA-256, vPDQ by frame share), compare
two hashes, the index's status, and haechi's `/m/feedback`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse

from haechi.errors import HaechiError, NotFoundError
from haechi.services import banks as svc
from haechi.share.hma_context import (
    HmaContext,
    bank_names,
    checked_type,
    form_file,
    no_urls,
    problem,
)

DEFAULT_NEGATIVE = "FALSE_POSITIVES"
# A rejected match suppresses only what is close to it: at PDQ's usual 31 it would also hide
# copies of the banked picture (a false positive sits up to 31 bits from it).
NEGATIVE_PDQ = 8


def build_match_router(ctx: HmaContext) -> APIRouter:
    """The hashing and matching routes over `ctx`."""
    router = APIRouter()

    @router.get("/status", response_class=PlainTextResponse)
    def status() -> str:
        return "I-AM-ALIVE"

    @router.get("/h/hash")
    def hash_get(url: str | None = None) -> dict[str, str]:
        no_urls(url)
        raise HTTPException(400, "POST a file to /h/hash (multipart field photo or video)")

    @router.post("/h/hash")
    async def hash_post(request: Request, types: str | None = None) -> dict[str, str]:
        ct, upload = form_file(await request.form())
        got = await ctx.hash_upload(upload, ct)
        if types:
            wanted = {t.strip() for t in types.split(",")}
            got = {k: v for k, v in got.items() if k in wanted}
        return got

    def _lookup(signal: str, st: str, banks: list[str] | None) -> dict[str, list[dict[str, Any]]]:
        idx = ctx.index()
        if st == "pdq":
            try:
                (found,) = idx.lookup_pdq([signal], banks)
            except HaechiError as exc:
                raise problem(exc) from None
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
    async def lookup_get(
        signal: str | None = None,
        signal_type: str | None = None,
        banks: str | None = None,
        url: str | None = None,
    ) -> dict[str, list[dict[str, Any]]]:
        no_urls(url)
        if not signal or not signal_type:
            raise HTTPException(400, "give signal and signal_type (or POST a file)")
        # In the event loop: the index in memory answers in well under a millisecond, and two
        # hops to a thread cost more than that. A check against the database goes to a thread.
        if not ctx.index_is_fresh():
            await run_in_threadpool(ctx.index)
        return _lookup(signal, checked_type(signal_type), bank_names(banks))

    @router.post("/m/lookup")
    async def lookup_post(
        request: Request, banks: str | None = None
    ) -> dict[str, dict[str, list[dict[str, Any]]]]:
        ct, upload = form_file(await request.form())
        signals = await ctx.hash_upload(upload, ct)
        if not ctx.index_is_fresh():
            await run_in_threadpool(ctx.index)
        out: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for name, value in signals.items():
            if name == "vpdq":
                out[name] = _video_lookup(value, bank_names(banks))
            else:
                out[name] = _lookup(value, checked_type(name), bank_names(banks))
        return out

    def _video_lookup(vpdq: str, banks: list[str] | None) -> dict[str, list[dict[str, Any]]]:
        from haechi.analyzers.pdq import Pdq, PdqFrame
        from haechi.matching.findings import ScannedItem
        from haechi.share.formats import parse_te_vpdq

        frames = tuple(PdqFrame(f.t, f.pdq, f.quality) for f in parse_te_vpdq(vpdq))
        item = ScannedItem("", "", None, Pdq(None, None, frames=frames))
        hits = ctx.index().match_item(item, ctx.settings.thresholds.pdq_min_quality)
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
        st = checked_type(signal_type)
        idx = ctx.index()
        if st == "pdq":
            try:
                (found,) = idx.lookup_pdq([signal], None, all_banks=True)
            except HaechiError as exc:
                raise problem(exc) from None
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
            if checked_type(name) != "pdq" or len(pair) != 2:
                raise HTTPException(400, f"{name}: compare takes pdq: [hash, hash]")
            try:
                d = distance(pair[0].lower(), pair[1].lower())
            except ValueError as exc:
                raise HTTPException(400, str(exc)) from None
            out[name] = [d <= ctx.settings.thresholds.pdq_max_distance, {"distance": d}]
        return out

    @router.get("/m/index/status")
    def index_status() -> dict[str, dict[str, Any]]:
        idx = ctx.index()
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
            svc.get_content(ctx.db(), bank, int(content_id))  # type: ignore[arg-type]
        except (HaechiError, TypeError, ValueError) as exc:
            raise HTTPException(404, f"no content {content_id} in bank {bank!r}") from exc
        who = ctx.actor(request)
        if verdict == "confirm":
            svc.record_feedback(ctx.db(), who, bank, int(content_id), "confirm")  # type: ignore[arg-type]
            return {"bank": bank, "bank_content_id": content_id, "verdict": verdict}
        st = checked_type(str(body.get("signal_type", "pdq")))
        signal = str(body.get("signal", ""))
        negative = str(body.get("negative_bank") or DEFAULT_NEGATIVE)
        try:
            try:
                nb = svc.get_bank(ctx.db(), negative)
                if not nb.negative:
                    raise HTTPException(400, f"bank {negative} is not a negative bank")
            except NotFoundError:
                svc.create_bank(
                    ctx.db(),
                    who,
                    negative,
                    negative=True,
                    description="rejected matches",
                    thresholds={"pdq": NEGATIVE_PDQ},
                )
            added = svc.add_contents(
                ctx.db(),
                who,
                negative,
                [svc.ContentIn((svc.SignalIn(st, signal),), tags=("feedback",))],
                source=f"feedback:{bank}/{content_id}",
            )
            svc.record_feedback(ctx.db(), who, bank, int(content_id), "reject")  # type: ignore[arg-type]
        except HaechiError as exc:
            raise problem(exc) from None
        finally:
            ctx.changed()
        return {
            "bank": bank,
            "bank_content_id": content_id,
            "verdict": verdict,
            "negative_bank": negative,
            "negative_content_ids": list(added.content_ids),
        }

    return router
