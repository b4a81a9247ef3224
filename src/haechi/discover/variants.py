"""Evasive spellings of a search term, made by the very rules the chat-text lexicon folds back
(analyzers/hangul.py): what a room's name or ad looks like when it wants to slip past a keyword
filter, and so what a person or a search should look for. Spacing, dots, zero-width and filler
characters between letters, split jamo (ㅈㅣㅇㅣㄴ), a Latin l typed for ㅣ, initial consonants
(ㅈㅇㄴㅇ), look-alike Cyrillic and fullwidth letters, digits for letters, the spelling
variants the lexicon generates (딥페 → 뒵페, 뒷페, 딮페) and the ones counsellors wrote in.

Every variant is read back through the lexicon's own matcher before it is offered: one that
does not fold back to its term's entry is dropped (and counted), never printed. A term that is
not in the lexicon is folded through a lexicon extended by that term alone. Nothing here uses
the network."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from haechi.analyzers.chat_text import entries_named
from haechi.analyzers.hangul import (
    HANGUL_ONLY,
    NON_WORD,
    choseong,
    compact,
    decompose_syllable,
    normalise,
    spelling_variants,
)
from haechi.analyzers.lexicon import DEFAULT_LEXICON, Lexicon, load_yaml
from haechi.config import Settings
from haechi.errors import InputError
from haechi.i18n import _

# Rules whose variants spell the very term once folded (compact(variant) == term).
STRUCTURAL = frozenset({"spacing", "dots", "zero_width", "filler", "jamo", "lookalike", "leet"})
RULES = (*sorted(STRUCTURAL), "choseong", "spelling", "hand")

_ZW = "\u200b"  # zero-width space
_FILLER = "\u3164"  # Hangul filler, drawn as nothing
_CYRILLIC = {"a": "а", "c": "с", "e": "е", "i": "і", "o": "о", "p": "р", "s": "ѕ", "x": "х"}
_LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}
_QUERY_CATEGORY = "discover_query"


@dataclass(frozen=True)
class Variant:
    """One evasive spelling of a term, and the rule (one of `RULES`) that made it."""

    text: str
    rule: str  # one of RULES


@dataclass(frozen=True)
class TermVariants:
    """A term's evasive spellings. `entry` is the lexicon entry it belongs to (None: not in the
    lexicon; its variants were folded through the lexicon extended by it). `dropped` counts the
    generated forms that did not fold back and were therefore left out."""

    term: str
    folded: str
    entry: str | None
    variants: tuple[Variant, ...]
    dropped: int = 0

    def to_json(self) -> dict[str, Any]:
        """The term's variants as `discover variants --json` carries them."""
        return {
            "term": self.term,
            "folded": self.folded,
            "entry": self.entry,
            "in_lexicon": self.entry is not None,
            "variants": [{"text": v.text, "rule": v.rule} for v in self.variants],
            "dropped": self.dropped,
        }


def lexicon_docs(settings: Settings) -> list[tuple[Path, dict[str, Any]]]:
    """The documents the chat-text analyzer compiles: the built-in lexicon, then the
    counsellor's own files."""
    return [(p, load_yaml(p)) for p in [DEFAULT_LEXICON, *settings.chat_lexicons]]


def lexicon_terms(docs: Sequence[tuple[Path, dict[str, Any]]]) -> list[tuple[str, str]]:
    """Every (entry id, term) the lexicon lists: its Korean and English terms."""
    out: list[tuple[str, str]] = []
    for _path, doc in docs:
        for cdef in (doc.get("categories") or {}).values():
            for e in (cdef or {}).get("entries") or []:
                for key in ("ko", "en"):
                    terms = e.get(key) or []
                    for t in [terms] if isinstance(terms, str) else terms:
                        out.append((str(e["id"]), str(t)))
    return out


class VariantMaker:
    """Variants of terms, checked against one compiled lexicon."""

    def __init__(self, docs: Sequence[tuple[Path, dict[str, Any]]]) -> None:
        self.docs = list(docs)
        self.lexicon = Lexicon(self.docs)
        # The lexicon's own terms: a spelling of one term that is another term is not a variant.
        self._base = {
            n.text for bucket in self.lexicon.literal.values() for n in bucket if n.form == "term"
        }
        self._known: dict[str, list[str]] = {}
        for _path, doc in self.docs:
            for cdef in (doc.get("categories") or {}).values():
                for e in (cdef or {}).get("entries") or []:
                    hand = e.get("known_variants") or []
                    self._known[str(e["id"])] = [str(v) for v in hand]

    @classmethod
    def from_settings(cls, settings: Settings) -> VariantMaker:
        """A maker over the lexicon the settings name (the built-in one, then the counsellor's
        own files)."""
        return cls(lexicon_docs(settings))

    def entry_of(self, folded: str) -> str | None:
        """The entry that lists this (folded) term as one of its own terms."""
        for lex_index in (self.lexicon.literal,):
            for needle in lex_index.get(folded[:2], ()):
                if needle.text == folded and needle.form == "term":
                    return self.lexicon.entries[needle.entry].id
        for entry in self.lexicon.entries:
            if entry.word_re is not None and entry.word_re.fullmatch(normalise(folded)):
                return entry.id
        return None

    def variants(self, terms: Iterable[str]) -> list[TermVariants]:
        """The variants of each term, in order; raises InputError for a term with fewer than two
        letters. Terms not in the lexicon are folded through a lexicon extended by them."""
        wanted = [t.strip() for t in terms]
        for t in wanted:
            if len(NON_WORD.sub("", normalise(t))) < 2:
                raise InputError(_("{term}: a term needs at least two letters").format(term=t))
        missing = [t for t in wanted if self.entry_of(_fold(t)) is None]
        maker = self if not missing else VariantMaker([*self.docs, _query_doc(missing)])
        return [maker._one(t) for t in wanted]

    def _one(self, term: str) -> TermVariants:
        folded = _fold(term)
        entry = self.entry_of(folded)
        assert entry is not None  # a missing term was added to this lexicon
        candidates = list(_structural(folded))
        if HANGUL_ONLY.match(folded):
            initials = choseong(folded)
            if any(
                n.text == initials and self.lexicon.entries[n.entry].id == entry
                for n in self.lexicon.initials.get(initials[:2], ())
            ):
                candidates.append(Variant(initials, "choseong"))
            candidates.extend(
                Variant(s, "spelling")
                for s in spelling_variants(folded, self.lexicon.stoplist)
                if s not in self._base
            )
        candidates.extend(Variant(h, "hand") for h in self._hand_for(entry, folded))
        seen: set[str] = set()
        kept: list[Variant] = []
        dropped = 0
        for v in candidates:
            if v.text in seen or v.text == term:
                continue
            seen.add(v.text)
            if self.folds_back(v, folded, entry):
                kept.append(v)
            else:
                dropped += 1
        our = entry if not entry.startswith(_QUERY_CATEGORY + ".") else None
        return TermVariants(term, folded, our, tuple(kept), dropped)

    def folds_back(self, variant: Variant, folded: str, entry: str) -> bool:
        """The lexicon's matcher reads the variant as the term's entry; a structural variant
        must moreover fold to the very term."""
        if variant.rule in STRUCTURAL and compact(variant.text) != compact(folded):
            return False
        return entry in entries_named(self.lexicon, variant.text)

    def _hand_for(self, entry: str, folded: str) -> list[str]:
        """The entry's hand-written variants that are closest to this term of it."""
        hand = self._known.get(entry, [])
        if not hand:
            return []
        terms = [t for e, t in lexicon_terms(self.docs) if e == entry]
        mine: list[str] = []
        for h in hand:
            best = max(terms, key=lambda t: difflib.SequenceMatcher(None, _fold(t), h).ratio())
            if _fold(best) == folded:
                mine.append(h)
        return mine


def _fold(term: str) -> str:
    """A term as the lexicon indexes it: Korean compact, English normalised words."""
    norm = normalise(term)
    return compact(term) if any(decompose_syllable(c) for c in norm) else norm


def _query_doc(terms: Sequence[str]) -> tuple[Path, dict[str, Any]]:
    entries = []
    for i, t in enumerate(terms):
        key = "ko" if any(decompose_syllable(c) for c in normalise(t)) else "en"
        entries.append({"id": f"{_QUERY_CATEGORY}.{i}", "weight": 1.0, key: [t]})
    doc = {"categories": {_QUERY_CATEGORY: {"kind": "risk", "anchor": True, "entries": entries}}}
    return Path("<discover variants>"), doc


def _structural(term: str) -> Iterable[Variant]:
    if any(decompose_syllable(c) for c in term):
        yield from _hangul_forms(term)
    elif term.isascii():
        yield from _latin_forms(term)


def _hangul_forms(term: str) -> Iterable[Variant]:
    chars = list(term)
    yield Variant(" ".join(chars), "spacing")
    if len(chars) >= 4:
        half = len(chars) // 2
        yield Variant(term[:half] + " " + term[half:], "spacing")
    for dot in (".", "·"):
        yield Variant(_between_letters(term, dot), "dots")
    yield Variant(_ZW.join(chars), "zero_width")
    yield Variant(_FILLER.join(chars), "filler")
    split = "".join(_jamo(c) for c in chars)
    yield Variant(split, "jamo")
    yield Variant(_jamo(chars[0]) + term[1:], "jamo")
    if "ㅣ" in split:
        # A Latin l typed for the vowel ㅣ ("ㅈlㅇlㄴ"): the folding reads it back as ㅣ.
        yield Variant(split.replace("ㅣ", "l"), "lookalike")


def _between_letters(term: str, mark: str) -> str:
    """Dots only between two letters: "trc.2.0" is not folded back, nor how it is typed."""
    return "".join(
        c + mark if c.isalpha() and i + 1 < len(term) and term[i + 1].isalpha() else c
        for i, c in enumerate(term)
    )


def _jamo(ch: str) -> str:
    parts = decompose_syllable(ch)
    return "".join(parts) if parts else ch


def _latin_forms(term: str) -> Iterable[Variant]:
    words = term.split(" ")
    letters = [c for c in term if c != " "]
    if len(words) > 1:
        yield Variant("".join(words), "spacing")
    if len(letters) >= 3:
        yield Variant(" ".join(letters), "spacing")
    dotted = _between_letters(term, ".")
    if dotted != term:
        yield Variant(dotted, "dots")
    yield Variant(" ".join(_ZW.join(w) for w in words), "zero_width")
    yield Variant("".join(_CYRILLIC.get(c, c) for c in term), "lookalike")
    yield Variant("".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in term),
                  "lookalike")  # fmt: skip
    leet = [
        _LEET.get(c, c) if 0 < i < len(term) - 1 and term[i - 1] != " " and term[i + 1] != " "
        else c
        for i, c in enumerate(term)
    ]  # fmt: skip
    yield Variant("".join(leet), "leet")
