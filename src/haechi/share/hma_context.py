"""What the HMA-compatible routers share: the settings, the database, the bank index (kept
fresh without a query per lookup), the caller's name, uploads hashed in memory, and the
mapping of HMA's names and errors onto haechi's."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import HTTPException, Request, UploadFile

from haechi.config import Settings
from haechi.errors import HaechiError, NotFoundError
from haechi.services import banks as svc
from haechi.store.db import Database

if TYPE_CHECKING:
    from haechi.matching.banks import BankIndex

CONTENT_TYPES = ("photo", "video")
HMA_TYPES = {"pdq": "pdq", "video_md5": "md5", "md5": "md5", "sha256": "sha256"}
HMA_TYPES |= {"video_sha256": "sha256", "vpdq": "vpdq"}
# The bank index is checked against the database at most this often per server process: a
# bank changed by another process (the CLI, another `serve --processes` worker) is matched
# within this time, one changed through this process at once. A lookup then costs no query;
# the check cost ~0.4 ms, a third of a lookup. (HMA itself rebuilds its index on a schedule.)
INDEX_RECHECK_SECONDS = 1.0


@dataclass
class HmaContext:
    """One router's state: built once per app, shared by its routes and threads."""

    settings: Settings
    _db: Database | None = None
    _index: BankIndex | None = None
    _fresh_until: float = 0.0

    def db(self) -> Database:
        """The database, opened on first use (the router is built before the app starts)."""
        if self._db is None:
            self._db = Database(self.settings)
        return self._db

    def index_is_fresh(self) -> bool:
        """Whether index() answers from memory, without a query (cheap enough for the loop)."""
        return self._index is not None and time.monotonic() < self._fresh_until

    def index(self) -> BankIndex:
        """The bank index, rebuilt only when a bank or its contents changed."""
        from haechi.matching.banks import current

        if self._index is not None and self.index_is_fresh():
            return self._index
        now = time.monotonic()
        with self.db().session() as s:
            index = current(s, self.settings, self.db().url)
        self._index, self._fresh_until = index, now + INDEX_RECHECK_SECONDS
        return index

    def changed(self) -> None:
        """A bank was changed through this router: the next lookup checks the database."""
        self._fresh_until = 0.0

    @staticmethod
    def actor(request: Request) -> str:
        """Who the custody log records: the signed-in account the app set, or "api"."""
        return str(getattr(request.state, "actor", None) or "api")

    async def hash_upload(self, upload: UploadFile, content_type: str) -> dict[str, str]:
        """Signals of an uploaded file, computed in memory (the bytes are dropped after)."""
        from haechi.analyzers.pdq import PdqAnalyzer
        from haechi.media import BytesContent, decode_media

        limit = self.settings.limits.max_file_bytes
        data = await upload.read(limit + 1)
        if len(data) > limit:
            raise HTTPException(413, f"the file is over the limit of {limit} bytes")
        name = upload.filename or "upload"
        try:
            media = decode_media(BytesContent(data, name), self.settings.limits)
            pdq = PdqAnalyzer(self.settings).analyze(media)
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


def form_file(form: Any) -> tuple[str, UploadFile]:
    """The one file of an HMA multipart upload, in a field named for its content type."""
    for ct in CONTENT_TYPES:
        f = form.get(ct)
        if f is not None and hasattr(f, "read"):
            return ct, f
    raise HTTPException(400, "send one file in a multipart field named photo or video")


def problem(exc: HaechiError) -> HTTPException:
    """haechi's refusal as HMA's answer: 404 for what does not exist, 400 for the rest."""
    status = 404 if isinstance(exc, NotFoundError) else 400
    return HTTPException(status, str(exc))


def no_urls(url: str | None) -> None:
    """Refuse HMA's `url=` parameter: fetching it would tell a file's author it is examined."""
    if url:
        raise HTTPException(
            400, "haechi never fetches media from a URL; POST the file (multipart) instead"
        )


def checked_type(name: str) -> str:
    """haechi's signal type for an HMA name (pdq, video_md5, …); 400 for an unknown one."""
    st = HMA_TYPES.get(name.strip().lower())
    if st is None:
        raise HTTPException(400, f"signal_type {name!r}: one of {', '.join(sorted(HMA_TYPES))}")
    return st


def bank_names(banks: str | None) -> list[str] | None:
    """The banks a lookup is limited to (HMA's comma-separated `banks=`), or None for all."""
    if not banks:
        return None
    return [b.strip() for b in banks.split(",") if b.strip()]
