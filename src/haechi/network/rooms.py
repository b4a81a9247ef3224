"""Room ranking: how much a whole room reads like deepfake trading, from the evidence the
chat-text analyzer stored per message, with the lines that drove the score.

A room is scored on what co-occurs across it, not on one word: solicitation or production
(the anchors) together with payment, invitation and targeting. Per category the room keeps the
mean of its three strongest lines (a flood of one re-posted line counts once), adds the share
of risky lines, and is damped by how much of it is news, support, police or campaign talk.

A room that sells needs no solicitation word: several parts of a sale in one room (a price, a
means of paying such as 문상 or 기프티콘, paid entry to a room, "DM for the price", content named
as goods), with paid entry or content among them, count as an anchor of their own ("sale"),
read only from lines without context words (news, support, police, goods trading)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from haechi.analyzers.chat_text import ChatTextAnalyzer, TextEvidence
from haechi.analyzers.lexicon import SALE_PARTS, Category
from haechi.config import Settings
from haechi.store import chat as chat_store
from haechi.store.db import Database

TOP_K = 3
PRESENT = 0.15
COMBO = 0.5
NO_ANCHOR = 0.6
DENSITY = 1.5
DENSITY_LINE = 0.35
CONTEXT = 3.0
LINE_CONTEXT = 1.6
SCALE = 3.0
TOP_LINES = 5
# A sale: at least this many parts in the room, one of them what is sold (a room or content).
SALE_PARTS_MIN = 3
SALE_SOLD = frozenset({"entry", "content"})
SALE_WEIGHT = 1.0
SALE_FULL = 4  # parts at which the sale evidence is full


@dataclass(frozen=True)
class Line:
    """One scored message as room ranking reads it."""

    message_id: int
    text: str
    evidence: Mapping[str, Any]


@dataclass(frozen=True)
class Reason:
    """One line of explanation, with the messages behind it."""

    text: str
    message_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class RoomRisk:
    """A room's score in [0, 1] over its `messages` lines: the evidence per category (and
    the share of lines per context kind), the reasons and the strongest lines as
    (message id, score, text)."""

    score: float
    messages: int
    by_category: dict[str, float]
    reasons: tuple[Reason, ...]
    top_lines: tuple[tuple[int, float, str], ...]
    context: float = 0.0  # share of the room's lines with news, support, police … words


def score_room(lines: Iterable[Line], categories: Mapping[str, Category]) -> RoomRisk:
    """Aggregate stored per-message evidence into one room score in [0, 1]."""
    risk_cats = [c for c in categories.values() if c.kind == "risk"]
    contrib: dict[str, list[tuple[float, int]]] = {c.name: [] for c in risk_cats}
    ctx_counts: dict[str, int] = {}
    ctx_total = 0.0
    ctx_lines = 0
    dense = 0
    n = 0
    seen: set[str] = set()
    top: list[tuple[float, int, str]] = []
    sale: dict[str, list[int]] = {}
    for line in lines:
        n += 1
        ev = TextEvidence.from_payload(line.evidence)
        score = ev.score
        if score >= DENSITY_LINE:
            dense += 1
        if score > 0:
            top.append((score, line.message_id, line.text))
            top.sort(key=lambda t: (-t[0], t[1]))
            del top[TOP_LINES:]
        key = ev.key
        if not key or key in seen:  # no evidence, or a re-posted line: counted once
            continue
        seen.add(key)
        ctx = ev.ctx
        if ctx > 0:
            ctx_lines += 1
            for ctx_cat in ev.ctx_cats:
                ctx_counts[ctx_cat] = ctx_counts.get(ctx_cat, 0) + 1
        ctx_total += min(1.0, ctx)
        if ctx == 0:
            for part in ev.sale or ():
                sale.setdefault(part, []).append(line.message_id)
        damp = math.exp(-LINE_CONTEXT * ctx)
        for cat, v in ev.cats.items():
            if cat in contrib:
                contrib[cat].append((min(1.0, v) * damp, line.message_id))
    total = max(1, n)
    evidence: dict[str, float] = {}
    behind: dict[str, tuple[int, ...]] = {}
    for cat, vals in contrib.items():
        best = sorted(vals, key=lambda x: (-x[0], x[1]))[:TOP_K]
        evidence[cat] = round(sum(v for v, _ in best) / TOP_K, 4)
        behind[cat] = tuple(m for v, m in best if v > 0)
    present = [c for c in risk_cats if evidence[c.name] >= PRESENT]
    core = sum(c.weight * evidence[c.name] for c in risk_cats)
    if len(sale) >= SALE_PARTS_MIN and SALE_SOLD & set(sale):
        evidence["sale"] = round(min(1.0, len(sale) / SALE_FULL), 4)
        behind["sale"] = tuple(sorted({m for ms in sale.values() for m in ms[:TOP_K]}))
        present.append(Category("sale", "risk", SALE_WEIGHT, True))
        core += SALE_WEIGHT * evidence["sale"]
    anchored = any(c.anchor for c in present)
    combo = 1.0 + COMBO * max(0, len(present) - 1) if anchored else 1.0
    if not anchored:
        core *= NO_ANCHOR
    damp = math.exp(-CONTEXT * ctx_total / total)
    raw = (core * combo + DENSITY * dense / total) * damp
    score = round(1.0 - math.exp(-raw / SCALE), 4)

    reasons: list[Reason] = []
    for c in present:
        text = f"{c.name} evidence {evidence[c.name]:.2f}"
        if c.name == "sale":
            text += f" ({' + '.join(p for p in SALE_PARTS if p in sale)} in one room)"
        reasons.append(Reason(text, behind[c.name]))
    if anchored and len(present) > 1:
        names = " + ".join(c.name for c in present)
        reasons.append(Reason(f"together in one room: {names} (x{combo:.2f})"))
    elif present:
        reasons.append(Reason("no solicitation or production: other words discounted"))
    reasons.append(Reason(f"{dense}/{n} lines score at least {DENSITY_LINE}"))
    if ctx_lines:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(ctx_counts.items()))
        reasons.append(
            Reason(f"talk about the topic lowers risk (x{damp:.2f}): {ctx_lines} lines ({kinds})")
        )
    by_category = dict(evidence)
    for k, v in ctx_counts.items():
        by_category[k] = round(v / total, 4)
    top_lines = tuple((mid, s, text) for s, mid, text in top)
    return RoomRisk(score, n, by_category, tuple(reasons), top_lines, round(ctx_lines / total, 4))


@dataclass(frozen=True)
class RankedRoom:
    """A stored room with its risk, as `haechi rooms` shows it."""

    id: str
    name: str
    kind: str
    source: str
    messages: int
    media: int
    media_missing: int
    risk: float
    flagged: bool
    reasons: tuple[Reason, ...]
    top_lines: tuple[tuple[int, float, str], ...]
    context: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The room as `rooms --json` carries it: its reasons, then one per strongest line."""
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "source": self.source,
            "messages": self.messages,
            "media": self.media,
            "media_missing": self.media_missing,
            "risk": self.risk,
            "flagged": self.flagged,
            "reasons": [{"reason": r.text, "messages": list(r.message_ids)} for r in self.reasons]
            + [
                {"reason": f"line {mid} ({s:.2f})", "messages": [mid], "text": text}
                for mid, s, text in self.top_lines
            ],
        }


def rescore_stale(db: Database, analyzer: ChatTextAnalyzer) -> int:
    """Score messages stored under another analyzer or lexicon version (a counsellor added
    terms): the stored evidence always matches the lexicon in use. Returns how many."""
    done = 0
    while True:
        with db.session() as s:
            batch = chat_store.stale_risk(s, analyzer.full_version)
            for pk, text in batch:
                tr = analyzer.analyze(text)
                chat_store.set_risk(s, pk, tr.score, analyzer.full_version, tr.evidence())
        done += len(batch)
        if not batch:
            return done


def rank_rooms(db: Database, settings: Settings) -> list[RankedRoom]:
    """Every stored room, most risky first."""
    analyzer = ChatTextAnalyzer(settings)
    rescore_stale(db, analyzer)
    flag = settings.thresholds.room_risk_flag
    ranked: list[RankedRoom] = []
    with db.session() as s:
        for room in chat_store.room_summaries(s):
            lines = (Line(mid, text, ev) for mid, text, ev in chat_store.room_evidence(s, room.pk))
            risk = score_room(lines, analyzer.categories)
            ranked.append(
                RankedRoom(
                    id=room.key,
                    name=room.name,
                    kind=room.kind,
                    source=room.source,
                    messages=room.messages,
                    media=room.media,
                    media_missing=room.media_missing,
                    risk=risk.score,
                    flagged=risk.score >= flag,
                    reasons=risk.reasons,
                    top_lines=risk.top_lines,
                    context=risk.context,
                )
            )
    ranked.sort(key=lambda r: (-r.risk, r.source, r.id))
    return ranked
