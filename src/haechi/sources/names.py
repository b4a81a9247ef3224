"""File names that are not valid UTF-8, stored losslessly.

Linux names are bytes. A zip made by a Korean Windows tool and unpacked on Linux leaves names in
CP949; Python reads those as str with lone surrogates (U+DC80..U+DCFF, "surrogateescape"), which
no database and no UTF-8 report can hold. So every name haechi stores goes through `escape_name`:

- a name that is valid UTF-8 and holds no backslash is stored as it is;
- any other name is stored with each undecodable byte written as ``\\xHH`` (two lower-case hex
  digits) and each literal backslash doubled (``\\\\``).

The mapping is one-to-one: only escaped names contain a backslash, and `unescape_name` gives
back exactly the original bytes (as a surrogateescape str, ready for `Path`). Names a person
reads keep their readable parts; only the bytes no text encoding can show are hex."""

from __future__ import annotations

import os
import re
from pathlib import Path

_SURROGATE_LOW, _SURROGATE_HIGH = 0xDC80, 0xDCFF
_ESCAPE = re.compile(r"\\(\\|x[0-9a-f]{2})")


def _needs_escape(name: str) -> bool:
    return "\\" in name or any(0xD800 <= ord(c) <= 0xDFFF for c in name)


def escape_name(name: str) -> str:
    """The storable form of a name read from the file system (surrogateescape str)."""
    if not _needs_escape(name):
        return name
    out: list[str] = []
    for c in name:
        code = ord(c)
        if c == "\\":
            out.append("\\\\")
        elif _SURROGATE_LOW <= code <= _SURROGATE_HIGH:
            out.append(f"\\x{code - 0xDC00:02x}")
        elif 0xD800 <= code <= 0xDFFF:
            # A lone surrogate that is not an escaped byte (from a JSON \\udXXX escape): write
            # its UTF-8-like bytes so the stored text stays valid.
            out.append("".join(f"\\x{b:02x}" for b in c.encode("utf-8", "surrogatepass")))
        else:
            out.append(c)
    return "".join(out)


def escape_bytes(raw: bytes) -> str:
    """The storable form of a name given as bytes (decoded as UTF-8 where it is UTF-8)."""
    return escape_name(raw.decode("utf-8", "surrogateescape"))


def unescape_name(stored: str) -> str:
    """The original name (surrogateescape str) of a stored one; identity for plain names."""
    if "\\" not in stored:
        return stored

    def one(m: re.Match[str]) -> str:
        token = m.group(1)
        if token == "\\":
            return "\\"
        return bytes([int(token[1:], 16)]).decode("utf-8", "surrogateescape")

    # Re-decode so escaped bytes that together form UTF-8 become the characters they were.
    return os.fsdecode(os.fsencode(_ESCAPE.sub(one, stored)))


def stored_path(path: Path) -> str:
    """`str(path)` in its storable form."""
    return escape_name(str(path))


def disk_path(stored: str) -> Path:
    """The path on disk that a stored path or locator names."""
    return Path(unescape_name(stored))
