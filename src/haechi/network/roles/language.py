"""The words that make a role: sale, price and paid-entry language (not a buyer's), and requests
to have something made (not offers to make it)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import yaml

from haechi.network.corpus import Msg

SALE_WINDOW = timedelta(hours=1)
SALE_IDS = 5
# Someone else's sale words count only right beside the post (or as a reply to it).
NEXT_IDS = 2
NEXT_WINDOW = timedelta(minutes=10)
REQUEST_WINDOW = timedelta(minutes=10)
REQUEST_IDS = 3
PAYMENT_MIN = 0.3

ROLE_WORDING = Path(__file__).resolve().parents[2] / "analyzers" / "data" / "roles.yaml"


def _wording(key: str) -> re.Pattern[str]:
    """One alternation of the wording file's `key` list, matched case-insensitively."""
    with ROLE_WORDING.open(encoding="utf-8") as fh:
        patterns = yaml.safe_load(fh)[key]
    return re.compile("(" + "|".join(patterns) + ")", re.IGNORECASE)


# A buyer's words ("입금했습니다"), and asking for something to be made rather than offering it:
# both are listed, with their reasons, in analyzers/data/roles.yaml.
BUYER = _wording("buyer")
REQUEST = _wording("request")
REQUEST_CATS = ("solicitation", "production", "topic")


def is_sale(m: Msg) -> bool:
    """Price, payment or paid-entry language, not buyer's words, not talk about the topic."""
    cats = m.cats
    pay = cats.get("payment", 0.0)
    if m.context > 0 or BUYER.search(m.text):
        return False
    parts = m.evidence.sale
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
