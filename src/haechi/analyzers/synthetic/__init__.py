"""Synthetic-media evidence: provenance, generator metadata, forensic cues, a pluggable
detector, and the verdict built from their evidence lines."""

from haechi.analyzers.synthetic.analyzer import Synthetic, SyntheticAnalyzer
from haechi.analyzers.synthetic.evidence import Evidence

__all__ = ["Evidence", "Synthetic", "SyntheticAnalyzer"]
