"""The byte stream under the Telegram JSON reader: repairs what tdesktop writes wrongly and
bounds what a hostile file could make the parser spend (see `CountingReader`)."""

from __future__ import annotations

import io
import re
import secrets
from typing import Any, BinaryIO

from haechi.sources.tdesktop.types import READ_SIZE

_BAD_ESCAPE = re.compile(rb"(?<!\\)((?:\\\\)*)\\x([0-9A-Fa-f]{2})")
# A \uD800-\uDFFF escape without its partner: yajl turns it into bytes that are not UTF-8 and
# the whole rest of the export would be lost. It becomes U+FFFD, as any decoder shows it.
_LONE_SURROGATE = re.compile(
    rb"(?<!\\)((?:\\\\)*)(?:"
    rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    rb"|(?<![uU][dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2})"
)
# Possessive patterns (no backtracking): everything up to the end of the current string, and
# every complete string and the bytes between them.
_IN_STRING = re.compile(rb'(?:[^"\\]++|\\.)*+', re.DOTALL)
_OUTSIDE = re.compile(rb'(?:[^"]++|"(?:[^"\\]++|\\.)*+")*+', re.DOTALL)
# How far back a split escape may start: a surrogate pair is 12 bytes.
_ESCAPE_TAIL = 12


class CountingReader(io.RawIOBase):
    """File wrapper for ijson: counts the bytes consumed, repairs the ``\\xNN`` escapes that
    tdesktop writes for control characters (invalid JSON) into ``\\u00NN`` and lone surrogate
    escapes into U+FFFD, and cuts strings longer than `max_string` bytes.

    The cut exists because yajl re-scans a string that spans several reads from its start on
    every read (quadratic: a 300 MB string does not finish in 300 s). A cut string ends in
    `marker` and the rest of it is dropped up to its closing quote; the reader of the events
    refuses what holds it. Keeps the last two chunks so a parse error can be located."""

    def __init__(self, raw: BinaryIO, max_string: int = 1 << 20) -> None:
        super().__init__()
        self._raw = raw
        self.consumed = 0  # bytes of the original file handed out so far
        self.last_start = 0  # file offset of the chunk(s) kept below
        self.last_data = b""  # last two chunks, as given to the parser
        self._carry = b""
        self.repaired = 0
        self.max_string = max_string
        # Unguessable, so no string in the file can pass for a cut one.
        token = secrets.token_hex(8)
        self.marker = "\x00cut:" + token  # as the parser gives it back
        self._marker_json = b"\\u0000cut:" + token.encode("ascii")
        self._in_string = False
        self._string_len = 0
        self._skipping = False  # dropping the rest of a cut string
        self.cut_at: list[int] = []  # file offset of each cut string's start

    def readable(self) -> bool:
        """Always readable: ijson checks before it reads."""
        return True

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes of repaired JSON (-1: the next chunk); b"" only at the real end of
        the file, even while a cut string is being dropped."""
        # An empty read means the end to ijson; dropping a cut string must not look like one.
        while True:
            data, more = self._read_once(size)
            if data or not more:
                return data

    def _read_once(self, size: int) -> tuple[bytes, bool]:
        if size == 0:
            return b"", False
        chunk = self._raw.read(size if size > 0 else READ_SIZE)
        self.consumed += len(chunk)
        data = self._carry + chunk
        self._carry = b""
        if chunk:
            # keep a trailing, possibly incomplete escape (or surrogate pair) for the next round
            tail = data.find(b"\\", max(0, len(data) - _ESCAPE_TAIL))
            if tail >= 0:
                while tail > 0 and data[tail - 1 : tail] == b"\\":
                    tail -= 1
                self._carry = data[tail:]
                data = data[:tail]
                if not data:
                    # pathological run of backslashes: hand it out anyway
                    data, self._carry = self._carry, b""
        if b"\\x" in data:
            data, count = _BAD_ESCAPE.subn(rb"\1\\u00\2", data)
            self.repaired += count
        if b"\\u" in data:
            data = _LONE_SURROGATE.sub(rb"\1\\ufffd", data)
        data = self._bound_strings(data, self.consumed - len(self._carry) - len(data))
        previous = self.last_data[-READ_SIZE:] if self.last_data else b""
        self.last_start = self.consumed - len(self._carry) - len(data) - len(previous)
        self.last_data = previous + data
        return data, bool(chunk)

    def _bound_strings(self, data: bytes, start: int) -> bytes:
        """Track whether the data ends inside a string and how long that string is; cut it
        once it is over the limit. One regex call per read, not per token."""
        pos = 0
        if self._in_string:
            end = _match_end(_IN_STRING, data, 0)
            if end >= len(data) or data[end : end + 1] != b'"':
                self._string_len += len(data)
                if self._skipping:
                    return b""
                return self._maybe_cut(data, start + len(data) - self._string_len)
            self._in_string = False
            if self._skipping:
                # The cut string's closing quote was already written.
                self._skipping = False
                data, start = data[end + 1 :], start + end + 1
            else:
                pos = end + 1
        end = _match_end(_OUTSIDE, data, pos)
        if end < len(data):  # data[end] opens a string that goes on past this read
            self._in_string = True
            self._string_len = len(data) - end - 1
            return self._maybe_cut(data, start + end)
        return data

    def _maybe_cut(self, data: bytes, string_start: int) -> bytes:
        if self._string_len <= self.max_string:
            return data
        self.cut_at.append(string_start)
        self._skipping = True
        return _utf8_prefix(data) + self._marker_json + b'"'

    def readinto(self, buffer: Any) -> int:
        """`read` into a caller's buffer, for readers that use the buffer protocol; returns the
        count of bytes."""
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _utf8_prefix(data: bytes) -> bytes:
    """`data` without a multi-byte character cut at its end (yajl refuses broken UTF-8)."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:
            return data
        if byte >= 0xC0:  # a lead byte: complete only if its sequence fits
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return data if back >= need else data[:-back]
    return data


def error_offset(reader: CountingReader, message: str) -> int:
    """Best effort exact byte offset of a yajl error, from the context
    snippet yajl puts in its message; falls back to the bytes read."""
    lines = message.split("\n")
    if len(lines) >= 3 and "(right here)" in lines[2]:
        caret = lines[2].find("^")
        context = lines[1]
        before = context[10:caret].lstrip(" ") if caret > 10 else ""
        after = context[caret:]
        probe = (before + after).rstrip(" ")
        if probe:
            haystack = reader.last_data.replace(b"\n", b" ").replace(b"\r", b" ")
            needle = probe.encode("utf-8", "ignore")
            found = haystack.rfind(needle)
            if found >= 0:
                # yajl points just past the byte where it gave up
                end = reader.last_start + found + len(before.encode("utf-8", "ignore"))
                return max(end - 1, 0)
    return reader.consumed


def _match_end(pattern: re.Pattern[bytes], data: bytes, pos: int) -> int:
    m = pattern.match(data, pos)
    return m.end() if m is not None else pos  # both patterns match the empty string
