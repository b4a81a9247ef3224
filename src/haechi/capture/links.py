"""The media a page shows or links to: <img src/srcset>, <picture>/<video>/<audio> sources and
posters, background images in inline styles (a Telegram channel preview shows its photos so),
links to media files, and the page's preview image (og:image, twitter:image).

Only reads markup; runs no script and follows nothing itself."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import PurePosixPath
from urllib.parse import urldefrag, urljoin, urlsplit

from haechi.media.sniff import MEDIA_EXTENSIONS

_META_MEDIA = frozenset(
    {"og:image", "og:image:url", "og:image:secure_url", "og:video", "og:video:url",
     "og:video:secure_url", "twitter:image", "twitter:image:src", "twitter:player:stream"}
)  # fmt: skip


_STYLE_URL = re.compile(r"background(?:-image)?\s*:[^;]*?url\(\s*(['\"]?)(.*?)\1\s*\)", re.I)


def style_urls(style: str) -> list[str]:
    """The URLs of background images in an inline style."""
    return [m.group(2).strip() for m in _STYLE_URL.finditer(style) if m.group(2).strip()]


def srcset_urls(value: str) -> list[str]:
    """The URLs of a srcset ("a.jpg 1x, b.jpg 2x"); a URL may itself hold commas, so split on
    ", " boundaries as browsers effectively do for real-world values."""
    urls = []
    for candidate in value.split(","):
        parts = candidate.strip().split()
        if parts:
            urls.append(parts[0])
    return urls


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): v for k, v in attrs if v is not None}
        if a.get("style"):
            self.found.extend(style_urls(a["style"]))
        if tag == "base" and "href" in a and self.base is None:
            self.base = a["href"]
        elif tag in ("img", "source", "video", "audio", "embed", "input"):
            if tag == "input" and a.get("type", "").lower() != "image":
                return
            for key in ("src", "data-src", "poster"):
                if a.get(key):
                    self.found.append(a[key])
            for key in ("srcset", "data-srcset"):
                if a.get(key):
                    self.found.extend(srcset_urls(a[key]))
        elif tag == "a" and a.get("href"):
            suffix = PurePosixPath(urlsplit(a["href"]).path).suffix.lower()
            if suffix in MEDIA_EXTENSIONS:
                self.found.append(a["href"])
        elif tag == "meta":
            prop = (a.get("property") or a.get("name") or "").lower()
            if prop in _META_MEDIA and a.get("content"):
                self.found.append(a["content"])
        elif tag == "link" and (a.get("rel") or "").lower() == "image_src" and a.get("href"):
            self.found.append(a["href"])


def media_links(html: str, page_url: str, limit: int) -> list[str]:
    """Absolute http(s) URLs of the page's media, in page order, each once, at most `limit`."""
    collector = _Collector()
    collector.feed(html)
    collector.close()
    base = urljoin(page_url, collector.base) if collector.base else page_url
    out: list[str] = []
    seen: set[str] = set()
    for raw in collector.found:
        raw = raw.strip()
        if not raw or raw.startswith(("data:", "javascript:", "blob:")):
            continue
        url, _ = urldefrag(urljoin(base, raw))
        if urlsplit(url).scheme not in ("http", "https") or url in seen:
            continue
        seen.add(url)
        out.append(url)
        if len(out) >= limit:
            break
    return out
