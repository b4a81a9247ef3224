"""The contract every analyzer passes, built-in or plug-in."""

from __future__ import annotations

import json
from typing import Any

import pytest

from haechi.analyzers import AnalyzerRegistry, load_registry
from haechi.analyzers.base import ContentAnalyzer, MediaAnalyzer, TextAnalyzer
from haechi.config import Settings
from haechi.errors import ConfigError

REGISTRY = load_registry()


def test_builtins_are_registered_through_entry_points() -> None:
    assert {"hashes", "pdq", "faces"} <= set(REGISTRY.names())


@pytest.mark.parametrize("cls", list(REGISTRY), ids=lambda c: c.name)
def test_contract(cls: Any, settings: Settings) -> None:
    assert cls.name and cls.version
    assert issubclass(cls, ContentAnalyzer | MediaAnalyzer)
    examples = list(cls.examples())
    assert examples, f"{cls.name} carries no known-good examples"
    analyzer = cls(settings)
    for ex in examples:
        got = analyzer.analyze(ex.input)
        assert isinstance(got, cls.signal_type)
        assert cls.matches_example(got, ex.expected), f"{cls.name}: {got} != {ex.expected}"
        payload = got.to_payload()
        # Payloads are stored as JSON: they must survive the round trip unchanged.
        again = cls.signal_type.from_payload(json.loads(json.dumps(payload)))
        assert again == got


def test_registry_refuses_two_analyzers_with_one_name() -> None:
    registry = AnalyzerRegistry()
    first = REGISTRY.get("pdq")
    registry.register(first)

    class Impostor(first):  # type: ignore[misc, valid-type]
        pass

    with pytest.raises(ConfigError, match="two analyzers are named 'pdq'"):
        registry.register(Impostor)


def test_unknown_analyzer_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"known: .*hashes"):
        REGISTRY.get("nope")


TEXT_REGISTRY = load_registry("haechi.text_analyzers")


def test_the_chat_text_analyzer_is_registered_as_a_text_analyzer() -> None:
    assert "chat_text" in TEXT_REGISTRY.names()


@pytest.mark.parametrize("cls", list(TEXT_REGISTRY), ids=lambda c: c.name)
def test_text_contract(cls: Any, settings: Settings) -> None:
    """Every text analyzer: known-good examples, payloads that survive JSON, and the risk the
    scan stores is the signal's."""
    assert cls.name and cls.version
    assert issubclass(cls, TextAnalyzer) and not issubclass(cls, ContentAnalyzer | MediaAnalyzer)
    examples = list(cls.examples())
    assert examples, f"{cls.name} carries no known-good examples"
    assert {ex.expected.score > 0 for ex in examples} == {True, False}, "a hit and a miss"
    analyzer = cls(settings)
    assert analyzer.full_version.startswith(cls.version)
    for ex in examples:
        got = analyzer.analyze(ex.input)
        assert isinstance(got, cls.signal_type)
        assert cls.matches_example(got, ex.expected), f"{cls.name}: {got} != {ex.expected}"
        again = cls.signal_type.from_payload(json.loads(json.dumps(got.to_payload())))
        assert again == got
        score, evidence = analyzer.message_risk(ex.input)
        assert score == got.score and json.loads(json.dumps(evidence)) == evidence
