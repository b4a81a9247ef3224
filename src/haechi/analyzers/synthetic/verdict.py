"""From evidence lines to a verdict: likely_synthetic, likely_manipulated or no_evidence.

Lines that point somewhere each carry the probability that their claim holds (from the
fixtures and the evaluation in docs/evaluation/synthetic.md); independent lines pointing the
same way are combined by noisy-OR. "no_evidence" never means authentic: its confidence is the
probability that none of the claims holds, given only what these checks can see."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from haechi.analyzers.synthetic.evidence import Evidence

Verdict = Literal["likely_synthetic", "likely_manipulated", "no_evidence"]


def noisy_or(ps: Sequence[float]) -> float:
    """The probability that at least one of independent claims holds: 1 - the product of (1 - p)."""
    q = 1.0
    for p in ps:
        q *= 1.0 - p
    return 1.0 - q


def decide(evidence: Sequence[Evidence]) -> tuple[Verdict, float]:
    """The verdict and its confidence: noisy-OR per direction, likely_* from 0.5, synthetic winning
    ties (a generated file stays synthetic when also altered), else no_evidence with the chance that
    no claim holds."""
    syn = noisy_or([e.confidence for e in evidence if e.points == "synthetic"])
    man = noisy_or([e.confidence for e in evidence if e.points == "manipulated"])
    if max(syn, man) < 0.5:
        return "no_evidence", round(1.0 - max(syn, man), 3)
    # A file that says a generator made it is synthetic even when also altered afterwards.
    if syn >= man or syn >= 0.9:
        return "likely_synthetic", round(syn, 3)
    return "likely_manipulated", round(man, 3)
