"""The network of everything stored: read the corpus, cluster the content, propose roles."""

from __future__ import annotations

from haechi.config import Settings
from haechi.network.corpus import Corpus, load_corpus
from haechi.network.model import Network
from haechi.network.roles import infer
from haechi.store.db import Database


def network_of(corpus: Corpus, settings: Settings) -> Network:
    """The network of a corpus already read (a caller that also reads its messages)."""
    t = settings.thresholds
    return infer(
        corpus,
        flag=t.room_risk_flag,
        pdq_max=t.pdq_max_distance,
        pdq_quality=t.pdq_min_quality,
        frame_share=t.vpdq_frame_share,
        sexual=t.sexual_interest,
    )


def build_network(db: Database, settings: Settings) -> Network:
    """The network of everything in the database, rebuilt from scratch on each call (nothing
    is cached): its cost grows with the corpus."""
    return network_of(load_corpus(db, settings), settings)
