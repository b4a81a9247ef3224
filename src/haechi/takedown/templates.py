"""Takedown request texts: one Jinja2 template per part (request, counsellor's note, evidence
summary) and one string table per language (data/takedown/<lang>.yaml). Every sentence comes
from the table, so a language is a file a translator edits without touching the templates.

Rendering is strict: a key missing from a table or a placeholder left unfilled is an error,
never a blank in a letter; `check_tables` finds both, and untranslated keys, for the tests.
The texts name media only by hash: no template ever receives media."""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError

from haechi.errors import ConfigError
from haechi.i18n import _
from haechi.takedown.platforms import Platform

DATA = Path(__file__).resolve().parent.parent / "data" / "takedown"
LANGUAGES = ("ko", "en", "ja", "zh", "ru", "vi", "th")
# Content-Language and the e-mail's charset label: Chinese is written in simplified characters.
LANGUAGE_TAGS = {"zh": "zh-Hans"}
KINDS = ("image", "video")


@dataclass(frozen=True)
class DraftItem:
    """One item as a request names it: its hashes, kind, size in bytes and the date it was
    first seen; never its media."""

    sha256: str
    md5: str
    pdq: str | None
    kind: str | None
    size: int
    first_seen: str  # ISO date

    @property
    def kind_key(self) -> str:
        """The string-table key naming the item's kind (`kind_other` for a kind without one)."""
        return f"kind_{self.kind}" if self.kind in KINDS else "kind_other"


@dataclass(frozen=True)
class DraftContext:
    """Everything a request's texts are rendered from: its ids and reference (which the
    subject and the e-mail carry), the platform, the locations, the items and the sender."""

    request_id: int
    ref: str
    case_id: int
    platform: Platform
    locations: tuple[str, ...]
    items: tuple[DraftItem, ...]
    organisation: str = ""
    sender: str | None = None


@dataclass(frozen=True)
class Rendered:
    """A request's texts in one language: the subject, the counsellor's note (never sent),
    the body the platform reads, and the evidence summary."""

    language: str
    subject: str
    note: str  # for the counsellor: the top of the .txt, never sent
    body: str
    summary: str

    @property
    def text_file(self) -> str:
        """The .txt as written: the counsellor's note, then the request."""
        return self.note + self.body


def parse_languages(spec: str | None) -> tuple[str, ...]:
    """`ko,en` → ("ko", "en"); None or "all" → every language."""
    if spec is None or spec.strip() in ("", "all"):
        return LANGUAGES
    wanted = tuple(dict.fromkeys(x.strip().lower() for x in spec.split(",") if x.strip()))
    unknown = [x for x in wanted if x not in LANGUAGES]
    if unknown:
        raise ConfigError(
            _("unknown language {unknown}: one or more of {languages}").format(
                unknown=", ".join(unknown), languages=",".join(LANGUAGES)
            )
        )
    return wanted


@cache
def table(language: str, root: Path = DATA) -> dict[str, str]:
    """The string table of one language (`data/takedown/<language>.yaml`, or under `root`);
    raises ConfigError naming the file when it is unreadable or not a `strings:` mapping."""
    path = root / f"{language}.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeError) as exc:
        raise ConfigError(
            _("{path}: cannot read the string table ({exc})").format(path=path, exc=exc)
        ) from None
    strings = data.get("strings") if isinstance(data, dict) else None
    if not isinstance(strings, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in strings.items()
    ):
        raise ConfigError(_("{path}: expected `strings:` mapping keys to text").format(path=path))
    return strings


def _same_as_english(language: str, root: Path) -> set[str]:
    data = yaml.safe_load((root / f"{language}.yaml").read_text(encoding="utf-8"))
    return set(data.get("same_as_english") or ())


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def check_tables(root: Path = DATA) -> list[str]:
    """Every problem of the string tables against English: missing or extra keys, different
    placeholders, empty strings, and keys left in English (unless the table says that the
    word is the same in its language)."""
    en = table("en", root)
    problems = []
    for lang in LANGUAGES:
        t = table(lang, root)
        same = _same_as_english(lang, root)
        for key in sorted(set(en) - set(t)):
            problems.append(f"{lang}: missing key {key}")
        for key in sorted(set(t) - set(en)):
            problems.append(f"{lang}: key {key} is not in en.yaml")
        for key in sorted(set(en) & set(t)):
            if not t[key].strip():
                problems.append(f"{lang}: {key} is empty")
            if _placeholders(t[key]) != _placeholders(en[key]):
                problems.append(
                    f"{lang}: {key} has placeholders {sorted(_placeholders(t[key]))}, "
                    f"English has {sorted(_placeholders(en[key]))}"
                )
            if lang != "en" and t[key] == en[key] and key not in same:
                problems.append(f"{lang}: {key} is not translated")
    return problems


def _fill(text: str, **values: Any) -> str:
    try:
        return text.format(**values)
    except (KeyError, IndexError) as exc:
        raise TemplateError(
            _("placeholder {exc} has no value in {text!r}").format(exc=exc, text=text)
        ) from None


@cache
def _env(root: Path) -> Environment:
    env = Environment(
        loader=FileSystemLoader(root),
        undefined=StrictUndefined,
        autoescape=False,  # plain text and e-mail, never HTML
        keep_trailing_newline=True,
    )
    env.filters["f"] = _fill
    return env


def render(language: str, ctx: DraftContext, root: Path = DATA) -> Rendered:
    """The request, the counsellor's note and the evidence summary in one language (`root`:
    another folder of templates and tables, for a translator trying a new one)."""
    t = table(language, root)
    values: dict[str, Any] = {
        "t": t,
        "platform": ctx.platform,
        "ref": ctx.ref,
        "case_id": ctx.case_id,
        "request_id": ctx.request_id,
        "locations": ctx.locations,
        "items": ctx.items,
        "organisation": ctx.organisation,
        "sender": ctx.sender,
    }
    try:
        subject = _fill(t["subject"], ref=ctx.ref)
        values["subject"] = subject
        env = _env(root)
        return Rendered(
            language,
            subject,
            env.get_template("note.txt.j2").render(values),
            env.get_template("request.txt.j2").render(values),
            env.get_template("summary.txt.j2").render(values),
        )
    except (TemplateError, KeyError) as exc:
        raise ConfigError(
            _("{root}: the {language} takedown text cannot be rendered: {exc}").format(
                root=root / (language + ".yaml"), language=language, exc=exc
            )
        ) from None
