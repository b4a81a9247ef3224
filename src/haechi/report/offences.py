"""The offences a police report names, each mapped to the article of Korean law it falls under,
and the network role (or the words) that can support it.

The articles follow the Act on Special Cases concerning the Punishment of Sexual Crimes
(성폭력범죄의 처벌 등에 관한 특례법) as amended in 2024 (passed 26 Sep 2024, in force Oct 2024):
art. 14-2 para. 1 making or editing (no intent to distribute needed any more), para. 2
distributing, para. 3 distributing for profit, para. 4 (new) possessing, buying, storing or
viewing; art. 14-3 threats and coercion. Counsellors are told to check law.go.kr before quoting
(see docs/act.md): this table is what a support centre's public pages say, not legal advice.

An offence here is what the evidence *supports as a lead*; the report says beside each what it
does not establish."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from haechi.network.model import Role


@dataclass(frozen=True)
class Offence:
    """One offence the report can name, with its article of law and penalty, each in Korean and
    English; `key` is how accounts and gaps refer to it."""

    key: str
    name_ko: str
    name_en: str
    article_ko: str
    article_en: str
    penalty_ko: str
    penalty_en: str


_ACT_KO: Final = "성폭력범죄의 처벌 등에 관한 특례법"
_ACT_EN: Final = "Sexual Violence Punishment Act"

OFFENCES: Final[dict[str, Offence]] = {
    o.key: o
    for o in (
        Offence(
            "making",
            "제작·편집 (허위영상물 편집·합성·가공)",
            "making or editing (editing, synthesising or processing false images)",
            f"{_ACT_KO} 제14조의2 제1항 (2024년 개정)",
            f"{_ACT_EN} art. 14-2(1) (as amended 2024)",
            "7년 이하의 징역 또는 5천만원 이하의 벌금",
            "up to 7 years' imprisonment or a fine up to ₩50M",
        ),
        Offence(
            "requesting",
            "제작 의뢰 (편집·합성의 요청)",
            "requesting the making (asking for it to be synthesised)",
            f"{_ACT_KO} 제14조의2 제1항, 형법 제31조 (교사) 검토",
            f"{_ACT_EN} art. 14-2(1), with Criminal Act art. 31 (instigation) to be considered",
            "제작과 같음 (교사범은 정범과 동일하게 처벌)",
            "as for making (an instigator is punished as the principal)",
        ),
        Offence(
            "distributing",
            "반포 (유포)",
            "distributing",
            f"{_ACT_KO} 제14조의2 제2항",
            f"{_ACT_EN} art. 14-2(2)",
            "7년 이하의 징역 또는 5천만원 이하의 벌금",
            "up to 7 years' imprisonment or a fine up to ₩50M",
        ),
        Offence(
            "selling",
            "영리 목적 반포 (판매)",
            "distributing for profit (selling)",
            f"{_ACT_KO} 제14조의2 제3항",
            f"{_ACT_EN} art. 14-2(3)",
            "3년 이상의 유기징역",
            "imprisonment of at least 3 years",
        ),
        Offence(
            "possessing",
            "소지·구입·저장·시청",
            "possessing, buying, storing or viewing",
            f"{_ACT_KO} 제14조의2 제4항 (2024년 신설)",
            f"{_ACT_EN} art. 14-2(4) (new in 2024)",
            "3년 이하의 징역 또는 3천만원 이하의 벌금",
            "up to 3 years' imprisonment or a fine up to ₩30M",
        ),
        Offence(
            "threats",
            "협박·강요",
            "threats or coercion",
            f"{_ACT_KO} 제14조의3 제1항 (협박), 제2항 (강요)",
            f"{_ACT_EN} art. 14-3(1) (threats), 14-3(2) (coercion)",
            "협박 1년 이상, 강요 3년 이상의 유기징역",
            "threats: at least 1 year; coercion: at least 3 years' imprisonment",
        ),
    )
}

# Where the person shown may be a minor, these articles apply instead (the report says so
# beside the items a reviewer flagged; it never states an age).
MINOR_NOTE_KO: Final = (
    "피해자가 아동·청소년이라면 「아동·청소년의 성보호에 관한 법률」 제11조(제작 무기 또는 "
    "5년 이상, 판매 5년 이상, 배포 3년 이상, 구입·소지·시청 1년 이상)와 제11조의2(협박)가 "
    "적용됩니다."
)
MINOR_NOTE_EN: Final = (
    "If the person shown is a minor, the Act on the Protection of Children and Youth against "
    "Sex Offences applies instead: art. 11 (making: life or at least 5 years; selling: at least "
    "5; distributing: at least 3; buying, possessing, viewing: at least 1) and art. 11-2 "
    "(threats)."
)

ROLE_OFFENCE: Final[dict[Role, str]] = {
    "creator_candidate": "making",
    "requester": "requesting",
    "distributor": "distributing",
    "seller": "selling",
    "viewer": "possessing",
}

# Threat language: a consequence (spreading, posting, sending to someone) on a condition
# (unless you pay, if you do not reply). Either half alone is everyday talk; both in one
# message is read as a threat, a lead for the investigator to read in context.
_CONSEQUENCE = re.compile(
    r"(뿌리|뿌린|뿌릴|뿌려|퍼뜨리|퍼트리|유포(하|할|한다|해)|올린다|올릴\s*(거|게|께)|공개(하|할|한다)"
    r"|보낸다|보낼\s*(거|게|께)|알린다|알릴\s*(거|게|께)"
    r"|\b(post|leak|share|send|spread|publish)\b)",
    re.IGNORECASE,
)
_CONDITION = re.compile(
    r"(안\s*(보내|주|하|갚)(면|으면)|않으면|말\s*안\s*들으면|연락\s*안\s*(하|받)(면|으면)"
    r"|싫으면|거절하면|신고하면|\bunless\b|\bif you (don'?t|do not|won'?t)\b|\bor else\b)",
    re.IGNORECASE,
)


def is_threat(text: str) -> bool:
    """Threat language: a condition and a consequence in the same message."""
    return bool(text) and bool(_CONSEQUENCE.search(text)) and bool(_CONDITION.search(text))
