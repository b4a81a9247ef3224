"""Reader of Telegram Desktop HTML exports (`messages*.html`), fed to the standard library's
tolerant HTML parser in chunks. HTML carries less than JSON: no chat or user ids, no chat type,
no edit times; service messages have no time of their own."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any

from haechi.config import Limits
from haechi.sources.chat import ChatMedia, ChatMessage, ChatRoom
from haechi.sources.tdesktop.common import Context, discard, emit_allowed
from haechi.sources.tdesktop.html_page import HtmlPageParser, Pending, clean_text
from haechi.sources.tdesktop.types import READ_SIZE, ExportInfo

_HTML_DATE = re.compile(
    r"(\d{1,2})\.(\d{1,2})\.(\d{4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?"
    r"(?:\s*UTC\s*(?:([+-])(\d{1,2}):?(\d{2}))?)?"
)
_DAY_HEADER = re.compile(r"(\d{1,2})\s+([A-Za-z]+)\s+(\d{4})")
_MONTHS = {
    m: i
    for i, m in enumerate(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ],
        start=1,
    )
}
_VIA = re.compile(r"\s+via\s+@(\S+)\s*$")


class HtmlReader:
    """Every message of an HTML export's chats, page after page, as `ChatMessage`s (problems
    reported through the context), after the ids already stored when `after` is given."""

    def __init__(
        self,
        ctx: Context,
        info: ExportInfo,
        after: Mapping[str, int] | None,
        limits: Limits | None = None,
    ) -> None:
        self.ctx = ctx
        self.info = info
        self.after = after
        self.limits = limits or Limits()

    def run(self) -> Iterator[ChatMessage]:
        """The messages of every chat folder, in page order."""
        by_folder: dict[Path, list[Path]] = {}
        for page in self.info.files:
            by_folder.setdefault(page.parent, []).append(page)
        for folder, pages in by_folder.items():
            yield from self._chat(folder, pages)

    def _bound_buffer(self, parser: HtmlPageParser) -> None:
        """HTMLParser keeps an unfinished tag or comment and re-scans it from its start on every
        feed (quadratic: a 50 MB attribute took 110 s). Past the limit it is dropped."""
        limit = self.limits.max_export_string_bytes
        if len(parser.rawdata) > limit:
            parser.rawdata = ""
            parser.refuse(f"a tag, comment or text over {limit} bytes")

    def _room_id(self, folder: Path) -> str:
        try:
            rel = folder.relative_to(self.info.root).as_posix()
        except ValueError:
            rel = folder.name
        return rel

    def _date(self, title: str) -> datetime | None:
        match = _HTML_DATE.search(title)
        if match is None:
            return None
        day, month, year, hour, minute = (int(match.group(i)) for i in range(1, 6))
        second = int(match.group(6) or 0)
        tz: tzinfo
        if match.group(8) is not None:
            offset = timedelta(hours=int(match.group(8)), minutes=int(match.group(9)))
            tz = timezone(-offset if match.group(7) == "-" else offset)
        elif "UTC" in title[match.start() : match.end()]:
            tz = UTC
        else:
            tz = self.ctx.local_tz
        return datetime(year, month, day, hour, minute, second, tzinfo=tz).astimezone(UTC)

    def _chat(self, folder: Path, pages: list[Path]) -> Iterator[ChatMessage]:
        room: ChatRoom | None = None
        room_id = self._room_id(folder)
        state: dict[str, Any] = {
            "author": None,
            "via": None,
            "forward": None,
            "last_date": None,
        }
        for page in pages:
            parser = HtmlPageParser(self.limits)
            try:
                with page.open("r", encoding="utf-8", errors="replace") as handle:
                    while True:
                        chunk = handle.read(READ_SIZE)
                        if not chunk:
                            parser.close_all()
                        else:
                            parser.feed(chunk)
                            self._bound_buffer(parser)
                        if room is None and (parser.title is not None or not chunk or parser.done):
                            room = ChatRoom(room_id, parser.title or "", "")
                        for line, reason in parser.errors:
                            self.ctx.problem(page, f"line {line}", reason)
                        parser.errors.clear()
                        for pending, _end_line in parser.done:
                            assert room is not None
                            # skipped (already seen) messages still update the
                            # author/forward state that joined messages inherit
                            wanted = emit_allowed(self.after, room, pending.id)
                            message = self._convert(pending, room, page, state, wanted)
                            if message is not None and wanted:
                                yield message
                        parser.done.clear()
                        if not chunk:
                            break
            except OSError as exc:
                self.ctx.problem(page, "line 0", f"cannot read: {exc}")
            except Exception as exc:  # report, keep going with the next page
                self.ctx.problem(page, f"line {parser.getpos()[0]}", f"HTML parse failure: {exc}")

    def _convert(
        self, p: Pending, room: ChatRoom, page: Path, state: dict[str, Any], wanted: bool
    ) -> ChatMessage | None:
        where = f"line {p.line} (message {p.id})"
        if p.refused is not None:
            if wanted:
                self.ctx.problem(page, where, f"{p.refused}; skipped")
            return None
        ctx = self.ctx if wanted else Context(self.info.root, discard, self.ctx.local_tz)
        if p.id < 0:
            # date separator ("12 March 2024"): keeps service message dates sane
            match = _DAY_HEADER.search(clean_text(p.service_text))
            if match and match.group(2).lower() in _MONTHS:
                try:
                    day = datetime(
                        int(match.group(3)),
                        _MONTHS[match.group(2).lower()],
                        int(match.group(1)),
                        tzinfo=self.ctx.local_tz,
                    ).astimezone(UTC)
                except ValueError:
                    return None
                if state["last_date"] is None or day > state["last_date"]:
                    state["last_date"] = day
            return None

        media = tuple(
            ctx.media(href, page.parent, kind, None, file=page, position=where)
            if href is not None
            else ChatMedia(None, kind, None, "not_included" if missing else "present")
            for href, kind, missing in p.media
        )
        if p.service:
            date = state["last_date"]
            if date is None:
                ctx.problem(page, where, "service message before any dated message; skipped")
                return None
            text = clean_text(p.service_text)
            return ChatMessage(
                room=room,
                id=p.id,
                kind="service",
                date=date,
                edited=None,
                author_id=None,
                author_name=None,
                forwarded_from=None,
                saved_from=None,
                reply_to=p.reply_to,
                via_bot=None,
                text=text,
                links=(),
                media=media,
                action=None,
                members=(),
                reactions=0,
            )

        date = self._date(p.date_title or "")
        if date is None:
            ctx.problem(page, where, f"unparsable date {p.date_title!r}; skipped")
            return None
        state["last_date"] = date

        if p.author is not None:
            name = clean_text(p.author)
            via_match = _VIA.search(name)
            via = None
            if via_match:
                via = "@" + via_match.group(1)
                name = name[: via_match.start()].rstrip()
            state["author"], state["via"] = name, via
        forwarded_from: str | None = None
        if p.forwarded:
            if p.forward_name is not None:
                fname = clean_text(p.forward_name)
                via_match = _VIA.search(fname)
                if via_match:
                    state["via"] = "@" + via_match.group(1)
                    fname = fname[: via_match.start()].rstrip()
                state["forward"] = fname
            forwarded_from = state["forward"]
        elif p.author is not None:
            state["forward"] = None

        return ChatMessage(
            room=room,
            id=p.id,
            kind="message",
            date=date,
            edited=None,
            author_id=None,
            author_name=state["author"],
            forwarded_from=forwarded_from,
            saved_from=None,
            reply_to=p.reply_to,
            via_bot=state["via"],
            text=clean_text(p.text) if p.text is not None else "",
            links=tuple(p.links),
            media=media,
            action=None,
            members=(),
            reactions=0,
        )
