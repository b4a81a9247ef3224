"""Telegram references in text, links and pages: t.me / telegram.me / telegram.dog links, tg://
links, invite links (t.me/+…, t.me/joinchat/…) and @usernames, each normalised to one key so a
room advertised as "@Backup_Room", "t.me/backup_room/12" and "t . me / backup_room" is one lead.

Usernames are case-insensitive on Telegram (the key is lowercased); invite hashes are not (kept
as written). Links to a private channel by id (t.me/c/123/4) name a room by its id only. Nothing
here fetches anything."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import parse_qs, unquote, urlsplit

from haechi.errors import InputError
from haechi.i18n import _

# Paths of t.me that are Telegram's own pages, not rooms.
_RESERVED = frozenset(
    {
        "joinchat", "addstickers", "addemoji", "addtheme", "addlist", "setlanguage",
        "confirmphone", "giftcode", "share", "proxy", "socks", "login", "boost", "contact",
        "invoice", "iv",
    }
)  # fmt: skip
_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")
_INVITE = re.compile(r"[A-Za-z0-9_-]{8,64}")
# "t.me/x", "https://telegram.me/x", and the spaced-out "t . me / x" rooms use against filters.
_TME = re.compile(
    r"(?:https?://)?(?:www\.)?(?<![\w.])(?:t|telegram)\s?[.。]\s?(?:me|dog)\s?/\s?([^\s<>\"'()\[\]{}]+)",
    re.IGNORECASE,
)
_TG = re.compile(r"tg://(?:resolve|join)\?[^\s<>\"']+", re.IGNORECASE)
# "@name": not an e-mail address (a word character before) nor a domain (".com" after).
_MENTION = re.compile(r"(?<![\w@./])@([A-Za-z][A-Za-z0-9_]{3,31})(?![\w@]|\.[A-Za-z])")


@dataclass(frozen=True)
class TelegramRef:
    """A room or account named somewhere. `key` is the lead's identity: "@name" (a public
    username, lowercased), "+hash" (an invite link) or "c/123" (a private channel by id)."""

    key: str
    kind: str  # public | invite | private
    url: str

    @property
    def username(self) -> str | None:
        """The public username without its @ (lowercased), or None for an invite link or a
        private channel."""
        return self.key[1:] if self.kind == "public" else None


def _public(name: str) -> TelegramRef | None:
    if not _USERNAME.fullmatch(name) or name.endswith("_") or name.lower() in _RESERVED:
        return None
    low = name.lower()
    return TelegramRef("@" + low, "public", f"https://t.me/{low}")


def _invite(code: str) -> TelegramRef | None:
    if not _INVITE.fullmatch(code):
        return None
    return TelegramRef("+" + code, "invite", f"https://t.me/+{code}")


def ref_from_path(path: str) -> TelegramRef | None:
    """The room a t.me path names: "name", "name/12", "s/name", "+hash", "joinchat/hash",
    "c/123/4"; None for Telegram's own pages and anything else."""
    parts = [p for p in unquote(path).split("?", 1)[0].split("#", 1)[0].split("/") if p]
    if not parts:
        return None
    head = parts[0]
    if head.startswith("+") or head.startswith(" "):
        return _invite(head.lstrip("+ "))
    if head.lower() == "joinchat" and len(parts) > 1:
        return _invite(parts[1])
    if head.lower() == "s" and len(parts) > 1:
        return _public(parts[1])
    if head.lower() == "c" and len(parts) > 1 and parts[1].isdigit():
        return TelegramRef(f"c/{parts[1]}", "private", f"https://t.me/c/{parts[1]}")
    return _public(head)


def ref_from_url(url: str) -> TelegramRef | None:
    """A Telegram link as a reference, or None when the URL is not one."""
    url = url.strip()
    if url.lower().startswith("tg://"):
        query = parse_qs(urlsplit(url).query)
        if "domain" in query:
            return _public(query["domain"][0])
        if "invite" in query:
            return _invite(query["invite"][0])
        return None
    m = _TME.fullmatch(url.rstrip(".,!;:"))
    if m is None:
        return None
    return ref_from_path(re.sub(r"\s", "", m.group(1)))


def refs_in_text(text: str) -> Iterator[TelegramRef]:
    """Every reference a line of text makes, in order, repeats included."""
    found: list[tuple[int, TelegramRef]] = []
    covered: list[tuple[int, int]] = []
    for m in _TME.finditer(text):
        ref = ref_from_path(re.sub(r"\s", "", m.group(1)).rstrip(".,!;:"))
        covered.append(m.span())
        if ref is not None:
            found.append((m.start(), ref))
    for m in _TG.finditer(text):
        ref = ref_from_url(m.group(0))
        covered.append(m.span())
        if ref is not None:
            found.append((m.start(), ref))
    # An @ inside a link already read is not a mention of its own. Spans are looked up by
    # bisection: a page naming 20,000 links took 24 s when each mention scanned them all.
    covered.sort()
    starts = [a for a, _b in covered]
    for m in _MENTION.finditer(text):
        at = bisect_right(starts, m.start()) - 1
        if at >= 0 and m.start() < covered[at][1]:
            continue
        ref = _public(m.group(1))
        if ref is not None:
            found.append((m.start(), ref))
    for _pos, ref in sorted(found, key=lambda f: f[0]):
        yield ref


def refs_in(text: str, links: Iterable[str] = ()) -> list[TelegramRef]:
    """A message's references: its text and the links its entities carry, each key once."""
    seen: dict[str, TelegramRef] = {}
    for ref in refs_in_text(text):
        seen.setdefault(ref.key, ref)
    for link in links:
        linked = ref_from_url(link)
        if linked is not None:
            seen.setdefault(linked.key, linked)
    return list(seen.values())


def parse_lead(value: str) -> TelegramRef:
    """A lead as a person types it: "@name", "name", "t.me/name", a full link or an invite."""
    value = value.strip()
    ref: TelegramRef | None = ref_from_url(value)
    if ref is None and value.startswith("@"):
        ref = _public(value[1:])
    if ref is None and value.startswith("+"):
        ref = _invite(value[1:])
    if ref is None:
        ref = _public(value)
    if ref is None:
        raise InputError(
            _("{value}: not a Telegram username, t.me link or invite link").format(value=value)
        )
    return ref


@dataclass(frozen=True)
class PageRef:
    """A reference on a captured page, with the post it sits in when the page is a Telegram
    preview (t.me/s/NAME marks each post with data-post="name/123")."""

    ref: TelegramRef
    post: str | None  # "name/123"
    excerpt: str


_BLOCK = frozenset(
    {"p", "div", "li", "tr", "td", "h1", "h2", "h3", "h4", "section", "article", "header",
     "footer", "blockquote"}
)  # fmt: skip


class _PageReader(HTMLParser):
    """Links and visible text of a page, per Telegram post where the page has them."""

    _SKIP = frozenset({"script", "style", "noscript", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[str | None, list[str], list[str]]] = [(None, [], [])]
        self.post_depth: list[int] = []
        self.depth = 0
        self.skip = 0
        self.title_parts: list[str] = []
        self.in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in self._SKIP:
            self.skip += 1
        if tag == "title":
            self.in_title = True
        if tag in ("br", "img", "meta", "link", "input", "hr", "source", "wbr"):
            if tag == "br":
                self.blocks[-1][1].append("\n")
            return
        self.depth += 1
        post = a.get("data-post")
        if post:
            self.post_depth.append(self.depth)
            self.blocks.append((post, [], []))
        href = a.get("href")
        if tag == "a" and href:
            self.blocks[-1][2].append(href)
        if tag in _BLOCK:
            self.blocks[-1][1].append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self.skip:
            self.skip -= 1
        if tag == "title":
            self.in_title = False
        if tag in ("br", "img", "meta", "link", "input", "hr", "source", "wbr"):
            return
        if tag in _BLOCK:
            self.blocks[-1][1].append("\n")
        if self.post_depth and self.post_depth[-1] == self.depth:
            self.post_depth.pop()
            self.blocks.append((None, [], []))  # text after the post belongs to the page
        self.depth = max(0, self.depth - 1)

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title_parts.append(data)
        elif not self.skip:
            self.blocks[-1][1].append(data)


@dataclass(frozen=True)
class PageText:
    """What a captured page says: its title, its visible text one paragraph a line, and the
    Telegram references it names (in links and in its text)."""

    title: str
    lines: tuple[str, ...]  # visible text, one line per paragraph, for scoring
    refs: tuple[PageRef, ...]


def read_page(html: str) -> PageText:
    """What a captured page says and which rooms it names (its links and its text)."""
    reader = _PageReader()
    reader.feed(html)
    reader.close()
    lines: list[str] = []
    refs: list[PageRef] = []
    for post, parts, hrefs in reader.blocks:
        block = "".join(parts)
        block_lines = [" ".join(x.split()) for x in block.split("\n")]
        block_lines = [x for x in block_lines if x]
        lines.extend(block_lines)
        excerpt = " ".join(block_lines)[:300]
        for ref in refs_in(block, hrefs):
            refs.append(PageRef(ref, post, excerpt))
    title = " ".join("".join(reader.title_parts).split())
    return PageText(title, tuple(lines), tuple(refs))
