"""Comparing signals: each signal type's thresholds (thresholds.py), PDQ and vPDQ distance, the
PDQ and face-template indexes, and the matchers that turn comparisons into findings (enrolled
persons, hash banks, the same scene with another face)."""
