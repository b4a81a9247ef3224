"""Which URLs capture may fetch: http(s) only, and (unless allowed) no address on this machine or
its private network, so a page cannot steer haechi at a router, an admin page or a cloud
metadata service through a link or a redirect."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from haechi.errors import InputError

# Refusals are recorded in capture fetch logs and recheck notes and stay English: no _().


class URLRefusedError(InputError):
    """A URL capture will not fetch; the message says why."""


def check_url(url: str, *, allow_private: bool) -> None:
    """Raise URLRefusedError unless `url` is http(s) to a host whose every address is public.

    Checked before every request, redirects included. The address is resolved again by the
    HTTP client, so a host that changes its answer between the two (DNS rebinding) is not
    caught here; docs/capture.md says so."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise URLRefusedError(f"{url}: only http and https URLs are captured")
    host = parts.hostname
    if not host:
        raise URLRefusedError(f"{url}: no host in the URL")
    if parts.username or parts.password:
        raise URLRefusedError(f"{url}: URLs with a user name or password are not captured")
    if allow_private:
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise URLRefusedError(f"{url}: invalid port") from None
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise URLRefusedError(f"{url}: cannot resolve {host} ({exc})") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not address.is_global or address.is_multicast:
            raise URLRefusedError(
                f"{url}: {host} is a private or local address ({address}); "
                "set HAECHI_CAPTURE__ALLOW_PRIVATE=true to capture it on purpose"
            )
