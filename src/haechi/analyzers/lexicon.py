"""The chat-text lexicon: YAML a counsellor can read and extend, compiled into indexes of
literal terms, generated spelling variants, initial-consonant forms, English words and regexes.
The schema is documented at the top of analyzers/data/lexicon.yaml."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from haechi.analyzers.hangul import (
    HANGUL_ONLY,
    NON_WORD,
    choseong,
    compact,
    normalise,
    spelling_variants,
)
from haechi.errors import ConfigError
from haechi.i18n import _

DEFAULT_LEXICON = Path(__file__).resolve().parent / "data" / "lexicon.yaml"


class LexiconError(ConfigError):
    """The lexicon YAML is malformed."""


# --------------------------------------------------------------------------
# Lexicon compilation
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Entry:
    """One compiled lexicon entry: a risk or context term of a category with its weight, its
    whole-word and regex patterns and the views they run on."""

    id: str
    category: str
    kind: str  # risk | context
    weight: float
    word_re: re.Pattern[str] | None
    regexes: tuple[re.Pattern[str], ...]
    views: tuple[str, ...]
    sale: str | None = None  # which part of a sale it names (SALE_PARTS), if any


@dataclass(frozen=True)
class Needle:
    """A literal string searched for (a term or one of its variants), the index of the entry it
    stands for, its form and the factor its weight is scaled by."""

    text: str
    entry: int
    form: str
    factor: float


@dataclass
class Category:
    """A lexicon category: risk or context, its weight, and whether it anchors a risk (without an
    anchor a line's risk is lowered)."""

    name: str
    kind: str
    weight: float
    anchor: bool


VIEWS = ("text", "raw", "compact")
# The parts of a sale that room ranking looks for together: a price, a means of paying, paid
# entry to a room, an ask to write for the price, and content named as goods for sale.
SALE_PARTS = ("price", "means", "entry", "ask", "content")


def _as_list(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str | int) for v in value):
        return [str(v) for v in value]
    raise LexiconError(_("{where}: expected a list of strings").format(where=where))


def load_yaml(path: Path) -> dict[str, Any]:
    """One lexicon file as a mapping with `categories`; raises LexiconError naming the file when it
    cannot be read or has another shape."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise LexiconError(
            _("cannot read lexicon {path}: {exc}").format(path=path, exc=exc)
        ) from exc
    if not isinstance(data, dict) or not isinstance(data.get("categories"), dict):
        raise LexiconError(
            _("{path}: top level must be a mapping with 'categories'").format(path=path)
        )
    return data


class Lexicon:
    """The built-in lexicon and any extra ones compiled together: categories, entries, literal and
    initial-consonant indexes and generated variants. Raises LexiconError for a malformed file."""

    def __init__(self, docs: Sequence[tuple[Path, dict[str, Any]]]) -> None:
        base = docs[0][1]
        self.version = str(base.get("version", "unversioned"))
        settings = base.get("settings") or {}
        self.variant_factor = float(settings.get("variant_factor", 0.85))
        self.choseong_factor = float(settings.get("choseong_factor", 0.9))
        self.choseong_min = int(settings.get("choseong_min_syllables", 3))
        stop: set[str] = set()
        for _name, doc in docs:
            stop.update(
                _as_list((doc.get("settings") or {}).get("variant_stoplist"), "variant_stoplist")
            )
        self.stoplist = frozenset(stop)
        self.categories: dict[str, Category] = {}
        self.entries: list[Entry] = []
        self.literal: dict[str, list[Needle]] = {}  # matched on the compact view
        self.initials: dict[str, list[Needle]] = {}  # matched on the raw compact view
        self.generated: dict[str, tuple[str, ...]] = {}  # entry id -> generated variants
        raw_entries: list[tuple[str, dict[str, Any], str]] = []
        for path, doc in docs:
            for cname, cdef in doc["categories"].items():
                if not isinstance(cdef, dict):
                    raise LexiconError(
                        _("{path}: category {cname!r} must be a mapping").format(
                            path=path, cname=cname
                        )
                    )
                cat = self.categories.get(str(cname))
                if cat is None:
                    kind = str(cdef.get("kind", ""))
                    if kind not in ("risk", "context"):
                        raise LexiconError(
                            _("{path}: category {cname!r} needs kind: risk|context").format(
                                path=path, cname=cname
                            )
                        )
                    cat = Category(
                        str(cname),
                        kind,
                        float(cdef.get("weight", 1.0)),
                        bool(cdef.get("anchor", False)),
                    )
                    self.categories[cat.name] = cat
                for e in cdef.get("entries") or []:
                    if not isinstance(e, dict):
                        raise LexiconError(
                            _("{path}: entries of {cname!r} must be mappings").format(
                                path=path, cname=cname
                            )
                        )
                    raw_entries.append((cat.name, e, str(path)))
        seen: set[str] = set()
        base_terms: set[str] = set()
        prepared: list[tuple[int, list[str], dict[str, Any]]] = []
        for cname, e, where in raw_entries:
            eid = str(e.get("id", ""))
            if not eid or eid in seen:
                raise LexiconError(
                    _("{where}: missing or duplicate entry id {eid!r}").format(where=where, eid=eid)
                )
            seen.add(eid)
            weight = float(e.get("weight", 0))
            if not 0 < weight <= 1.5:
                raise LexiconError(
                    _("{where}: {eid}: weight must be in (0, 1.5]").format(where=where, eid=eid)
                )
            cat = self.categories[cname]
            view = str(e.get("on", "any"))
            if view != "any" and view not in VIEWS:
                raise LexiconError(
                    _("{where}: {eid}: on must be any|text|raw|compact").format(
                        where=where, eid=eid
                    )
                )
            try:
                regexes = tuple(re.compile(p) for p in _as_list(e.get("regex"), eid))
            except re.error as exc:
                raise LexiconError(
                    _("{where}: {eid}: bad regex: {exc}").format(where=where, eid=eid, exc=exc)
                ) from exc
            sale = e.get("sale")
            if sale is not None and sale not in SALE_PARTS:
                raise LexiconError(
                    _("{where}: {eid}: sale must be one of {sale_parts}").format(
                        where=where, eid=eid, sale_parts=", ".join(SALE_PARTS)
                    )
                )
            en_terms = [normalise(t) for t in _as_list(e.get("en"), eid)]
            en_terms = [t for t in en_terms if t]
            word_re = None
            if en_terms:
                alts = sorted(
                    (r"\s*".join(re.escape(w) for w in t.split(" ")) for t in en_terms),
                    key=len,
                    reverse=True,
                )
                word_re = re.compile(
                    r"(?<![0-9a-z])(?:" + "|".join(alts) + r")(?:s|es)?(?![0-9a-z])"
                )
            idx = len(self.entries)
            self.entries.append(
                Entry(
                    eid,
                    cname,
                    cat.kind,
                    weight,
                    word_re,
                    regexes,
                    VIEWS if view == "any" else (view,),
                    None if sale is None else str(sale),
                )
            )
            ko_terms = [compact(t) for t in _as_list(e.get("ko"), eid)]
            for t in ko_terms:
                if len(t) < 2:
                    raise LexiconError(
                        _("{where}: {eid}: ko term {t!r} shorter than 2 characters").format(
                            where=where, eid=eid, t=t
                        )
                    )
                self._add(self.literal, Needle(t, idx, "term", 1.0))
                base_terms.add(t)
            for t in en_terms:
                ct = NON_WORD.sub("", t)
                if len(ct) >= 7:
                    self._add(self.literal, Needle(ct, idx, "term", 1.0))
                    base_terms.add(ct)
            for t in _as_list(e.get("known_variants"), eid):
                ct = compact(t)
                if len(ct) >= 2:
                    self._add(self.literal, Needle(ct, idx, "variant", self.variant_factor))
            prepared.append((idx, ko_terms, e))
        # generated forms come second so that they never shadow a real term
        for idx, ko_terms, e in prepared:
            entry = self.entries[idx]
            want_variants = e.get("variants", entry.kind == "risk")
            gen: set[str] = set()
            if want_variants:
                for t in ko_terms:
                    gen.update(
                        v for v in spelling_variants(t, self.stoplist) if v not in base_terms
                    )
                for v in sorted(gen):
                    self._add(self.literal, Needle(v, idx, "variant", self.variant_factor))
            self.generated[entry.id] = tuple(sorted(gen))
            mode = e.get("choseong", "auto")
            for t in ko_terms:
                if not HANGUL_ONLY.match(t):
                    continue
                auto_ok = (
                    entry.kind == "risk" and entry.weight >= 0.5 and len(t) >= self.choseong_min
                )
                if mode is True or (mode == "auto" and auto_ok):
                    self._add(
                        self.initials, Needle(choseong(t), idx, "choseong", self.choseong_factor)
                    )

    @staticmethod
    def _add(index: dict[str, list[Needle]], needle: Needle) -> None:
        bucket = index.setdefault(needle.text[:2], [])
        if all(n.text != needle.text or n.entry != needle.entry for n in bucket):
            bucket.append(needle)


def scan_index(index: Mapping[str, list[Needle]], s: str) -> list[tuple[int, int, Needle]]:
    """Every (start, end, needle) of an index's needles in `s`; needles are bucketed by their first
    two characters, so one pass over `s` finds them all."""
    found: list[tuple[int, int, Needle]] = []
    for i in range(len(s) - 1):
        for needle in index.get(s[i : i + 2], ()):
            if s.startswith(needle.text, i):
                found.append((i, i + len(needle.text), needle))
    return found


def drop_contained(found: list[tuple[int, int, Needle]]) -> list[tuple[int, int, Needle]]:
    """A match strictly inside a longer match of another entry is dropped (지인 in 지인능욕)."""
    keep = []
    for a in found:
        inside = any(
            b is not a
            and b[2].entry != a[2].entry
            and b[0] <= a[0]
            and a[1] <= b[1]
            and (b[1] - b[0]) > (a[1] - a[0])
            for b in found
        )
        if not inside:
            keep.append(a)
    return keep
