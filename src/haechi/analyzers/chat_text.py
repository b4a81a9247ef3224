"""Chat-text risk: how much one message reads like trading in deepfakes of acquaintances
(지인능욕 / 겹지인 rooms): soliciting, ordering production, paying, inviting and "인증" rituals,
naming targets. Korean and English, evasions folded (see hangul.py), a lexicon kept as data
(analyzers/data/lexicon.yaml plus a counsellor's own files from HAECHI_CHAT_LEXICONS).

Text only: it never opens media. Talk *about* deepfakes (news, campaigns, victim support,
police notices) carries context words that lower the score, and words inside quotation marks
count little unless the line itself solicits or offers. A score orders a review queue; it is
not a verdict. Room ranking (network/rooms.py) aggregates the stored per-message evidence."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Self

from haechi.analyzers.base import Example, Signal, TextAnalyzer
from haechi.analyzers.hangul import NON_WORD, normalise, normalise_prepared, prepare
from haechi.analyzers.lexicon import (
    DEFAULT_LEXICON,
    Category,
    Lexicon,
    drop_contained,
    load_yaml,
    scan_index,
)
from haechi.config import Settings

# Text between quotation marks: a mention, not an offer ("'지인능욕'은 범죄입니다").
_QUOTED = re.compile(
    r"[\"'‘’“”「」『』《》〈〉]([^\"'‘’“”「」『』《》〈〉\n]{1,60})[\"'‘’“”「」『』《》〈〉]"
)


@dataclass(frozen=True)
class Hit(Signal):
    """One lexicon entry matched in one message."""

    term_id: str
    category: str
    weight: float
    span_text: str
    form: str = "term"  # term | variant | choseong | word | regex


@dataclass(frozen=True)
class TextEvidence:
    """What room ranking and the network roles read of one message, stored beside its risk so
    they never read the text again: per-category strength (`cats`), context strength and
    categories, the matched words, a key that makes a re-posted line count once, and the parts
    of a sale the line names (None: stored before sales were read)."""

    score: float = 0.0
    cats: Mapping[str, float] = field(default_factory=dict)
    ctx: float = 0.0
    ctx_cats: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()
    key: str = ""
    sale: tuple[str, ...] | None = None

    def to_payload(self) -> dict[str, Any]:
        """As stored with the message (`messages.risk_detail`)."""
        return {
            "score": self.score,
            "cats": dict(self.cats),
            "ctx": self.ctx,
            "ctx_cats": list(self.ctx_cats),
            "terms": list(self.terms),
            "key": self.key,
            "sale": list(self.sale or ()),
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any] | None) -> TextEvidence:
        """The evidence stored with a message; missing parts (older rows, unscored messages)
        read as nothing found. Most lines of a big export name nothing: they share one value
        (a network over 1.8 million messages holds every message's evidence)."""
        p = payload or {}
        if not any(p.get(k) for k in _PARTS):
            return _UNREAD if p.get("sale") is None else _NOTHING
        sale = p.get("sale")
        return cls(
            score=float(p.get("score") or 0.0),
            cats={str(k): float(v) for k, v in (p.get("cats") or {}).items()},
            ctx=float(p.get("ctx") or 0.0),
            ctx_cats=tuple(str(c) for c in p.get("ctx_cats") or ()),
            terms=tuple(str(t) for t in p.get("terms") or ()),
            key=str(p.get("key") or ""),
            sale=None if sale is None else tuple(str(s) for s in sale),
        )


_PARTS = ("score", "cats", "ctx", "ctx_cats", "terms", "key", "sale")
_UNREAD = TextEvidence()  # nothing found, sales not read (stored before they were)
_NOTHING = TextEvidence(sale=())  # nothing found, sales read


@dataclass(frozen=True)
class TextRisk(Signal):
    """Risk of one message in [0, 1], the hits behind it, and the context hits that lowered it.
    `evidence` is what room ranking needs, stored per message so ranking never re-reads text:
    per-category strength, context strength and categories, a key that makes a re-posted line
    count once, the matched words, and which parts of a sale the line names (price, means of
    paying, paid entry, an ask to write for the price, content for sale)."""

    score: float
    hits: tuple[Hit, ...] = ()
    context: tuple[Hit, ...] = ()
    reasons: tuple[str, ...] = ()
    key: str = ""
    sale: tuple[str, ...] = ()

    @property
    def categories(self) -> frozenset[str]:
        """The risk categories the message's hits name (context hits not included)."""
        return frozenset(h.category for h in self.hits)

    def text_evidence(self) -> TextEvidence:
        """What is stored beside the message's risk for room ranking and the roles."""
        cats: dict[str, float] = {}
        for h in self.hits:
            cats[h.category] = cats.get(h.category, 0.0) + h.weight
        return TextEvidence(
            score=self.score,
            cats={k: round(min(1.0, v), 4) for k, v in sorted(cats.items())},
            ctx=round(sum(h.weight for h in self.context), 4),
            ctx_cats=tuple(sorted({h.category for h in self.context})),
            terms=tuple(sorted({h.span_text for h in self.hits})),
            key=self.key,
            sale=self.sale,
        )

    def evidence(self) -> dict[str, Any]:
        """`text_evidence()` as stored (plain JSON values)."""
        return self.text_evidence().to_payload()

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Self:
        """The risk from its stored payload, hits and context hits included."""
        return cls(
            score=payload["score"],
            hits=tuple(Hit.from_payload(h) for h in payload.get("hits", ())),
            context=tuple(Hit.from_payload(h) for h in payload.get("context", ())),
            reasons=tuple(payload.get("reasons", ())),
            key=payload.get("key", ""),
            sale=tuple(payload.get("sale", ())),
        )


def match_text(lex: Lexicon, text: str) -> tuple[dict[int, Hit], dict[int, set[str]]]:
    """Every lexicon entry the text names (index → strongest hit) and the distinct spans per
    entry: the one reading of text that scoring and discovery's variants share."""
    raw = prepare(text)
    norm = normalise_prepared(raw)
    views = {"raw": raw, "text": norm, "compact": NON_WORD.sub("", norm)}
    raw_compact = NON_WORD.sub("", raw)
    best: dict[int, Hit] = {}
    distinct: dict[int, set[str]] = {}

    def record(idx: int, span: str, form: str, factor: float) -> None:
        entry = lex.entries[idx]
        distinct.setdefault(idx, set()).add(span)
        w = round(entry.weight * factor, 4)
        old = best.get(idx)
        if old is None or w > old.weight:
            best[idx] = Hit(entry.id, entry.category, w, span, form)

    n = len(views["compact"]) + 1
    found = scan_index(lex.literal, views["compact"]) + [
        (a + n, b + n, needle) for a, b, needle in scan_index(lex.initials, raw_compact)
    ]
    for _a, _b, needle in drop_contained(found):
        record(needle.entry, needle.text, needle.form, needle.factor)
    for idx, entry in enumerate(lex.entries):
        if entry.word_re is not None:
            m = entry.word_re.search(views["text"])
            if m:
                record(idx, m.group(0), "word", 1.0)
        for rx in entry.regexes:
            for view in entry.views:
                m = rx.search(views[view])
                if m:
                    record(idx, m.group(0).strip(), "regex", 1.0)
                    break
    return best, distinct


def entries_named(lex: Lexicon, text: str) -> frozenset[str]:
    """The ids of the lexicon entries (risk and context) that the text names."""
    return frozenset(lex.entries[i].id for i in match_text(lex, text)[0])


class ChatTextAnalyzer(TextAnalyzer[TextRisk]):
    """Risk of a chat message from the lexicon's words: sale, payment, invitation and
    solicitation terms, their spelling variants, and context words that lower the risk."""

    name: ClassVar[str] = "chat_text"
    version: ClassVar[str] = "3"  # 3: evidence names the parts of a sale
    signal_type: ClassVar[type[Signal]] = TextRisk

    MSG_GAIN = 1.2
    MSG_COMBO = 0.35
    NO_ANCHOR = 0.6
    MSG_CONTEXT = 1.6
    QUOTED = 0.3  # weight left to a risk word quoted inside a line that offers nothing itself

    def __init__(self, settings: Settings, *, lexicons: Sequence[Path] | None = None) -> None:
        super().__init__(settings)
        paths = list(lexicons) if lexicons is not None else [DEFAULT_LEXICON]
        paths += list(settings.chat_lexicons)
        self.lexicon = Lexicon([(p, load_yaml(p)) for p in paths])
        digest = hashlib.sha256()
        for p in paths[1:]:
            digest.update(p.read_bytes())
        extra_tag = f"+{digest.hexdigest()[:8]}" if len(paths) > 1 else ""
        # What stored scores are tagged with: a changed lexicon means rescoring.
        self.full_version = f"{self.version}+lexicon.{self.lexicon.version}{extra_tag}"

    @property
    def categories(self) -> Mapping[str, Category]:
        """The lexicon's categories by name, with their kind, weight and whether they anchor a
        risk."""
        return self.lexicon.categories

    def generated_variants(self, entry_id: str) -> tuple[str, ...]:
        """The spelling variants generated for one lexicon entry (empty for an unknown id)."""
        return self.lexicon.generated.get(entry_id, ())

    def _match(self, text: str) -> tuple[dict[int, Hit], dict[int, set[str]]]:
        return match_text(self.lexicon, text)

    def message_risk(self, text: str) -> tuple[float, dict[str, Any]]:
        """The message's risk score and its evidence, as `analyze` finds them (see
        TextAnalyzer.message_risk)."""
        risk = self.analyze(text)
        return risk.score, risk.evidence()

    def analyze(self, item: str) -> TextRisk:
        """The message's risk from its lexicon hits: categories add up, several together weigh more,
        no solicitation or production word weighs less, words only quoted count little, and context
        words damp the whole."""
        text = item
        best, distinct = self._match(text)
        lex = self.lexicon
        quoted_ids: set[int] = set()
        if _QUOTED.search(text):
            outside, _ = self._match(_QUOTED.sub(" ", text))
            anchored_outside = any(
                lex.categories[h.category].anchor
                for i, h in outside.items()
                if lex.entries[i].kind == "risk"
            )
            if not anchored_outside:
                quoted_ids = {i for i in best if i not in outside}
        reasons: list[str] = []
        risk: list[Hit] = []
        ctx: list[Hit] = []
        sale: set[str] = set()
        for i, h in sorted(best.items()):
            if lex.entries[i].kind == "context":
                ctx.append(h)
            elif i in quoted_ids:
                risk.append(Hit(h.term_id, h.category, round(h.weight * self.QUOTED, 4),
                                h.span_text, "quoted"))  # fmt: skip
            else:
                risk.append(h)
                part = lex.entries[i].sale
                if part is not None:
                    sale.add(part)
        per_cat: dict[str, float] = {}
        for h in risk:
            per_cat[h.category] = per_cat.get(h.category, 0.0) + h.weight
            how = "" if h.form in ("term", "word", "regex") else f" ({h.form})"
            reasons.append(f"{h.category}: {h.span_text!r}{how} [{h.term_id}, w={h.weight:.2f}]")
        raw = sum(min(1.0, v) for v in per_cat.values())
        combo = 1.0 + self.MSG_COMBO * max(0, len(per_cat) - 1)
        if len(per_cat) > 1:
            reasons.append(f"co-occurring: {', '.join(sorted(per_cat))} (x{combo:.2f})")
        if per_cat and not any(lex.categories[c].anchor for c in per_cat):
            combo *= self.NO_ANCHOR
            reasons.append(f"no solicitation/production word (x{self.NO_ANCHOR:.2f})")
        # More distinct context words from one entry make somewhat stronger context.
        strength = sum(
            h.weight * min(2.0, 1.0 + 0.5 * (len(distinct.get(i, ())) - 1))
            for i, h in sorted(best.items())
            if lex.entries[i].kind == "context"
        )
        damp = math.exp(-self.MSG_CONTEXT * strength)
        if ctx:
            words = ", ".join(f"{h.category} {h.span_text!r}" for h in ctx)
            reasons.append(f"context lowers risk (x{damp:.2f}): {words}")
        score = 1.0 - math.exp(-self.MSG_GAIN * raw * combo * damp) if raw > 0 else 0.0
        key = ""
        if risk or ctx:
            key = hashlib.blake2b(
                NON_WORD.sub("", normalise(text)).encode(), digest_size=8
            ).hexdigest()
        return TextRisk(
            round(score, 4), tuple(risk), tuple(ctx), tuple(reasons), key, tuple(sorted(sale))
        )

    @classmethod
    def examples(cls) -> Iterable[Example[str, TextRisk]]:
        """A Korean sale offer and a line with nothing to find, scored with the built-in lexicon
        only (the contract test's settings name no other)."""
        sol = Hit("sol.jiin_neungyok", "solicitation", 1.0, "지인능욕")
        pay = Hit("pay.giftcard", "payment", 0.5, "문상")
        inv = Hit("inv.telegram", "invitation", 0.2, "텔레그램")
        offer = TextRisk(
            0.9688,
            (sol, pay, inv),
            reasons=(
                "solicitation: '지인능욕' [sol.jiin_neungyok, w=1.00]",
                "payment: '문상' [pay.giftcard, w=0.50]",
                "invitation: '텔레그램' [inv.telegram, w=0.20]",
                "co-occurring: invitation, payment, solicitation (x1.70)",
            ),
            key="64b9bb001016b2b4",
            sale=("means",),
        )
        return (
            Example("지인능욕 텔레그램 문상 받아요", offer),
            Example("오늘 점심 뭐 먹지", TextRisk(0.0)),
        )
