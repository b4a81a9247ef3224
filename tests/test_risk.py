"""Risk ranks items by what a counsellor must see first, and says why."""

from __future__ import annotations

from haechi.risk import RiskInputs, risk


def test_parts_explain_the_score_and_unmeasured_parts_say_so() -> None:
    r = risk(RiskInputs(None, 0.8, "likely_synthetic", 0.9))
    parts = {p.name: p for p in r.parts}
    assert parts["face_match"].value is None and parts["face_match"].contribution == 0
    assert r.score == round(sum(p.contribution for p in r.parts), 3)
    assert parts["sexual"].contribution > parts["synthetic"].contribution > 0


def test_ranking_follows_the_harm() -> None:
    benign = risk(RiskInputs(None, 0.02, "no_evidence", 1.0))
    fake = risk(RiskInputs(None, 0.02, "likely_synthetic", 0.97))
    sexual = risk(RiskInputs(None, 0.9, "no_evidence", 0.9))
    sexual_fake = risk(RiskInputs(None, 0.9, "likely_synthetic", 0.97))
    victim = risk(RiskInputs(0.9, 0.9, "likely_manipulated", 0.8))
    scores = [x.score for x in (benign, fake, sexual, sexual_fake, victim)]
    assert scores == sorted(scores) and len(set(scores)) == 5
    # "no evidence" of fabrication never lowers risk below what the sexual score gives.
    assert sexual.score >= risk(RiskInputs(None, 0.9, None, None)).score
