"""One page of a Telegram Desktop HTML export, parsed: the standard library's tolerant HTML
parser fed in chunks, turning the page's nested blocks into pending messages (text, author,
media, replies, forwards) within the reading limits."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from haechi.config import Limits

_GO_TO = re.compile(r"go_to_message(-?\d+)")
_MESSAGE_ID = re.compile(r"message(-?\d+)$")
_VOID_TAGS = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    }
)
_WRAP_TYPES = {
    "photo_wrap": "photo",
    "video_file_wrap": "video_file",
    "animated_wrap": "animation",
    "sticker_wrap": "sticker",
}
_GENERIC_TYPES = {
    "media_photo": "photo",
    "media_video": "video_file",
    "media_voice_message": "voice_message",
    "media_audio_file": "audio_file",
    "media_file": "file",
    "media_contact": "contact_vcard",
}
_NO_FILE = re.compile(r"not included|exceeds maximum size|unavailable", re.IGNORECASE)
_BR = "\x00"


def _is_global(href: str) -> bool:
    """A URL with a scheme (media links to maps etc. are not files)."""
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", href))


def _is_web_link(href: str) -> bool:
    """Links worth reporting from message text (not mailto:/tel:/relative)."""
    return bool(re.match(r"^(?:https?|tg|ftp)://", href, re.IGNORECASE))


class Pending:
    """A message block being collected."""

    def __init__(self, message_id: int, service: bool, line: int, depth: int) -> None:
        self.id = message_id
        self.service = service
        self.line = line
        self.depth = depth
        self.joined = False
        self.date_title: str | None = None
        self.author: list[str] | None = None
        self.via: str | None = None
        self.forwarded = False
        self.forward_name: list[str] | None = None
        self.reply_to: int | None = None
        self.text: list[str] | None = None
        self.links: list[str] = []
        self.media: list[tuple[str | None, str | None, bool]] = []  # href, type, missing
        self.service_text: list[str] = []
        self.size = 0  # bytes of text and attributes seen inside the block
        self.refused: str | None = None  # over a limit: reported instead of read


class _Capture:
    """An element whose text is being collected, and where to."""

    __slots__ = ("depth", "kind", "target")

    def __init__(self, depth: int, target: list[str], kind: str) -> None:
        self.depth = depth
        self.target = target
        self.kind = kind


class HtmlPageParser(HTMLParser):
    """One `messages*.html` page, fed in chunks: each finished message lands in `done` (with
    its last line), in page order, problems in `errors`; a message beyond the depth or size
    limits is refused with the reason."""

    def __init__(self, limits: Limits) -> None:
        super().__init__(convert_charrefs=True)
        # Bounds: without them nesting costs time and memory with its square (every open
        # capture collects every text; every stray end tag searches the whole stack).
        self.max_depth = limits.max_export_depth
        self.max_message = limits.max_export_message_bytes
        self.too_deep_reported = False
        self.stack: list[tuple[str, frozenset[str]]] = []
        self.done: list[tuple[Pending, int]] = []
        self.errors: list[tuple[int, str]] = []
        self.title_parts: list[str] | None = None
        self.title: str | None = None
        self.pending: Pending | None = None
        self.captures: list[_Capture] = []
        self.skip_depth: int | None = None  # inside a span.date of a forwarded name
        self.forward_depth: int | None = None
        self.generic: tuple[int, str | None, str | None, list[str]] | None = None
        self.anchor: tuple[int, str, list[str], int] | None = None  # link in div.text

    # -- helpers ---------------------------------------------------------
    def _in_class(self, name: str) -> bool:
        return any(name in classes for _tag, classes in self.stack)

    def refuse(self, reason: str) -> None:
        """The open message is over a limit: it is reported, not read (outside a message the
        excess is only reported, once a page)."""
        pending = self.pending
        if pending is not None:
            if pending.refused is None:
                pending.refused = reason
            self.captures = []
        elif not self.too_deep_reported:
            self.too_deep_reported = True
            self.errors.append((self.getpos()[0], f"{reason}; ignored"))

    def _count(self, size: int) -> None:
        pending = self.pending
        if pending is not None and pending.refused is None:
            pending.size += size
            if pending.size > self.max_message:
                self.refuse(f"message is over {self.max_message} bytes")

    def _finish(self) -> None:
        pending = self.pending
        if pending is not None:
            self.done.append((pending, self.getpos()[0]))
        self.pending = None
        self.captures = []
        self.skip_depth = None
        self.forward_depth = None
        self.generic = None
        self.anchor = None

    # -- HTMLParser interface --------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Open an element: starts a message block, a field capture (text, author, media …) or
        nested structure within it; past the depth limit the message is refused."""
        attr = {k: (v or "") for k, v in attrs}
        classes = frozenset(attr.get("class", "").split())
        if tag == "br":
            for capture in self.captures:
                if self.skip_depth is None:
                    capture.target.append(_BR)
            return
        if tag in _VOID_TAGS:
            return
        if len(self.stack) >= self.max_depth:
            self.refuse(f"nested deeper than {self.max_depth} levels")
            return
        self._count(sum(len(k) + len(v) for k, v in attr.items()))
        self.stack.append((tag, classes))
        depth = len(self.stack)
        pending = self.pending

        if pending is None:
            if tag == "div" and "message" in classes:
                match = _MESSAGE_ID.match(attr.get("id", ""))
                if match is None:
                    self.errors.append((self.getpos()[0], "message block without a numeric id"))
                    return
                self.pending = Pending(
                    int(match.group(1)), "service" in classes, self.getpos()[0], depth
                )
                self.pending.joined = "joined" in classes
            elif self.title is None and "text" in classes and self._in_class("page_header"):
                self.title_parts = []
                self.captures.append(_Capture(depth, self.title_parts, "title"))
            return

        if tag == "div" and "message" in classes and _MESSAGE_ID.match(attr.get("id", "")):
            # previous block was never closed (broken HTML): close it now
            self.stack.pop()
            self._finish()
            self.handle_starttag(tag, attrs)
            return
        if pending.refused is not None:
            return

        if tag == "span" and "date" in classes and self.forward_depth is not None:
            self.skip_depth = depth
            return
        if pending.service:
            if "body" in classes and "details" in classes:
                self.captures.append(_Capture(depth, pending.service_text, "service"))
            elif tag == "a" and "userpic_link" in classes:
                pending.media.append((attr.get("href"), "photo", False))
            elif tag == "a":  # "pinned this message", "scored ... in this game"
                match = _GO_TO.search(attr.get("href", ""))
                if match and pending.reply_to is None:
                    pending.reply_to = int(match.group(1))
            return

        if tag == "div" and "date" in classes and "details" in classes and "title" in attr:
            if pending.date_title is None:
                pending.date_title = attr.get("title") or ""
        elif tag == "div" and "forwarded" in classes and "body" in classes:
            pending.forwarded = True
            self.forward_depth = depth
        elif tag == "div" and "from_name" in classes:
            parts: list[str] = []
            if self.forward_depth is not None:
                pending.forward_name = parts
            else:
                pending.author = parts
            self.captures.append(_Capture(depth, parts, "name"))
        elif tag == "div" and "reply_to" in classes:
            self.captures.append(_Capture(depth, [], "reply"))
        elif tag == "div" and "text" in classes and self.generic is None:
            pending.text = []
            self.captures.append(_Capture(depth, pending.text, "text"))
        elif tag == "a" and classes & _WRAP_TYPES.keys():
            kind = next(_WRAP_TYPES[c] for c in classes if c in _WRAP_TYPES)
            pending.media.append((attr.get("href"), kind, False))
        elif "media" in classes and tag in ("a", "div") and self.generic is None:
            generic_kind = next((_GENERIC_TYPES[c] for c in classes if c in _GENERIC_TYPES), None)
            href = attr.get("href") if tag == "a" else None
            self.generic = (depth, href, generic_kind, [])
        elif tag == "div" and "description" in classes and self.generic is not None:
            self.captures.append(_Capture(depth, self.generic[3], "description"))
        elif tag == "a":
            href = attr.get("href", "")
            for capture in self.captures:
                if capture.kind == "reply":
                    match = _GO_TO.search(href) or _GO_TO.search(attr.get("onclick", ""))
                    if match:
                        pending.reply_to = int(match.group(1))
                elif capture.kind == "text" and _is_web_link(href) and self.anchor is None:
                    self.anchor = (depth, href, capture.target, len(capture.target))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """A self-closed tag (`<div/>`) is opened and closed at once unless it is a void element."""
        self.handle_starttag(tag, attrs)
        if tag not in _VOID_TAGS:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        """Close the nearest open element of this tag and all inside it (stray end tags are
        ignored), ending the fields and message they held."""
        if tag in _VOID_TAGS:
            return
        # tolerant: pop up to the nearest matching open tag, ignore strays
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                break
        else:
            return
        while len(self.stack) > index:
            depth = len(self.stack)
            self.stack.pop()
            self._closed(depth)

    def _closed(self, depth: int) -> None:
        if self.skip_depth is not None and depth <= self.skip_depth:
            self.skip_depth = None
        while self.captures and self.captures[-1].depth >= depth:
            capture = self.captures.pop()
            if capture.kind == "title":
                self.title = clean_text(capture.target)
                self.title_parts = None
        if self.generic is not None and depth <= self.generic[0]:
            _gdepth, href, kind, description = self.generic
            pending = self.pending
            if pending is not None:
                if href and not _is_global(href):
                    pending.media.append((href, kind, False))
                elif not href and _NO_FILE.search("".join(description)):
                    pending.media.append((None, kind, True))
            self.generic = None
        if self.anchor is not None and depth <= self.anchor[0]:
            _adepth, href, parts, start = self.anchor
            label = "".join(parts[start:]).strip()
            # "@name" mentions are rendered as links to the user; the JSON
            # export has no URL for them, so they are not reported either
            is_mention = label.startswith("@") and href.rstrip("/").endswith("/" + label[1:])
            if self.pending is not None and not is_mention and href not in self.pending.links:
                self.pending.links.append(href)
            self.anchor = None
        if self.forward_depth is not None and depth <= self.forward_depth:
            self.forward_depth = None
        if self.pending is not None and depth <= self.pending.depth:
            self._finish()

    def handle_data(self, data: str) -> None:
        """Text goes to every open field capture, and counts towards the message size limit."""
        self._count(len(data))
        if self.skip_depth is not None:
            return
        for capture in self.captures:
            capture.target.append(data)

    def close_all(self) -> None:
        """End the page: flush the parser and finish a message left open, reported as not closed."""
        self.close()
        if self.pending is not None:
            self.errors.append((self.pending.line, "message block not closed at end of file"))
            self._finish()


def clean_text(parts: list[str]) -> str:
    """Rendered text of a block: raw newlines/indentation are layout only
    (tdesktop encodes real line breaks as <br>)."""
    raw = "".join(parts)
    raw = re.sub(r"[ \t]*[\r\n]+[ \t]*", "\n", raw).strip()
    raw = raw.replace("\n", " ")
    return raw.replace(_BR, "\n").strip(" ")
