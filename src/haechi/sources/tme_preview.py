"""A public Telegram channel's web preview (`https://t.me/s/NAME`) read as chat messages.

The preview is what `haechi discover capture` and `haechi capture` keep of a public channel
without joining it: the latest posts, each marked `data-post="NAME/ID"`, with its author, time,
text, forward header and the photos and videos it shows (photos as CSS background images).
Read from a WARC, its posts become messages of a room like an export's, and the media records
the same WARC holds are sighted in those posts. Only markup is read; nothing is fetched."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin, urlsplit

from haechi.capture.links import style_urls

_HOSTS = frozenset({"t.me", "www.t.me", "telegram.me", "www.telegram.me"})
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
     "track", "wbr"}
)  # fmt: skip
MAX_POSTS = 200  # a preview page shows about twenty; more means it is not one


def preview_channel(url: str) -> str | None:
    """The channel's username when `url` is its web preview (t.me/s/NAME), else None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or (parts.hostname or "") not in _HOSTS:
        return None
    segments = [p for p in parts.path.split("/") if p]
    if len(segments) != 2 or segments[0] != "s" or not _NAME.fullmatch(segments[1]):
        return None
    return segments[1]


@dataclass
class PreviewPost:
    """One post of a channel's web preview: its channel and id, author, time, text, forward
    and reply headers, and the absolute URLs of its links, photos and videos."""

    channel: str
    id: int
    author: str = ""
    author_name: str | None = None  # the channel's username, from the author's link
    date: datetime | None = None
    text: str = ""
    forwarded_from: str | None = None
    reply_to: int | None = None
    links: list[str] = field(default_factory=list)
    photos: list[str] = field(default_factory=list)
    videos: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Preview:
    """A channel's web preview page: the channel's username, its title and its posts in page
    order."""

    channel: str
    title: str
    posts: tuple[PreviewPost, ...]


def _classes(attrs: dict[str, str]) -> frozenset[str]:
    return frozenset(attrs.get("class", "").split())


class _Reader(HTMLParser):
    """Tracks the element depth so a field ends where its element does (the preview's markup is
    generated and regular; a stray end tag only ends a field early)."""

    def __init__(self, channel: str, base: str) -> None:
        super().__init__(convert_charrefs=True)
        self.channel, self.base = channel, base
        self.depth = 0
        self.posts: list[PreviewPost] = []
        self.post: PreviewPost | None = None
        self.post_depth = -1
        self.field: str | None = None  # author | forwarded | text | title | skip
        self.field_depth = -1
        self.buf: list[str] = []
        self.title = ""

    def _url(self, raw: str) -> str | None:
        url, _ = urldefrag(urljoin(self.base, raw.strip()))
        return url if urlsplit(url).scheme in ("http", "https") else None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): v for k, v in attrs if v is not None}
        cls = _classes(a)
        void = tag in _VOID
        if not void:
            self.depth += 1
        if self.field is None and "tgme_channel_info_header_title" in cls:
            self._open("title")
        post = a.get("data-post")
        if post and self.post is None and len(self.posts) < MAX_POSTS:
            name, _, mid = post.partition("/")
            if mid.isdigit():
                self.post = PreviewPost(channel=name or self.channel, id=int(mid))
                self.post_depth = self.depth
            return
        p = self.post
        if p is None:
            return
        if tag == "br" and self.field == "text":
            self.buf.append("\n")
        if tag == "a" and self.field == "text" and a.get("href"):
            url = self._url(a["href"])
            if url:
                p.links.append(url)
        if tag == "time" and p.date is None and a.get("datetime"):
            p.date = _when(a["datetime"])
        for url in (
            style_urls(a.get("style", "")) if "tgme_widget_message_photo_wrap" in cls else ()
        ):
            if (u := self._url(url)) and u not in p.photos:
                p.photos.append(u)
        if tag == "video" and a.get("src") and (u := self._url(a["src"])) and u not in p.videos:
            p.videos.append(u)
        if self.field is not None:
            return
        if "tgme_widget_message_reply" in cls:
            # A quoted message: its text is not this post's.
            href = a.get("href", "")
            tail = href.rstrip("/").rsplit("/", 1)[-1]
            p.reply_to = int(tail) if tail.isdigit() else None
            self._open("skip")
        elif cls & {"tgme_widget_message_owner_name", "tgme_widget_message_from_author"}:
            p.author_name = preview_channel(f"https://t.me/s/{_last_segment(a.get('href', ''))}")
            self._open("author")
        elif "tgme_widget_message_forwarded_from_name" in cls:
            self._open("forwarded")
        elif "tgme_widget_message_text" in cls and not p.text:
            self._open("text")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        if self.field is not None and self.depth == self.field_depth:
            self._close()
        if self.post is not None and self.depth == self.post_depth:
            self.posts.append(self.post)
            self.post = None
        self.depth = max(0, self.depth - 1)

    def handle_data(self, data: str) -> None:
        if self.field is not None and self.field != "skip":
            # Line breaks in the markup are spaces; only <br> breaks a line of the post.
            self.buf.append(data.replace("\r", " ").replace("\n", " "))

    def _open(self, name: str) -> None:
        self.field, self.field_depth, self.buf = name, self.depth, []

    def _close(self) -> None:
        value = "".join(self.buf)
        if self.field == "text":
            value = "\n".join(" ".join(line.split()) for line in value.split("\n")).strip()
        else:
            value = " ".join(value.split())
        p = self.post
        if self.field == "title":
            self.title = value
        elif p is not None and self.field == "author":
            p.author = value
        elif p is not None and self.field == "forwarded":
            p.forwarded_from = value or None
        elif p is not None and self.field == "text":
            p.text = value
        self.field, self.field_depth, self.buf = None, -1, []


def _last_segment(href: str) -> str:
    return urlsplit(href).path.rstrip("/").rsplit("/", 1)[-1]


def _when(value: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def read_preview(html: str, url: str) -> Preview | None:
    """The posts of a channel's web preview; None when `url` is not one."""
    channel = preview_channel(url)
    if channel is None:
        return None
    reader = _Reader(channel, url)
    reader.feed(html)
    reader.close()
    # Posts of other channels (a preview may quote one) keep their own channel name.
    return Preview(channel, reader.title, tuple(reader.posts))
