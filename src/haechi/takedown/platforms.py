"""The platform directory: which service serves a location, and how a takedown request reaches
it. Loaded from the package's data/platforms.yaml and, when the setting names one, a centre's
own file whose entries override the package's field by field or add new ones.

A malformed file is a ConfigError naming the file, the entry and the field; nothing here uses
the network."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from haechi.errors import ConfigError
from haechi.i18n import _

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "data" / "platforms.yaml"
CHANNEL_KINDS = ("email", "web_form", "in_app", "phone")
# Keys the drafts' string tables translate (data/takedown/<lang>.yaml).
NEEDS = (
    "need_urls",
    "need_identity",
    "need_fake_statement",
    "need_no_consent",
    "need_proof",
    "need_account",
    "need_contact",
    "need_authorisation",
    "need_victim_herself",
)
LEGAL_BASES = ("spa_14_2", "tba_22_5", "platform_policy")
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class Channel:
    """How a request reaches a platform: `kind` is one of `CHANNEL_KINDS`, with the address,
    form URL or phone number that kind needs."""

    kind: str
    address: str | None = None  # e-mail
    url: str | None = None  # web form or the service's page
    phone: str | None = None


@dataclass(frozen=True)
class Platform:
    """One service in the directory: the domains and source kinds it serves, how to reach it,
    what a request must contain and on what basis, and how many days it is given to answer;
    `verified` says whether someone checked the contact."""

    id: str
    name: str
    domains: tuple[str, ...]
    source_kinds: tuple[str, ...]
    channel: Channel
    must_contain: tuple[str, ...]
    legal_basis: tuple[str, ...]
    policy: str
    response_days: int
    verified: bool
    serves: bool = True
    generic: bool = False  # the fallback for a location no other entry serves
    note: str = ""
    language: str = "en"  # the language `takedown send` sends in unless told otherwise

    def serves_host(self, host: str) -> bool:
        """Whether `host` is one of the platform's domains or a subdomain of one (case and a
        trailing dot ignored)."""
        host = host.lower().rstrip(".")
        return any(host == d or host.endswith("." + d) for d in self.domains)


@dataclass(frozen=True)
class Directory:
    """The loaded platform directory, with the files it was read from (named in errors)."""

    platforms: tuple[Platform, ...]
    files: tuple[Path, ...]

    def get(self, platform_id: str) -> Platform:
        """The platform with this id; raises ConfigError naming the directory's files when there
        is none."""
        for p in self.platforms:
            if p.id == platform_id:
                return p
        raise ConfigError(
            _("no platform {platform_id!r} in {map}").format(
                platform_id=platform_id, map=", ".join(map(str, self.files))
            )
        )

    def for_location(self, location: str, source_kind: str | None = None) -> Platform | None:
        """The service a location is on: by its host (the longest matching domain wins), then
        by the kind of source that saw it, then the generic hosting entry."""
        host = urlsplit(location).hostname or ""
        best: tuple[int, Platform] | None = None
        for p in self.platforms:
            if not p.serves:
                continue
            for d in p.domains:
                on = bool(host) and (host == d or host.endswith("." + d))
                if on and (best is None or len(d) > best[0]):
                    best = (len(d), p)
        if best is not None:
            return best[1]
        if source_kind:
            for p in self.platforms:
                if p.serves and source_kind in p.source_kinds:
                    return p
        return next((p for p in self.platforms if p.generic), None)

    @property
    def referrals(self) -> tuple[Platform, ...]:
        """Bodies that act on content anywhere (KCSC, the national centre, StopNCII)."""
        return tuple(p for p in self.platforms if not p.serves)


def load_directory(extra: Path | None = None) -> Directory:
    """The package's directory, overridden and extended by `extra` (a centre's own file)."""
    entries = _read(DEFAULT_FILE)
    files = [DEFAULT_FILE]
    if extra is not None:
        path = extra.expanduser()
        for pid, raw in _read(path).items():
            entries[pid] = {**entries.get(pid, {}), **raw, "_file": str(path)}
        files.append(path)
    platforms = tuple(_platform(raw) for raw in entries.values())
    return Directory(platforms, tuple(files))


def _read(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(
            _("{path}: cannot read the platform directory ({strerror})").format(
                path=path, strerror=exc.strerror
            )
        ) from None
    except (yaml.YAMLError, UnicodeError) as exc:
        raise ConfigError(_("{path}: not valid YAML ({exc})").format(path=path, exc=exc)) from None
    if not isinstance(data, Mapping) or not isinstance(data.get("platforms"), list):
        raise ConfigError(
            _("{path}: expected a mapping with a list `platforms:`").format(path=path)
        )
    out: dict[str, dict[str, Any]] = {}
    for n, raw in enumerate(data["platforms"], 1):
        if not isinstance(raw, Mapping):
            raise ConfigError(
                _("{path}: platform entry {n} is not a mapping").format(path=path, n=n)
            )
        pid = raw.get("id")
        if not isinstance(pid, str) or not _ID.match(pid):
            raise ConfigError(
                _(
                    "{path}: platform entry {n}: `id` must be a short name "
                    "(lower-case letters, digits, _ and -)"
                ).format(path=path, n=n)
            )
        if pid in out:
            raise ConfigError(
                _("{path}: platform {pid!r} appears twice").format(path=path, pid=pid)
            )
        out[pid] = {**raw, "_file": str(path)}
    return out


def _platform(raw: Mapping[str, Any]) -> Platform:
    where = f"{raw['_file']}: platform {raw['id']!r}"

    def strings(key: str, allowed: Sequence[str] | None = None) -> tuple[str, ...]:
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ConfigError(
                _("{where}: `{key}` must be a list of strings").format(where=where, key=key)
            )
        if allowed is not None:
            unknown = [v for v in value if v not in allowed]
            if unknown:
                raise ConfigError(
                    _("{where}: `{key}` has unknown {unknown} (known: {allowed})").format(
                        where=where, key=key, unknown=", ".join(unknown), allowed=", ".join(allowed)
                    )
                )
        return tuple(value)

    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(_("{where}: `name` is missing").format(where=where))
    ch = raw.get("channel")
    if not isinstance(ch, Mapping) or ch.get("kind") not in CHANNEL_KINDS:
        raise ConfigError(
            _("{where}: `channel.kind` must be one of {channel_kinds}").format(
                where=where, channel_kinds=", ".join(CHANNEL_KINDS)
            )
        )
    for key in ("address", "url", "phone"):
        if ch.get(key) is not None and not isinstance(ch.get(key), str):
            raise ConfigError(
                _("{where}: `channel.{key}` must be text").format(where=where, key=key)
            )
    address = ch.get("address")
    if address is not None and "@" not in address:
        raise ConfigError(
            _("{where}: `channel.address` {address!r} is not an e-mail address").format(
                where=where, address=address
            )
        )
    days = raw.get("response_days")
    if not isinstance(days, int) or isinstance(days, bool) or not 0 < days <= 365:
        raise ConfigError(
            _("{where}: `response_days` must be a whole number of days (1-365)").format(where=where)
        )
    verified = raw.get("verified")
    if not isinstance(verified, bool):
        raise ConfigError(_("{where}: `verified` must be true or false").format(where=where))
    legal = strings("legal_basis", LEGAL_BASES)
    policy = raw.get("policy", "")
    if not isinstance(policy, str) or ("platform_policy" in legal and not policy.strip()):
        raise ConfigError(
            _("{where}: `policy` must name the service's policy it cites").format(where=where)
        )
    return Platform(
        id=raw["id"],
        name=name.strip(),
        domains=tuple(d.lower().strip(".") for d in strings("domains")),
        source_kinds=strings("source_kinds"),
        channel=Channel(ch["kind"], address, ch.get("url"), ch.get("phone")),
        must_contain=strings("must_contain", NEEDS),
        legal_basis=legal,
        policy=policy.strip(),
        response_days=days,
        verified=verified,
        serves=bool(raw.get("serves", True)),
        generic=bool(raw.get("generic", False)),
        note=str(raw.get("note", "")).strip(),
        language=_language(where, raw.get("language", "en")),
    )


def _language(where: str, value: Any) -> str:
    from haechi.takedown.templates import LANGUAGES

    if value not in LANGUAGES:
        raise ConfigError(
            _("{where}: `language` must be one of {languages}").format(
                where=where, languages=", ".join(LANGUAGES)
            )
        )
    return str(value)
