"""Strings from outside (file and folder names, room titles, poster names, message text, URLs,
error reasons that quote them) made safe for the place they are shown or written:

- a terminal: control characters (C0, DEL, C1), bidirectional overrides and isolates, line
  separators and lone surrogates become visible escapes (`\\x1b`, `\\u202e`), so a name cannot
  move the cursor, retitle or clear the window, or make `gpj.exe` read as `exe.jpg`. Korean and
  every other printable character stay as they are.
- XML 1.0 (GraphML, GEXF): the characters XML cannot carry become the same escapes, so the
  file parses.
- JSON Lines printed to a terminal: the characters above that JSON would pass through raw become
  JSON `\\uXXXX` escapes, which decode to exactly the original value.

These are views only: nothing here is ever applied to what is hashed or stored."""

from __future__ import annotations

import json
import re
from typing import Any

# Bidirectional controls: ALM, LRM, RLM, the embeddings and overrides (LRE..RLO, PDF) and the
# isolates (LRI..PDI). U+202E (RLO) is the one that disguises file names.
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
# What a terminal acts on or reorders: C0 (with tab and newline: a name must not fake a new
# line of output), DEL, C1 (0x9b is CSI on 8-bit terminals), bidi controls, the Unicode line and
# paragraph separators, and lone surrogates (bytes of a file name that are not UTF-8, kept by
# Python as U+DC80..U+DCFF; writing them would raise).
_TERMINAL_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}\u2028\u2029\ud800-\udfff]")
# What XML 1.0 cannot carry at all (its Char production), plus the surrogates.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# What `json.dumps(ensure_ascii=False)` leaves raw and a terminal would act on: JSON already
# escapes C0, so DEL, C1, bidi controls, separators and surrogates.
_JSON_RAW = re.compile(f"[\x7f-\x9f{_BIDI}\u2028\u2029\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    cp = ord(match.group())
    return f"\\x{cp:02x}" if cp < 0x100 else f"\\u{cp:04x}"


def visible(value: object) -> str:
    """`value` as one line of plain text a terminal shows as it is: controls as escapes."""
    return _TERMINAL_UNSAFE.sub(_escape, str(value))


def xml_safe(value: str) -> str:
    """`value` with the characters XML 1.0 forbids replaced by visible escapes."""
    return _XML_ILLEGAL.sub(_escape, value)


def json_text(obj: Any, indent: int | None = None) -> str:
    """`obj` as JSON (one line unless `indent`), safe to print: decoding it gives back exactly
    `obj`."""
    text = json.dumps(obj, ensure_ascii=False, default=str, indent=indent)
    if text.isascii():  # nearly every line: nothing to escape
        return text
    # These characters can only occur inside JSON strings, where `\\uXXXX` means the same.
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
