"""Hash list formats other tools read and write, for import into banks and export from them.

- `te`: python-threatexchange's file exchange, one `<signal_type> <signal>` per line.
- `csv`: the columns `threatexchange dataset -P --csv` prints
  (`signal_type,signal_str,collab,category,tags`, tags separated by spaces).
- `vpdq`: Meta's vPDQ per-frame file, one `frameNumber,quality,pdqHex,timestamp` per line; a file
  is one video.
- `pdq`: a plain list of PDQ hashes, one per line.
- `stopncii`: StopNCII's FetchHashes answer (`{"hashRecords": [{signalType, hashValue, …}]}`),
  hashes only; case numbers are never written.

A line that cannot be read is reported with its file and line number; the rest is read."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from haechi.errors import InputError
from haechi.i18n import _
from haechi.services.banks import ContentIn, ContentView, Frame, SignalIn, check_signal

FORMATS = ("te", "csv", "vpdq", "pdq", "stopncii")
MAX_FILE = 512 * 1024 * 1024  # a hash list larger than this is not a hash list

# python-threatexchange's signal type names (SignalType.get_name()) and haechi's.
TE_NAMES = {"pdq": "pdq", "md5": "video_md5", "sha256": "video_sha256", "vpdq": "vpdq"}
FROM_TE = {
    "pdq": "pdq",
    "video_md5": "md5",
    "photo_md5": "md5",
    "md5": "md5",
    "video_sha256": "sha256",
    "sha256": "sha256",
    "vpdq": "vpdq",
}
CSV_COLUMNS = ["signal_type", "signal_str", "collab", "category", "tags"]
STOPNCII_TYPES = {"ImagePDQ": "pdq", "VideoMD5": "md5"}
TO_STOPNCII = {v: k for k, v in STOPNCII_TYPES.items()}
STOPNCII_GONE = ("Withdrawn", "Deleted")  # the victim withdrew it: never bank it


@dataclass(frozen=True)
class ReadResult:
    """What a hash list held: the contents to bank, the lines refused ("FILE:LINE: reason"),
    and how many well-formed records were of a kind banks do not hold."""

    contents: tuple[ContentIn, ...]
    problems: tuple[str, ...]  # "FILE:LINE: reason"
    skipped: int = 0  # well-formed records of a kind banks do not hold (e.g. StopNCII TMK)


def detect(path: Path, head: str) -> str:
    """The format of a file from its name and first line."""
    lines = [ln.strip() for ln in head.splitlines() if ln.strip() and not ln.startswith("#")]
    first = lines[0] if lines else ""
    if path.suffix.lower() == ".vpdq" or (first.count(",") == 3 and first.split(",")[0].isdigit()):
        return "vpdq"
    if head.lstrip().startswith("{") or path.suffix.lower() in (".json", ".jsonl"):
        return "stopncii"
    if first.replace(" ", "").startswith("signal_type,signal_str"):
        return "csv"
    if " " in first.strip():
        return "te"
    return "pdq"


def _text(path: Path) -> str:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror or exc}") from None
    if size > MAX_FILE:
        raise InputError(
            _("{path}: {size} bytes is too large for a hash list").format(path=path, size=size)
        )
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            _("{path}: not UTF-8 text ({reason} at byte {start})").format(
                path=path, reason=exc.reason, start=exc.start
            )
        ) from None


def read(path: Path, fmt: str | None = None, *, tags: Sequence[str] = ()) -> ReadResult:
    """Read a hash list in `fmt` (detected from its name and first line when None), each
    content tagged with `tags`; raises InputError for an unknown format, a file too large or
    not UTF-8. Bad lines are problems in the result, not errors."""
    text = _text(path)
    fmt = fmt or detect(path, text[:4096])
    if fmt not in FORMATS:
        raise InputError(
            _("unknown format {fmt!r}: one of {formats}").format(
                fmt=fmt, formats=", ".join(FORMATS)
            )
        )
    reader = {
        "te": _read_te,
        "csv": _read_csv,
        "vpdq": _read_vpdq,
        "pdq": _read_pdq,
        "stopncii": _read_stopncii,
    }[fmt]
    return reader(path, text, tuple(tags))


def _one(sig: SignalIn, tags: tuple[str, ...]) -> ContentIn:
    return ContentIn((check_signal(sig),), None, tags)


def _te_signal(st_name: str, value: str) -> SignalIn:
    st = FROM_TE.get(st_name.strip().lower())
    if st is None:
        raise InputError(
            _("signal type {st_name!r} is not one banks hold (pdq, md5, sha256, vpdq)").format(
                st_name=st_name
            )
        )
    if st == "vpdq":
        return SignalIn("vpdq", frames=parse_te_vpdq(value))
    return SignalIn(st, value.strip())


def parse_te_vpdq(value: str) -> tuple[Frame, ...]:
    """python-threatexchange's vPDQ signal string: a JSON list of "pdqhex,quality,timestamp"."""
    try:
        items = json.loads(value)
        frames = []
        for s in items:
            h, q, t = str(s).split(",")
            frames.append(Frame(h, int(q), float(t)))
    except (ValueError, TypeError):
        raise InputError(_('a vPDQ signal is a JSON list of "pdqhex,quality,timestamp"')) from None
    return tuple(frames)


def _read_te(path: Path, text: str, tags: tuple[str, ...]) -> ReadResult:
    out, problems = [], []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        st, _, value = line.partition(" ")
        try:
            out.append(_one(_te_signal(st, value), tags))
        except InputError as exc:
            problems.append(f"{path}:{n}: {exc}")
    return ReadResult(tuple(out), tuple(problems))


def _read_csv(path: Path, text: str, tags: tuple[str, ...]) -> ReadResult:
    out, problems = [], []
    rows = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("signal_type", "signal_str") if c not in (rows.fieldnames or [])]
    if missing:
        raise InputError(
            _("{path}: no column {missing} (threatexchange dataset --csv)").format(
                path=path, missing=", ".join(missing)
            )
        )
    for n, row in enumerate(rows, 2):
        try:
            row_tags = tuple((row.get("tags") or "").split()) + tags
            out.append(_one(_te_signal(row["signal_type"], row["signal_str"]), row_tags))
        except InputError as exc:
            problems.append(f"{path}:{n}: {exc}")
    return ReadResult(tuple(out), tuple(problems))


def _read_vpdq(path: Path, text: str, tags: tuple[str, ...]) -> ReadResult:
    frames, problems = [], []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            _frame, q, h, t = line.strip().split(",")
            frames.append(Frame(h.strip(), int(q), float(t)))
        except ValueError:
            problems.append(f"{path}:{n}: expected frameNumber,quality,pdqHex,timestamp")
    if not frames:
        return ReadResult((), tuple(problems) or (f"{path}: no frames",))
    try:
        return ReadResult((_one(SignalIn("vpdq", frames=tuple(frames)), tags),), tuple(problems))
    except InputError as exc:
        return ReadResult((), (*problems, f"{path}: {exc}"))


def _read_pdq(path: Path, text: str, tags: tuple[str, ...]) -> ReadResult:
    out, problems = [], []
    for n, line in enumerate(text.splitlines(), 1):
        value = line.split("#", 1)[0].strip()
        if not value:
            continue
        try:
            out.append(_one(SignalIn("pdq", value.split(",")[0]), tags))
        except InputError as exc:
            problems.append(f"{path}:{n}: {exc}")
    return ReadResult(tuple(out), tuple(problems))


def _read_stopncii(path: Path, text: str, tags: tuple[str, ...]) -> ReadResult:
    try:
        doc = json.loads(text)
        records = doc["hashRecords"] if isinstance(doc, dict) else doc
    except (ValueError, KeyError):
        try:  # JSON Lines, one record a line
            records = [json.loads(line) for line in text.splitlines() if line.strip()]
        except ValueError as exc:
            raise InputError(
                _("{path}: neither a StopNCII answer nor JSON Lines ({exc})").format(
                    path=path, exc=exc
                )
            ) from None
    out, problems, skipped = [], [], 0
    for n, rec in enumerate(records, 1):
        try:
            if not isinstance(rec, dict):
                raise InputError(_("a record is a JSON object"))
            if rec.get("hashStatus") in STOPNCII_GONE:
                skipped += 1
                continue
            st = STOPNCII_TYPES.get(str(rec.get("signalType")))
            if st is None:
                skipped += 1
                continue
            out.append(_one(SignalIn(st, str(rec.get("hashValue", ""))), tags))
        except InputError as exc:
            problems.append(f"{path}: record {n}: {exc}")
    return ReadResult(tuple(out), tuple(problems), skipped)


# --------------------------------------------------------------------------- writing
def write_te(contents: Iterable[ContentView]) -> str:
    """The contents as a ThreatExchange file: one `<signal_type> <signal>` line per signal."""
    lines = []
    for c in contents:
        for sig in c.signals:
            lines.append(f"{TE_NAMES[sig.signal_type]} {_te_value(sig)}")
    return "".join(line + "\n" for line in lines)


def _te_value(sig: SignalIn) -> str:
    if sig.signal_type == "vpdq":
        return json.dumps([f"{f.pdq},{f.quality},{f.t:.3f}" for f in sig.frames])
    return sig.value


def write_csv(contents: Iterable[ContentView], *, negative: bool = False) -> str:
    """The contents in `threatexchange dataset --csv` columns, the bank as `collab`, each
    row NEGATIVE_CLASS when `negative`, else POSITIVE_CLASS."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, CSV_COLUMNS)
    w.writeheader()
    for c in contents:
        for sig in c.signals:
            w.writerow(
                {
                    "signal_type": TE_NAMES[sig.signal_type],
                    "signal_str": _te_value(sig),
                    "collab": c.bank,
                    "category": "NEGATIVE_CLASS" if negative else "POSITIVE_CLASS",
                    "tags": " ".join(c.tags),
                }
            )
    return buf.getvalue()


def write_pdq(contents: Iterable[ContentView]) -> str:
    """The contents' PDQ hashes, one per line; other signal types are left out."""
    return "".join(
        sig.value + "\n" for c in contents for sig in c.signals if sig.signal_type == "pdq"
    )


def write_vpdq(frames: Sequence[Frame]) -> str:
    """One video's frames as a vPDQ file: frame number, quality, PDQ hash, time in seconds."""
    return "".join(f"{i},{f.quality},{f.pdq},{f.t:.3f}\n" for i, f in enumerate(frames))


def write_stopncii(contents: Iterable[ContentView]) -> str:
    """The contents as a StopNCII FetchHashes answer with one page holding every record;
    signal types StopNCII does not know are left out, and no case number is ever written."""
    records = []
    for c in contents:
        for sig in c.signals:
            st = TO_STOPNCII.get(sig.signal_type)
            if st is None:
                continue
            records.append(
                {
                    "lastModtimestamp": int(c.added_at.timestamp()),
                    "signalType": st,
                    "hashValue": sig.value,
                    "hashStatus": "Active" if c.enabled else "Withdrawn",
                    # StopNCII case numbers belong to the victim; none is ever written.
                    "caseNumbers": {},
                    "CSPFeedbacks": [],
                }
            )
    doc = {
        "count": len(records),
        "nextPageToken": None,
        "nextSetTimestamp": int(time.time()),
        "hasMoreRecords": False,
        "hashRecords": records,
    }
    return json.dumps(doc, indent=1) + "\n"
