"""Roles read from a corpus: who was seen first with a piece of content (creator candidate), who
carried it to other rooms (distributor), who used sale, price or paid-entry language beside it
(seller), who posted someone's photo asking for it to be synthesised (requester), and who was in
a room where it was posted (viewer / possessor). Each claim keeps the messages behind it.

Only content "of interest" gets roles: content posted in a room that room ranking flags, or on a
message whose own chat-text risk reaches the flag, or content that is marked by itself wherever it
was posted: a finding about an enrolled person (their face, their own media), a hash-bank match, a
high sexual score, a synthetic or manipulated verdict. A deepfake of an enrolled person posted in
a quiet room therefore still gets its creator candidate, distributors and viewers.

News, support and police posts report on content, they do not spread it: a post whose own text
carries context words ("[기사] … 검거 … 1366"), or any post in a room that mostly talks about the
topic, makes no creator, distributor, seller or viewer.

These are leads for a person to check, never verdicts."""

from __future__ import annotations

from haechi.matching.thresholds import PDQ_MAX_DISTANCE, PDQ_MIN_QUALITY, VPDQ_FRAME_SHARE
from haechi.network.corpus import Corpus
from haechi.network.model import Network
from haechi.network.roles.build import build
from haechi.network.roles.context import Names, RoleContext, best, capped
from haechi.network.roles.language import is_paid_entry, is_request, is_sale

__all__ = ["Names", "best", "capped", "infer", "is_paid_entry", "is_request", "is_sale"]


def infer(
    corpus: Corpus,
    *,
    flag: float = 0.5,
    pdq_max: int = PDQ_MAX_DISTANCE,
    pdq_quality: int = PDQ_MIN_QUALITY,
    frame_share: float = VPDQ_FRAME_SHARE,
    sexual: float = 0.8,
) -> Network:
    """The network of a corpus. `flag` is the chat-text risk at which a message marks the
    content on it as of interest (rooms carry their own flag from room ranking); `sexual` the
    sexual score at which an item does."""
    return build(
        RoleContext(
            corpus,
            flag=flag,
            pdq_max=pdq_max,
            pdq_quality=pdq_quality,
            frame_share=frame_share,
            sexual=sexual,
        )
    )
