"""Finding biometric data in what haechi prints or writes: the check behind the tests that no
output carries a face vector (tests/test_outputs_no_biometrics.py, the web app's answers)."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

EMBEDDING_DIM = 128
_KEY = re.compile(r"embedding|template|vector", re.IGNORECASE)
_BASE64 = re.compile(r"[A-Za-z0-9+/]{40,}={0,2}")


def leaks(text: str, where: str) -> list[str]:
    """Biometric data in an output: fields named like embeddings or templates holding more than
    a count or an id, base64 blobs that decode to 128 float16 or float32 numbers, lists of 64
    or more numbers."""
    found = []
    for m in _BASE64.finditer(text):
        blob = m.group()
        try:
            raw = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True)
        except (binascii.Error, ValueError):
            continue
        if len(raw) in (EMBEDDING_DIM * 2, EMBEDDING_DIM * 4):
            found.append(f"{where}: base64 blob of {len(raw)} bytes: {blob[:24]}…")
    for line in text.splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        found += json_leaks(obj, where)
    return found


def json_leaks(obj: Any, where: str) -> list[str]:
    """The biometric fields and long number lists in a JSON value, by path."""
    out: list[str] = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if _KEY.search(str(k)) and not (v is None or isinstance(v, bool | int)):
                out.append(f"{where}: field {k!r} holds {type(v).__name__}")
            out += json_leaks(v, f"{where}.{k}")
    elif isinstance(obj, list):
        if len(obj) >= 64 and all(isinstance(x, int | float) for x in obj):
            out.append(f"{where}: a list of {len(obj)} numbers")
        for i, v in enumerate(obj):
            out += json_leaks(v, f"{where}[{i}]")
    return out
