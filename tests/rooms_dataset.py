"""Deterministic synthetic chat rooms for testing and evaluating chat_text.

Everything here is invented.  Trading rooms use only the language of
soliciting, ordering, paying, joining and targeting; there is no sexual
description anywhere.  Names, schools and links are fictional.

Two template banks are kept strictly apart:

* ``dev``      the templates the lexicon and the scoring constants were tuned on
* ``heldout``  templates written separately (different phrasing, some
               vocabulary and evasions the lexicon does not list) and used only
               for the reported evaluation figures

Each room is label 1 (trading room) or 0 (news, campaign, victim support,
police notice, school club, ordinary chat, and "quoting" rooms where parents or
teachers quote trading ads in order to report them).  Each message is labelled
1 if it is a trading line and 0 otherwise (chit-chat inside trading rooms is 0).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

SEED = 20240828
_HANGUL = re.compile(r"[가-힣]")
SPLITS = ("dev", "heldout")


@dataclass(frozen=True)
class Message:
    message_id: str
    text: str
    label: int


@dataclass(frozen=True)
class Room:
    room_id: str
    kind: str
    label: int
    split: str
    messages: tuple[Message, ...]


# ---------------------------------------------------------------- evasions
_CHO = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
_JUNG = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
_JONG = ["", *"ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ"]
_CYRILLIC = {
    "a": "а",
    "e": "е",
    "o": "о",
    "p": "р",
    "c": "с",
    "x": "х",
    "s": "ѕ",
    "i": "і",
    "t": "т",
}


def _split_jamo(word: str) -> str:
    out = []
    for ch in word:
        code = ord(ch) - 0xAC00
        if 0 <= code < 11172:
            out.append(_CHO[code // 588] + _JUNG[(code % 588) // 28] + _JONG[code % 28])
        else:
            out.append(ch)
    return "".join(out)


def _initials(word: str) -> str:
    return "".join(
        _CHO[(ord(c) - 0xAC00) // 588] if 0 <= ord(c) - 0xAC00 < 11172 else c for c in word
    )


def _halfwidth_initials(word: str) -> str:
    # compatibility consonant U+3131.. -> halfwidth U+FFA1..
    return "".join(chr(ord(c) + 0xCE70) if "ㄱ" <= c <= "ㅎ" else c for c in _initials(word))


def _homoglyph(word: str) -> str:
    return "".join(_CYRILLIC.get(c.lower(), c) for c in word)


def _fullwidth(word: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in word)


# hand-written evasive spellings (independent of the analyzer's generator)
_VARIANTS = {
    "dev": {
        "딥페": ["뒷페", "딮페", "뒵페"],
        "지인능욕": ["쥐인능욕", "지인능욬"],
        "합성": ["합썽", "핪성"],
    },
    "heldout": {
        "딥페": ["띱페", "딥패"],
        "지인능욕": ["지인능역", "찌인능욕"],
        "합성": ["햅성"],
        "겹지인": ["곕지인"],
    },
}

_EVASIONS: dict[str, list[Callable[[str, random.Random], str]]] = {
    "dev": [
        lambda w, r: " ".join(w),
        lambda w, r: ".".join(w),
        lambda w, r: "\u200b".join(w),
        lambda w, r: _split_jamo(w),
        lambda w, r: _initials(w),
        lambda w, r: r.choice(_VARIANTS["dev"].get(w, [w])),
    ],
    "heldout": [
        lambda w, r: "*".join(w),
        lambda w, r: "\u3164".join(w),  # Hangul filler as invisible space
        lambda w, r: " ".join(_split_jamo(w)),
        lambda w, r: _halfwidth_initials(w),
        lambda w, r: "-".join(w),
        lambda w, r: r.choice(_VARIANTS["heldout"].get(w, [w])),
    ],
}
_LATIN_EVASIONS: list[Callable[[str], str]] = [_homoglyph, _fullwidth, lambda w: " ".join(w)]


# ---------------------------------------------------------------- slot values
_SLOTS: dict[str, dict[str, list[str]]] = {
    "dev": {
        "kw": ["지인능욕", "지인능욕", "겹지인", "능욕", "딥페", "합성"],
        "price": ["3만", "5만원", "50000원", "₩30,000", "2만", "10만원", "7만"],
        "gift": ["문상", "문화상품권", "기프티콘", "컬쳐랜드"],
        "crypto": ["USDT", "테더", "BTC", "비트코인"],
        "school": ["○○고", "한빛고", "새별여고", "ㅇㅇ중"],
        "grade": ["2학년 3반", "1학년 7반", "3학년 2반", "19학번"],
        "name": ["민지", "서연", "하은", "지우", "수아"],
        "code": ["kx81aa", "q2mm90", "zzq781", "hb00tt"],
    },
    "heldout": {
        "kw": ["지인능욕", "겹지인", "겹지", "능욕", "딥페", "합성", "지인능욕"],
        "price": ["4만", "6만원", "25000원", "₩40,000", "1만 5천원", "8만"],
        "gift": ["컬처랜드", "해피머니", "구글 기프트카드", "틴캐시", "문화상품권"],
        "crypto": ["USDT", "TRC20 테더", "ETH", "이더리움"],
        "school": ["ㅁㅁ여고", "푸른중", "솔빛고", "○○여중"],
        "grade": ["2학년 5반", "3학년 1반", "21학번", "1학년 4반"],
        "name": ["예린", "다인", "유나", "채원", "소율"],
        "code": ["p0p0xx", "mn42rr", "aa19qz"],
    },
}
_EN_KW = {"dev": ["deepfake", "face swap", "fake"], "heldout": ["deepfake", "faceswap", "dfake"]}

# ---------------------------------------------------------------- templates
# {kw} is a Korean keyword that may be evaded; {ekw} an English one.
_TRADING: dict[str, list[str]] = {
    "dev": [
        "{kw} 해드립니다 가격은 디엠",
        "{kw} 의뢰 받습니다 {gift} {price}",
        "사진 보내주면 합성해 드려요 당일 완성",
        "이 사람 합성 가능한가요? {school} {grade}",
        "{kw} 방 인증하면 입장 가능",
        "입장료 {price} {gift}로 받아요",
        "{crypto}로도 결제 됩니다",
        "초대 링크는 인증 후에 드림",
        "{name} {kw} 해주실 분",
        "프사 사진만 보내주면 작업 가능",
        "샘플 먼저 보여드림 퀄 보장",
        "계좌 말고 {gift} 핀번호로 보내주세요",
        "{school} 애들 자료 있는 사람 인증하고 들어와",
        "외부 유출 금지 걸리면 강퇴",
        "지인 인증 안 하면 강퇴합니다",
        "새방 링크 t.me/+{code}",
        "{kw} 작업 2시간 안에 완성",
        "{school} {grade} {name} 사진 있음 {kw} 가능?",
        "가격표 공지 확인하고 {gift} 보내세요",
        "DM for price, {ekw} made to order",
        "send a pic to join the {ekw} room",
        "paid entry {price_usd} USDT, verify first",
        "custom {ekw} of your classmate, taking requests",
        # plain sale lines, no solicitation word (issue 13): the sale itself is the signal
        "신작 장당 {price} {gift} 받음 디엠",
        "VIP방 입장료 {price}",
    ],
    "heldout": [
        "{kw} 전문 작업실 문의는 갠톡",
        "얼굴 사진 한 장이면 {kw} 됩니다",
        "저 애도 {kw} 되나요 {school} 다님",
        "참여하려면 인증 사진 먼저 올려주세요",
        "이용료 {price} 선입금",
        "{gift} 핀 번호 보내면 확인 후 초대",
        "{crypto} 주소 디엠으로 드립니다",
        "{school} {grade} 애들 모아둔 방 있음",
        "{name}이 {kw} 원하는 사람?",
        "본방 가려면 겹지 인증 필수",
        "작업물 미리보기 드려요 맘에 들면 결제",
        "인스타 주소만 주면 {kw} 해줌",
        "방 터지면 백업방 t.me/+{code} 로 이사",
        "{kw} 주문 밀려서 이틀 걸려요",
        "캡처해서 밖에 돌리면 신상 풉니다",
        "{price}에 {kw} 세트로 해드림",
        "only {crypto} accepted, {ekw} done in 24 hours",
        "drop a photo to enter, no lurkers",
        "we take {ekw} orders, price in DM",
    ],
}
_TRADING_FILLER: dict[str, list[str]] = {
    "dev": [
        "ㅇㅋ",
        "ㅋㅋㅋㅋ",
        "언제 올라와요?",
        "ㄱㄷ",
        "감사합니다",
        "방장님 확인 부탁",
        "ㅎㅇ",
        "새로 왔어요",
        "오늘 몇시에 올라옴?",
        "아 진짜?",
        "ㅇㅇ",
        "넵",
        "ok thx",
    ],
    "heldout": [
        "ㅎㅎ",
        "왔습니다",
        "대기중",
        "ㅇㅈ",
        "확인했어요",
        "빨리요",
        "굿",
        "ㅋㅋ 미쳤네",
        "방장 어디감",
        "ㄳㄳ",
        "lol",
        "yo",
    ],
}

_NEGATIVE: dict[str, dict[str, list[str]]] = {
    "dev": {
        "news": [
            "[속보] 텔레그램 '지인능욕' 방 운영자 구속 기소",
            "딥페이크 성범죄 피의자 10대가 다수, 경찰 엄정 대응 방침",
            "이 기사 봤어? 학교 딥페이크 피해 신고가 200곳 넘었대",
            "방심위, 딥페이크 합성물 삭제 요청 세 배로 늘어",
            "법 개정안 국회 통과 소지 시청도 처벌된다고",
            "운영자는 문화상품권으로 입장료를 받은 것으로 드러났다는 보도",
            "겹지인방 참여자 수사 확대, 기사 링크 공유함",
            "헐 심각하다",
            "뉴스 보니까 진짜 무섭네",
            "관련 단독 기사 나왔어",
            "기자회견 내일 10시래",
        ],
        "campaign": [
            "딥페이크 성범죄 규탄 집회 토요일 2시 광장",
            "서명운동 링크 공유합니다 많이 참여해주세요",
            "지인능욕 방 신고 캠페인 같이 해요",
            "인식개선 카드뉴스 만들었어요 검토 부탁",
            "학생회에서 예방교육 요청하기로 함",
            "피켓 문구: 합성도 범죄입니다",
            "성명서 초안 올렸어요",
            "연대 단체 명단 정리 중",
            "내일 몇시에 모여?",
        ],
        "support": [
            "지인능욕 피해 입으셨으면 지원센터에 상담 받으세요",
            "삭제지원 신청하는 방법 정리해 둘게요",
            "혼자가 아니에요 언제든 연락 주세요",
            "증거보존 먼저 하시고 신고하세요",
            "합성 사진 유포 피해도 지원 대상입니다",
            "상담 예약은 평일 9시부터",
            "피해자 탓하는 댓글은 2차가해예요",
            "오늘 상담 세 건 진행했습니다",
            "수고 많으셨어요",
        ],
        "police": [
            "[경찰청 알림] 딥페이크 성범죄 집중단속 기간 안내",
            "텔레그램 합성방 참여자도 처벌 대상입니다",
            "학교전담경찰관 상담 가능합니다",
            "신고는 112 또는 사이버수사대로",
            "위장수사로 운영자 검거 사례 공유",
            "지인능욕 방 초대 링크 받으면 캡처 후 신고 바랍니다",
            "공지 확인 부탁드립니다",
        ],
        "school_club": [
            "동아리 회비 3만원 계좌로 입금해 주세요",
            "2학년 3반 단톡 초대 링크 올림",
            "봉사시간 인증 사진 올려주세요",
            "사진 동아리 배경 합성 과제 금요일까지",
            "축제 부스 문상 이벤트 당첨자 발표",
            "졸업앨범 사진 보내주세요",
            "내일 학교 몇시까지?",
            "선배님 자료 감사합니다",
            "급식 맛있었음",
            "입장 순서는 학번 순",
        ],
        "ordinary": [
            "코인노래방 갈 사람",
            "기프티콘 보내줄게 생일 축하해",
            "중고거래로 5만원에 팔았음",
            "비트코인 또 떨어졌네",
            "게임 길드 입장 조건 레벨 50",
            "디스코드 초대 링크 줄게",
            "딥페이크 나오는 영화 봤어? CG 대박",
            "오늘 점심 뭐 먹지",
            "ㅋㅋㅋㅋ 개웃기네",
            "주말에 영화 볼래?",
            "계좌 알려주면 보낼게",
            "얼굴 사진 인증하라는 앱 너무 귀찮아",
        ],
        "secondhand": [
            "포카 장당 5천원 문상 받음 디엠",
            "미개봉 새상품 3만원 택배 가능",
            "직거래 원하시면 디엠 주세요",
            "기프티콘으로 결제 가능해요 반값택배",
            "중고 게임기 5만원 문화상품권도 받아요",
            "네고 안 됩니다",
            "가격 문의 디엠",
            "굿즈 공구 입금 2만원",
        ],
        "quoting": [
            "애들 사이에서 '지인능욕 해드립니다' 같은 광고 돈다는데 신고했어요",
            "가정통신문: 겹지인방 초대 받으면 바로 신고하세요",
            "우리 학교 이름으로 합성방이 생겼대요 경찰에 신고함",
            "문상으로 입장료 받는다고 하던데 교육청에 알렸어요",
            "아이한테 절대 사진 보내지 말라고 얘기했어요",
            "담임 선생님이 예방교육 해주신대요",
            "다들 조심하세요",
            "네 알겠습니다",
        ],
    },
    "heldout": {
        "news": [
            "단독: 대학 동문 얼굴 합성 유포 사건 항소심 징역형",
            "딥페이크 피해 학생 수 집계 결과 발표, 교육부 대책 내놔",
            "지인능욕 채널 가담자 무더기 입건 소식",
            "해외 서버 텔레그램 방 운영자 송치됐다는 뉴스",
            "코인으로 대금 받은 정황 수사 중이라고 보도됨",
            "ㄹㅇ 세상 말세다",
            "오늘 저녁 뉴스에 또 나옴",
            "언론 보도 모음 정리했어",
            "BBC도 한국 딥페이크 사태 다뤘더라",
        ],
        "campaign": [
            "딥페이크 OUT 공동행동 참여 신청받아요",
            "온라인 서명 3만 명 돌파",
            "'지인능욕'은 장난이 아닙니다 포스터 배포",
            "예방수칙 리플렛 학교에 보내기로",
            "awareness week schedule posted",
            "집회 현수막 누가 가져와?",
            "다음 회의 목요일",
        ],
        "support": [
            "합성 피해 의심되면 먼저 화면 채증해 두세요",
            "1366에서도 상담 받을 수 있어요",
            "you are not alone, our helpline is open tonight",
            "딥페이크 피해 영상 삭제 요청 도와드립니다",
            "피해자 지원 절차 안내문 공유",
            "힘내세요 여기 다 같은 편이에요",
            "오늘은 조용하네요",
        ],
        "police": [
            "사이버수사대 공지: 딥페이크 제작 의뢰도 처벌됩니다",
            "겹지인방 가입 권유 받으면 112 신고",
            "police notice: buying or sharing deepfakes is a crime",
            "특별단속 결과 운영자 등 다수 검거",
            "경찰 위장수사 확대 시행 안내",
            "문의는 민원실로",
        ],
        "school_club": [
            "밴드부 회비 2만원 입금 부탁",
            "3학년 1반 반톡 링크 여기",
            "출석 인증은 사진으로",
            "미술부 포토샵 합성 실습 자료 올려둠",
            "체육대회 반티 가격 1만 5천원",
            "동아리 방 입장 비번 바뀜",
            "시험 범위 아는 사람",
            "ㅋㅋㅋ 선생님 웃겨",
        ],
        "ordinary": [
            "기프티콘 유효기간 오늘까지다",
            "테더 시세 봤냐",
            "노래방 코인 남았어",
            "카톡 프사 바꿨네 예쁘다",
            "그 유튜버 얼굴 합성 밈 웃기더라",
            "문화상품권 생일선물 고마워",
            "내일 비 온대",
            "택배 왔다",
            "ㅇㅋ 이따 봐",
        ],
        "quoting": [
            "학부모 단톡: '겹지 인증하면 입장' 이런 메시지 받으면 캡처해서 신고해 주세요",
            "아이가 '사진 주면 합성해 준다'는 디엠 받았다고 해서 경찰서 다녀왔어요",
            "학교에서 딥페이크 관련 가정통신문 왔네요",
            "선생님들 교육청 연수 자료 공유합니다",
            "혹시 모르니 프사 내리라고 했어요",
            "감사합니다 참고할게요",
        ],
    },
}

_ROOM_PLAN = {
    "dev": {
        "trading": 22, "news": 6, "campaign": 5, "support": 5, "police": 4, "school_club": 6,
        "ordinary": 8,
        "quoting": 4,
        "secondhand": 5,
    },
    "heldout": {
        "trading": 18, "news": 5, "campaign": 4, "support": 4, "police": 4, "school_club": 5,
        "ordinary": 6,
        "quoting": 4,
    },
}  # fmt: skip


def _fill(template: str, split: str, rng: random.Random, evasion_rate: float) -> str:
    slots = _SLOTS[split]
    values: dict[str, str] = {k: rng.choice(v) for k, v in slots.items()}
    values["price_usd"] = str(rng.choice([20, 30, 50, 100]))
    ekw = rng.choice(_EN_KW[split])
    if rng.random() < evasion_rate:
        ekw = rng.choice(_LATIN_EVASIONS)(ekw)
    values["ekw"] = ekw
    kw = values["kw"]
    if rng.random() < evasion_rate:
        kw = rng.choice(_EVASIONS[split])(kw, rng)
    values["kw"] = kw
    if rng.random() < evasion_rate / 2:
        values["crypto"] = _homoglyph(values["crypto"])
    return template.format(**values)


def _room(split: str, kind: str, index: int, rng: random.Random) -> Room:
    room_id = f"{split}-{kind}-{index:02d}"
    size = rng.randint(20, 80)
    msgs: list[Message] = []
    if kind == "trading":
        signal_rate = rng.uniform(0.12, 0.5)
        evasion_rate = rng.uniform(0.1, 0.6)
        english = rng.random() < 0.2
        bank = _TRADING[split]
        en_bank = [t for t in bank if not _HANGUL.search(t)]
        for i in range(size):
            if rng.random() < signal_rate:
                pool = en_bank if english and rng.random() < 0.7 else bank
                text, label = _fill(rng.choice(pool), split, rng, evasion_rate), 1
            else:
                text, label = rng.choice(_TRADING_FILLER[split]), 0
            msgs.append(Message(f"{room_id}-m{i:03d}", text, label))
        if not any(m.label for m in msgs):  # every trading room has at least one trading line
            msgs[0] = Message(msgs[0].message_id, _fill(bank[0], split, rng, evasion_rate), 1)
    else:
        lines = _NEGATIVE[split][kind]
        filler = _NEGATIVE[split]["ordinary"][-6:]
        for i in range(size):
            # topical rooms are not 100% on topic either
            text = rng.choice(lines) if rng.random() < 0.6 else rng.choice(filler)
            msgs.append(Message(f"{room_id}-m{i:03d}", text, 0))
    return Room(room_id, kind, 1 if kind == "trading" else 0, split, tuple(msgs))


def generate_rooms(split: str = "dev", seed: int = SEED) -> list[Room]:
    """All rooms of one split, deterministic for a given seed."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}")
    rng = random.Random(f"{seed}:{split}")
    rooms = [
        _room(split, kind, k, rng)
        for kind, count in _ROOM_PLAN[split].items()
        for k in range(count)
    ]
    rng.shuffle(rooms)
    return rooms


def as_triples(rooms: Sequence[Room]) -> list[tuple[str, str, str]]:
    """(room_id, message_id, text) triples for ChatTextAnalyzer.rank_rooms."""
    return [(r.room_id, m.message_id, m.text) for r in rooms for m in r.messages]


REPORTED = Path(__file__).resolve().parent / "data" / "rooms_reported_2024.yaml"


def reported_rooms(path: Path = REPORTED) -> list[Room]:
    """The hand-written, frozen rooms modelled on the 2024 reporting (split "reported"): each
    room's lines with its filler spread evenly between them; a trading room's own lines are
    label 1, its filler 0."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    filler: list[str] = doc["filler"]
    rooms = []
    for r in doc["rooms"]:
        lines: list[str] = r["lines"]
        pad = int(r.get("filler", 0))
        n = len(lines) + pad
        at = {round(i * n / len(lines)) for i in range(len(lines))}
        texts: list[tuple[str, int]] = []
        it, f = iter(lines), 0
        for k in range(n):
            if k in at:
                texts.append((next(it), int(r["label"])))
            else:
                texts.append((filler[f % len(filler)], 0))
                f += 1
        msgs = tuple(Message(f"{r['id']}-m{k:03d}", t, y) for k, (t, y) in enumerate(texts))
        rooms.append(Room(r["id"], r["kind"], int(r["label"]), "reported", msgs))
    return rooms


if __name__ == "__main__":
    for sp in SPLITS:
        rs = generate_rooms(sp)
        n_msg = sum(len(r.messages) for r in rs)
        print(f"{sp}: {len(rs)} rooms ({sum(r.label for r in rs)} trading), {n_msg} messages")
