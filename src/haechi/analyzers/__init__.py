"""Analyzers turn a file into signals. One module per signal; one registry lists them."""

from haechi.analyzers.base import Analyzer, ContentAnalyzer, Example, MediaAnalyzer, Signal
from haechi.analyzers.registry import AnalyzerRegistry, load_registry

__all__ = [
    "Analyzer",
    "AnalyzerRegistry",
    "ContentAnalyzer",
    "Example",
    "MediaAnalyzer",
    "Signal",
    "load_registry",
]
