"""The one gate every output passes before it leaves haechi: command output (`--json` and
tables), files written for people (dossiers, network exports, evidence packages and their
reports) and any API to come.

Face embeddings and enrolled templates are stored so a person enrolled later can be matched
against what was already scanned; they must never leave, because a vector decoded from an
output is a face search around the consent gate (two photos of one person score 0.8 against
each other, strangers 0.2 or less). This module drops every field named like one, wherever it
sits in a payload, so a new analyzer or a new output cannot leak one by forgetting."""

from __future__ import annotations

import functools
import re
from typing import Any, TypeVar

# Field names that hold a face vector, now or in any analyzer added later.
_BIOMETRIC_KEY = re.compile(r"embedding|template|vector|feature_?vec", re.IGNORECASE)

T = TypeVar("T")


@functools.lru_cache(maxsize=4096)
def _biometric_name(key: str) -> bool:
    return _BIOMETRIC_KEY.search(key) is not None


def is_biometric_field(key: str, value: Any) -> bool:
    """A field that may carry a face vector. Counts and ids (`templates: 3`,
    `template_id: 12`) and empty values say nothing about a face and may stay."""
    if not _biometric_name(key):
        return False
    return not (value is None or isinstance(value, bool | int))


def without_biometrics(obj: T) -> T:
    """A copy of `obj` (dicts, lists and tuples of JSON-like values) without biometric
    fields at any depth. Other values are returned as they are."""
    return _strip(obj)  # type: ignore[no-any-return]


# Values with nothing inside: returned without a call (most of every payload).
_LEAVES = frozenset({str, int, float, bool, type(None)})


def _strip(obj: Any) -> Any:
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if isinstance(k, str) and is_biometric_field(k, v):
                continue
            out[k] = v if type(v) in _LEAVES else _strip(v)
        return out
    if isinstance(obj, list):
        return [v if type(v) in _LEAVES else _strip(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(v if type(v) in _LEAVES else _strip(v) for v in obj)
    return obj
