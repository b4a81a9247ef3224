"""Anchors of the custody log: copies of its head (seq and hash) kept outside the database, in the
one-row custody_head table, a head file on other media, or a timestamp token; a rewritten log
is only detected against one."""

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from sqlalchemy.orm import Session

from haechi.private import create_private
from haechi.store.custody_hash import GENESIS_HASH
from haechi.store.evidence_models import CustodyHead

HEAD_ROW_ID: Final = 1
_HEX64_RE: Final = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class HeadAnchor:
    """A copy of the chain head kept somewhere else (file, TSA token, printout)."""

    seq: int
    head_hash: str
    source: str = "anchor"

    def to_json(self) -> str:
        """The head file's content."""
        return (
            json.dumps(
                {
                    "format": "haechi-custody-head",
                    "version": 1,
                    "seq": self.seq,
                    "head_hash": self.head_hash,
                },
                indent=2,
            )
            + "\n"
        )


# --------------------------------------------------------------------------- anchors
def current_anchor(session: Session) -> HeadAnchor | None:
    """The head row of the database (None for an empty log): what an anchor kept elsewhere is
    compared with."""
    head = session.get(CustodyHead, HEAD_ROW_ID)
    return None if head is None else HeadAnchor(head.last_seq, head.head_hash, "custody_head")


def write_head_file(session: Session, path: str | Path) -> HeadAnchor:
    """Write the current head (seq + hash) to a small JSON file to keep elsewhere."""
    cur = current_anchor(session) or HeadAnchor(0, GENESIS_HASH)
    anchor = HeadAnchor(cur.seq, cur.head_hash, f"head file {path}")
    _write_text_durably(Path(path), anchor.to_json())
    return anchor


def _write_text_durably(path: Path, content: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    with os.fdopen(create_private(tmp), "w", encoding="utf-8") as fh:
        fh.write(content)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)


def read_head_file(path: str | Path) -> HeadAnchor:
    """The anchor in a head file; ValueError if the file is not one or is malformed."""
    data = json.loads(Path(path).read_text("utf-8"))
    if data.get("format") != "haechi-custody-head":
        raise ValueError(f"{path} is not a custody head file")
    seq, head_hash = data["seq"], data["head_hash"]
    if not isinstance(seq, int) or not isinstance(head_hash, str) or not _HEX64_RE.match(head_hash):
        raise ValueError(f"{path}: malformed head file")
    return HeadAnchor(seq, head_hash, f"head file {path}")
