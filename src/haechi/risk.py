"""Risk: one number per item for ranking the review queue, with the parts that made it.

The parts are an enrolled person's face match, the sexual score and the synthetic verdict.
An item that shows an enrolled person in sexual, fabricated material is the worst case; each
part alone still ranks. A pure function of typed inputs: the items service computes it from
the item's stored signals and its best match with an enrolled person (`face_match`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from haechi.analyzers.nudity import Nudity
    from haechi.analyzers.synthetic.analyzer import Synthetic

# Weights of the parts, and of the one interaction that matters most: an enrolled person's
# face in sexual material (fabricated or not) is what victims come to haechi about.
W_SEXUAL = 0.45
W_FACE = 0.25
W_SYNTHETIC = 0.10
W_FACE_AND_SEXUAL = 0.20
SYNTHETIC_WEIGHT = {"likely_synthetic": 1.0, "likely_manipulated": 1.0, "no_evidence": 0.0}


@dataclass(frozen=True)
class RiskInputs:
    """The measured parts of an item's risk; None where the analyzer did not run."""

    face_match: float | None  # best similarity to an enrolled person in [0, 1]; None: not run
    sexual: float | None  # nudity score in [0, 1]; None: not run
    synthetic_verdict: str | None
    synthetic_confidence: float | None


@dataclass(frozen=True)
class RiskPart:
    """One part of the risk: its value, its weight and what it added to the score."""

    name: str
    value: float | None  # None: not measured for this item
    weight: float
    contribution: float


@dataclass(frozen=True)
class Risk:
    """The item's ranking risk in [0, 1] and the parts that made it."""

    score: float
    parts: tuple[RiskPart, ...]

    def to_json(self) -> dict[str, Any]:
        """The risk as the `--json` lines and the API carry it."""
        return {"score": self.score, "parts": [p.__dict__ for p in self.parts]}


def risk(inputs: RiskInputs) -> Risk:
    """The item's ranking risk in [0, 1] with each part's value, weight and contribution: a
    weighted sum of the sexual score, the face match, the synthetic evidence and the face
    match × sexual interaction, capped at 1. A part not measured counts 0 and shows as None."""
    syn: float | None = None
    if inputs.synthetic_verdict is not None:
        syn = SYNTHETIC_WEIGHT.get(inputs.synthetic_verdict, 0.0) * (
            inputs.synthetic_confidence or 0.0
        )
    both = (
        None
        if inputs.face_match is None or inputs.sexual is None
        else inputs.face_match * inputs.sexual
    )
    parts = tuple(
        RiskPart(name, None if v is None else round(v, 3), w, round(w * (v or 0.0), 4))
        for name, v, w in (
            ("sexual", inputs.sexual, W_SEXUAL),
            ("face_match", inputs.face_match, W_FACE),
            ("synthetic", syn, W_SYNTHETIC),
            ("face_match×sexual", both, W_FACE_AND_SEXUAL),
        )
    )
    return Risk(round(min(1.0, sum(p.contribution for p in parts)), 3), parts)


def inputs_from_signals(
    nudity: Nudity | None, synthetic: Synthetic | None, face_match: float | None = None
) -> RiskInputs:
    """Risk inputs from an item's signals (None: that analyzer did not run on it) and its best
    match with an enrolled person (None when no match was measured)."""
    return RiskInputs(
        face_match=face_match,
        sexual=None if nudity is None else nudity.score,
        synthetic_verdict=None if synthetic is None else synthetic.verdict,
        synthetic_confidence=None if synthetic is None else synthetic.confidence,
    )
