"""The words that make a role: sale, price and paid-entry language (not a buyer's), and requests
to have something made (not offers to make it)."""

from __future__ import annotations

import re
from datetime import timedelta

from haechi.network.corpus import Msg

SALE_WINDOW = timedelta(hours=1)
SALE_IDS = 5
# Someone else's sale words count only right beside the post (or as a reply to it).
NEXT_IDS = 2
NEXT_WINDOW = timedelta(minutes=10)
REQUEST_WINDOW = timedelta(minutes=10)
REQUEST_IDS = 3
PAYMENT_MIN = 0.3

# Buying is not selling: "입금했습니다" beside a post is the buyer's word (a possessor's).
BUYER = re.compile(
    r"(입금\s*(했|완료|드렸|함)|송금\s*(했|완료)|보냈(어요|습니다|음)|얼마(예요|에요|인가요|임|야)"
    r"|구매\s*(할게|원해|하고\s*싶|희망)|살게요|사고\s*싶|\bhow much\b|\bi paid\b"
    r"|\bsent (the )?(money|payment)\b)",
    re.IGNORECASE,
)
# Asking for something to be made, as opposed to offering to make it ("해드립니다").
REQUEST = re.compile(
    r"(해\s*주세요|해\s*줘|해\s*주실|해\s*줄\s*수|부탁\s*(드려요|드립니다|해요|합니다)|가능\s*할까요"
    r"|가능한가요|되나요|의뢰\s*(합니다|드려요|드립니다|해요|넣)|만들어\s*(주세요|줘|주실)"
    r"|\b(can|could) you (make|do)\b|\bplease make\b)",
    re.IGNORECASE,
)
REQUEST_CATS = ("solicitation", "production", "topic")


def is_sale(m: Msg) -> bool:
    """Price, payment or paid-entry language, not buyer's words, not talk about the topic."""
    cats = m.cats
    pay = cats.get("payment", 0.0)
    if m.context > 0 or BUYER.search(m.text):
        return False
    parts = m.detail.get("sale")
    if parts is not None and not set(parts) - {"content"}:
        return False  # "신작 올립니다" names content, not a price, payment or paid entry
    return pay >= PAYMENT_MIN or (pay > 0 and cats.get("invitation", 0.0) > 0)


def is_paid_entry(m: Msg) -> bool:
    """Sale language that sells entry to a room (an invitation with a price)."""
    cats = m.cats
    return is_sale(m) and cats.get("invitation", 0.0) > 0


def is_request(m: Msg) -> bool:
    """Asking for something to be made (solicitation or production words in a request form)."""
    cats = m.cats
    return (
        m.context == 0
        and any(cats.get(c, 0.0) > 0 for c in REQUEST_CATS)
        and REQUEST.search(m.text) is not None
    )
