"""Chat-text risk: evasions folded, trading language scored high, talk about deepfakes low, the
lexicon extended from a counsellor's file, and rooms ranked with the lines behind the score."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import pytest
from conftest import haechi
from rooms_dataset import REPORTED, SPLITS, Room, generate_rooms, reported_rooms
from rooms_dataset import Message as Said
from sqlalchemy import select

from haechi.analyzers.chat_text import ChatTextAnalyzer, Hit, TextEvidence, TextRisk
from haechi.analyzers.hangul import (
    choseong,
    compose_syllable,
    decompose_syllable,
    normalise,
    spelling_variants,
)
from haechi.analyzers.lexicon import LexiconError
from haechi.config import Settings, load_settings
from haechi.network.rooms import Line, RoomRisk, rank_rooms, score_room
from haechi.scan import scan_paths
from haechi.store.db import Database
from haechi.store.models import Message


@pytest.fixture(scope="module")
def analyzer() -> ChatTextAnalyzer:
    return ChatTextAnalyzer(load_settings())


def ids(risk: TextRisk) -> set[str]:
    return {h.term_id for h in risk.hits}


def room(a: ChatTextAnalyzer, texts: list[str]) -> RoomRisk:
    lines = [Line(i, t, a.analyze(t).evidence()) for i, t in enumerate(texts, start=1)]
    return score_room(lines, a.categories)


# ------------------------------------------------------------ normalisation
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("지 인 능 욕", "지인능욕"),  # spaced
        ("지.인.능.욕", "지인능욕"),  # dotted
        ("지*인-능_욕", "지인능욕"),  # other separators
        ("지\u200b인\u200d능\ufeff욕", "지인능욕"),  # zero-width
        ("지\u3164인\u3164능\u3164욕", "지인능욕"),  # Hangul filler used as blank
        ("ㅈㅣㅇㅣㄴㄴㅡㅇㅇㅛㄱ", "지인능욕"),  # jamo split
        ("ㅈ ㅣ ㅇ ㅣ ㄴ ㄴ ㅡ ㅇ ㅇ ㅛ ㄱ", "지인능욕"),  # jamo split and spaced
        ("지ㅇㅣㄴ능요ㄱ", "지인능욕"),  # partly split, stray final
        ("ㄷㅜㅣㅂ페", "뒵페"),  # compound vowel ㅜ+ㅣ
        ("ㅈlㅇlㄴ능욕", "지인능욕"),  # Latin l typed for ㅣ
        ("ＤＥＥＰＦＡＫＥ", "deepfake"),  # fullwidth
        ("dееpfаkе", "deepfake"),  # Cyrillic е/а
        ("d33pf4ke", "deepfake"),  # leetspeak inside a Latin word
        ("UЅDТ", "usdt"),  # Cyrillic Ѕ/Т
        ("50,000원", "50000원"),
    ],
)
def test_normalise(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


def test_normalise_keeps_initial_abbreviations_and_plain_text() -> None:
    assert normalise("이거ㅈㅇㄴㅇ") == "이거ㅈㅇㄴㅇ"
    assert normalise("작업 ㄱㄴ") == "작업 ㄱㄴ"
    assert normalise("오늘 점심 뭐 먹지?") == "오늘 점심 뭐 먹지?"
    assert normalise("5만원 3.5") == "5만원 3.5"  # digits are not glued or leet-mapped


def test_hangul_arithmetic_roundtrip() -> None:
    assert decompose_syllable("욕") == ("ㅇ", "ㅛ", "ㄱ")
    assert compose_syllable("ㄱ", "ㅕ", "ㅂ") == "겹"
    for ch in "가힣뒷딮닭값":
        parts = decompose_syllable(ch)
        assert parts is not None
        assert compose_syllable(*parts) == ch


def test_choseong_is_derived_from_lexicon_terms(analyzer: ChatTextAnalyzer) -> None:
    assert choseong("지인능욕") == "ㅈㅇㄴㅇ"
    assert choseong("겹지인") == "ㄱㅈㅇ"
    risk = analyzer.analyze("ㅈㅇㄴㅇ 의뢰 받아요")
    hit = next(h for h in risk.hits if h.term_id == "sol.jiin_neungyok")
    assert hit.form == "choseong" and hit.span_text == "ㅈㅇㄴㅇ"
    # halfwidth jamo (U+FFB8 U+FFB7 U+FFA4 U+FFB7) fold to the same initials
    assert "sol.jiin_neungyok" in ids(analyzer.analyze("\uffb8\uffb7\uffa4\uffb7 해드림"))
    # two-letter initials are deliberately not generated (ㅇㅈ = 인정 in everyday chat)
    assert analyzer.analyze("ㅇㅈ ㅋㅋ").score == 0.0


def test_spelling_variants_listed() -> None:
    generated = spelling_variants("딥페")
    # the full generated list for 딥페, so a reviewer can see what is matched
    assert generated == (
        "뒵페", "뒷페", "뒾페", "딉페", "딋페", "딒페", "딥패", "딧페", "딮페",
        "뜁페", "뜃페", "뜊페", "띕페", "띗페", "띞페", "띱페", "띳페", "띺페",
    )  # fmt: skip
    assert {"뒵페", "뒷페", "딮페"} <= set(generated)
    assert "지인능역" not in spelling_variants("지인능욕")  # ㅛ/ㅕ is not a perturbation
    assert "쥐인능욕" in spelling_variants("지인능욕")
    assert spelling_variants("abc") == ()
    assert "뒷페" not in spelling_variants("딥페", stoplist=["뒷페"])


def test_variants_are_matched_with_reduced_weight(analyzer: ChatTextAnalyzer) -> None:
    assert "뒷페" in analyzer.generated_variants("topic.deepfake")
    risk = analyzer.analyze("뒷페 의뢰 받습니다")
    forms = {h.term_id: h.form for h in risk.hits}
    assert forms.get("sol.deepfake_order") == "variant"
    plain = analyzer.analyze("딥페 의뢰 받습니다")
    assert 0 < risk.score <= plain.score


# ------------------------------------------------------------ single messages
@pytest.mark.parametrize(
    ("text", "categories"),
    [
        ("지인능욕 해드립니다 문상 5만", {"solicitation", "production", "payment"}),
        ("겹지인 방 인증하면 입장", {"solicitation", "invitation"}),
        ("사진 보내주면 합성해 드립니다", {"production"}),
        ("이 사람 합성 가능한가요? ○○고 2학년 3반", {"production", "targeting"}),
        ("지.인.능.욕 의뢰 받아요 입장료 3만 USDT", {"solicitation", "payment"}),
        ("ㅈㅣㅇㅣㄴㄴㅡㅇㅇㅛㄱ 해드림 컬쳐랜드 가능", {"solicitation", "production", "payment"}),
        ("send a pic to join, custom deepfake taking requests", {"invitation", "production"}),
    ],
)
def test_trading_text_scores_high(
    analyzer: ChatTextAnalyzer, text: str, categories: set[str]
) -> None:
    risk = analyzer.analyze(text)
    assert risk.score >= 0.6, risk.reasons
    assert categories <= risk.categories
    assert not risk.context
    assert any("co-occurring" in r for r in risk.reasons) or len(risk.categories) == 1


@pytest.mark.parametrize(
    "text",
    [
        "[단독] 지인능욕 딥페이크 텔레그램방 운영자 검거… 경찰 끝까지 추적",
        "지인능욕 피해를 입으셨다면 지원센터에 상담하세요",
        "딥페이크 성범죄 처벌 강화 법안 국회 통과 뉴스",
        "방심위, 딥페이크 합성물 삭제 요청 세 배로 늘어",
        "police: buying or sharing deepfakes is a crime, report it",
    ],
)
def test_news_and_support_text_scores_low(analyzer: ChatTextAnalyzer, text: str) -> None:
    risk = analyzer.analyze(text)
    assert risk.score < 0.3, risk.reasons
    assert risk.context, "context hits must be reported"
    assert any("context lowers risk" in r for r in risk.reasons)


def test_quoted_ad_is_damped_but_not_silenced(analyzer: ChatTextAnalyzer) -> None:
    # A parent quoting an ad to report it: the quote and the report lower the
    # score a lot, but the ad text is still there, so it is not near zero.
    quoted = analyzer.analyze("애들 사이에서 '지인능욕 해드립니다' 같은 광고 돈다는데 신고했어요")
    plain = analyzer.analyze("지인능욕 해드립니다")
    assert quoted.score < 0.4 < plain.score
    slogan = analyzer.analyze("'지인능욕'은 장난이 아닙니다")  # a campaign slogan quotes the word
    assert slogan.score < 0.35 and any(h.form == "quoted" for h in slogan.hits)
    offer = analyzer.analyze("'지인능욕' 해드립니다 문상 5만")  # quotes for emphasis by a seller
    assert offer.score >= 0.6
    assert {h.term_id for h in quoted.context} >= {"ctx.quote", "ctx.report_call"}


def test_everyday_payment_and_school_words_stay_low(analyzer: ChatTextAnalyzer) -> None:
    for text in [
        "동아리 회비 3만원 계좌로 입금해 주세요",
        "코인노래방 갈 사람",
        "기프티콘 보내줄게 생일 축하해",
    ]:
        assert analyzer.analyze(text).score < 0.45, text
    assert analyzer.analyze("오늘 점심 뭐 먹지").score == 0.0


def test_results_are_frozen(analyzer: ChatTextAnalyzer) -> None:
    risk = analyzer.analyze("지인능욕")
    assert 0.0 <= risk.score <= 1.0
    assert isinstance(risk.hits[0], Hit)
    with pytest.raises(dataclasses.FrozenInstanceError):
        risk.score = 0.0  # type: ignore[misc]
    assert analyzer.name == "chat_text" and analyzer.full_version.startswith("3+lexicon.")
    again = TextRisk.from_payload(json.loads(json.dumps(risk.to_payload())))
    assert again == risk  # what is stored reads back unchanged


def test_stored_evidence_reads_back_typed(analyzer: ChatTextAnalyzer) -> None:
    """The evidence stored beside a message's risk is what room ranking and the roles read,
    typed; a message stored without it reads as nothing found, with no sale parts known."""
    stored = analyzer.analyze("지인능욕 텔레그램 문상 받아요").evidence()
    ev = TextEvidence.from_payload(json.loads(json.dumps(stored)))
    assert ev.to_payload() == stored
    assert ev.cats == {"invitation": 0.2, "payment": 0.5, "solicitation": 1.0}
    assert ev.sale == ("means",) and ev.key and ev.ctx == 0.0
    empty = TextEvidence.from_payload({})
    assert (empty.score, dict(empty.cats), empty.key, empty.sale) == (0.0, {}, "", None)


# ------------------------------------------------------------ lexicon files
def test_extra_lexicon_from_settings_extends_and_validates(tmp_path: Path) -> None:
    extra = tmp_path / "extra.yaml"
    extra.write_text(
        "categories:\n  payment:\n    entries:\n"
        "      - id: pay.counsellor_added\n        weight: 0.8\n        ko: [틴캐시]\n",
        encoding="utf-8",
    )
    base = ChatTextAnalyzer(load_settings())
    more = ChatTextAnalyzer(load_settings(chat_lexicons=[extra]))
    assert "pay.counsellor_added" not in ids(base.analyze("틴캐시로 받아요"))
    assert "pay.counsellor_added" in ids(more.analyze("틴 캐 시로 받아요"))
    assert more.full_version != base.full_version  # stored scores get recomputed
    dup = tmp_path / "dup.yaml"
    dup.write_text(
        "categories:\n  payment:\n    entries:\n"
        "      - {id: pay.giftcard, weight: 0.5, ko: [문상]}\n"
    )
    with pytest.raises(LexiconError, match="duplicate"):
        ChatTextAnalyzer(load_settings(chat_lexicons=[dup]))
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "categories:\n  x:\n    kind: risk\n    entries:\n"
        "      - {id: x.1, weight: 0.5, regex: ['(']}\n"
    )
    with pytest.raises(LexiconError, match="bad regex"):
        ChatTextAnalyzer(load_settings(chat_lexicons=[bad]))


# ------------------------------------------------------------ rooms
def test_dataset_shape_and_determinism() -> None:
    for split in SPLITS:
        rooms = generate_rooms(split)
        assert len(rooms) >= 40
        assert all(20 <= len(r.messages) <= 80 for r in rooms)
        assert {r.label for r in rooms} == {0, 1}
        assert generate_rooms(split) == rooms
        kinds = {r.kind for r in rooms}
        assert {"trading", "news", "campaign", "support", "police", "school_club"} <= kinds
        hard = [m.text for r in rooms if r.label == 0 for m in r.messages]
        assert any("지인능욕" in t for t in hard) and any("딥페이크" in t for t in hard)
    assert generate_rooms("dev", seed=1) != generate_rooms("dev")


# The hand-written rooms after the 2024 reporting were frozen before the lexicon was tuned
# against sale rooms: a changed file must be a deliberate, reviewed change of this digest.
REPORTED_SHA256 = "0c98633805ae423a141aeff0a6d7bc84cfae911fe8f2920756a08bfaa03a97d9"


def test_reported_rooms_are_frozen_and_loaded() -> None:
    assert hashlib.sha256(REPORTED.read_bytes()).hexdigest() == REPORTED_SHA256
    rooms = reported_rooms()
    assert len(rooms) == 40 and sum(r.label for r in rooms) == 20
    kinds = {r.kind for r in rooms if not r.label}
    assert {"news", "support", "police", "secondhand", "research"} <= kinds
    sizes = sorted(len(r.messages) for r in rooms)
    assert sizes[0] <= 2 and sizes[-1] >= 60  # from a two-line room to a long one
    short = next(r for r in rooms if r.room_id == "sale-plain-short")
    assert [m.label for m in short.messages] == [1, 1]


def test_room_reasons_name_the_lines(analyzer: ChatTextAnalyzer) -> None:
    texts = ["ㅇㅋ"] * 30
    texts[4] = "지인능욕 해드립니다 가격은 디엠"
    texts[9] = "겹지인 인증하면 입장"
    texts[17] = "입장료 3만 문상으로"
    r = room(analyzer, texts)
    assert r.messages == 30
    assert {m for m, _s, _t in r.top_lines[:3]} == {5, 10, 18}
    assert any("together" in x.text and "payment" in x.text for x in r.reasons)
    sol = next(x for x in r.reasons if x.text.startswith("solicitation"))
    assert 5 in sol.message_ids
    assert r.by_category["solicitation"] > 0 and r.by_category["payment"] > 0


def test_cooccurrence_beats_single_mention_and_context_damps(analyzer: ChatTextAnalyzer) -> None:
    filler = [f"잡담 {i}" for i in range(30)]
    one = room(analyzer, ["지인능욕 해드립니다", *filler]).score
    combo = room(
        analyzer,
        [
            "지인능욕 해드립니다",
            "인증하면 입장",
            "입장료 5만 문상",
            "○○고 2학년 3반 사진 있음",
            *filler,
        ],
    ).score
    news = room(analyzer, [f"[속보] 지인능욕 방 운영자 검거 뉴스 {i}" for i in range(10)] + filler)
    assert combo > one > news.score
    assert news.score < 0.3


def test_room_score_is_robust_to_room_size(analyzer: ChatTextAnalyzer) -> None:
    core = ["지인능욕 해드립니다", "인증하면 입장", "입장료 5만 문상"]
    small = room(analyzer, core + ["ㅇㅋ"] * 17).score
    big = room(analyzer, core + ["ㅇㅋ"] * 77).score
    assert abs(small - big) < 0.15 and big > 0.5
    # a flood of one re-posted news line does not turn into risk
    assert room(analyzer, ["딥페이크 관련 기사 공유"] * 80).score < 0.2


def _as_export(path: Path, rooms: list[Room]) -> Path:
    """The labelled rooms as one full-account Telegram Desktop export."""
    chats = [
        {
            "name": r.room_id,
            "type": "private_supergroup",
            "id": 1000 + i,
            "messages": [
                {
                    "id": j,
                    "type": "message",
                    "date_unixtime": str(1_720_000_000 + j),
                    "from": f"user {j % 7}",
                    "from_id": f"user{j % 7}",
                    "text": m.text,
                }
                for j, m in enumerate(r.messages, start=1)
            ],
        }
        for i, r in enumerate(rooms)
    ]
    path.mkdir(parents=True)
    doc = {"personal_information": {}, "chats": {"list": chats}}
    (path / "result.json").write_text(json.dumps(doc, ensure_ascii=False))
    return path


@pytest.mark.parametrize("split", SPLITS)
def test_scanned_rooms_rank_trading_rooms_with_precision_and_recall_of_09(
    split: str, tmp_path: Path, settings: Settings, db: Database
) -> None:
    """The issue's bar, through the real path: export -> scan -> stored evidence -> ranking.
    The flag threshold (0.5) was fixed before the held-out split was scored."""
    rooms = generate_rooms(split)
    scan_paths(db, settings, [_as_export(tmp_path / "export", rooms)])
    ranked = rank_rooms(db, settings)
    label = {r.room_id: r.label for r in rooms}
    assert len(ranked) == len(rooms)
    assert [r.risk for r in ranked] == sorted((r.risk for r in ranked), reverse=True)
    tp = sum(1 for r in ranked if r.flagged and label[r.name])
    fp = sum(1 for r in ranked if r.flagged and not label[r.name])
    fn = sum(1 for r in ranked if not r.flagged and label[r.name])
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert precision >= 0.9 and recall >= 0.9, (precision, recall, fp, fn)
    top = ranked[0]
    assert label[top.name] == 1 and top.top_lines and top.reasons


def test_a_new_lexicon_rescores_stored_messages(
    tmp_path: Path, settings: Settings, db: Database
) -> None:
    rooms = [r for r in generate_rooms("dev") if r.kind == "ordinary"][:1]
    scan_paths(db, settings, [_as_export(tmp_path / "export", rooms)])
    word = rooms[0].messages[0].text.split()[0]
    extra = tmp_path / "terms.yaml"
    extra.write_text(
        "categories:\n  solicitation:\n    entries:\n"
        f"      - {{id: sol.local_term, weight: 1.0, ko: [{word}]}}\n",
        encoding="utf-8",
    )
    before = rank_rooms(db, settings)[0].risk
    more = load_settings(home=settings.home, workers=1, chat_lexicons=[extra])
    after = rank_rooms(db, more)[0].risk
    assert after > before
    with db.session() as s:
        versions = set(s.scalars(select(Message.risk_version)))
    assert versions == {ChatTextAnalyzer(more).full_version}


def test_plain_sale_rooms_are_flagged_and_goods_sales_are_not(tmp_path: Path) -> None:
    """Issue 13 point 8: price per piece, gift-card payment, paid VIP entry and "DM" in one
    room are selling, with no solicitation word; the same parts around second-hand goods are
    ordinary trading, and a news line quoting the prices is neither."""
    rooms = [
        Room("plain-sale", "trading", 1, "t", (
            Said("a1", "신작 장당 5천원 문상 받음 디엠", 1),
            Said("a2", "VIP방 입장료 2만원", 1),
        )),
        Room("secondhand", "secondhand", 0, "t", (
            Said("b1", "포카 장당 5천원 문상 받음 디엠", 0),
            Said("b2", "미개봉 앨범 2만원 택배 가능, 가격 문의 디엠", 0),
        )),
        Room("news", "news", 0, "t", (
            Said("c1", "[기사] VIP방 입장료 2만원 문상으로 받은 일당 검거", 0),
            Said("c2", "신작 장당 5천원에 판매했다는 보도", 0),
        )),
    ]  # fmt: skip
    home = tmp_path / "home"
    haechi(home, "scan", str(_as_export(tmp_path / "export", rooms)), "--no-progress")
    ranked = {
        r["name"]: r for r in map(json.loads, haechi(home, "rooms", "--json").stdout.splitlines())
    }
    sale = ranked["plain-sale"]
    assert sale["flagged"] and sale["risk"] >= 0.5, sale
    assert any(x["reason"].startswith("sale evidence") for x in sale["reasons"])
    assert not ranked["secondhand"]["flagged"] and ranked["secondhand"]["risk"] < 0.3
    assert not ranked["news"]["flagged"] and ranked["news"]["risk"] < 0.3
