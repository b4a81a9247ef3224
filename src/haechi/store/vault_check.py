"""Checking one blob file without trusting it: which way it is damaged (missing, truncated,
swapped, altered, under another key), so `haechi evidence verify` can say what happened."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from haechi.store.vault_format import (
    HEADER_SIZE,
    NONCE_SIZE,
    TAG_SIZE,
    BlobHeader,
    BlobIntegrityError,
    BlobProblem,
    BlobProblemKind,
    BlobReader,
    HeaderError,
    parse_header,
    read_full,
)


def check_blob(
    path: Path,
    sha256: str,
    key_id: bytes,
    aead: AESGCM,
    open_blob: Callable[[str], BlobReader],
) -> list[BlobProblem]:
    """Fully decrypt and check the blob at `path`; the problems found (empty = intact)."""

    def problem(kind: BlobProblemKind, msg: str) -> list[BlobProblem]:
        return [BlobProblem(sha256, kind, f"blob {sha256}: {msg}")]

    try:
        fh = path.open("rb")
    except FileNotFoundError:
        return problem("missing", f"missing (no file {path})")
    with fh:
        actual = os.fstat(fh.fileno()).st_size
        try:
            header = parse_header(read_full(fh, HEADER_SIZE))
        except HeaderError as exc:
            return problem("truncated" if actual < HEADER_SIZE else "malformed", str(exc))
        if header.key_id != key_id:
            return problem(
                "wrong_key", f"encrypted under another key (key id {header.key_id.hex()})"
            )
        first_ok = chunk_authenticates(aead, fh, header, 0)
        if header.blob_id.hex() != sha256:
            if first_ok:
                return problem(
                    "swapped",
                    f"the file holds blob {header.blob_id.hex()} instead "
                    "(blob files swapped, renamed or replaced)",
                )
            return problem("altered", "header altered (blob id does not authenticate)")
        if actual != header.file_size and not first_ok:
            return problem(
                "truncated" if actual < header.file_size else "altered",
                f"file is {actual} bytes but its header says {header.file_size}, and "
                "chunk 0 fails authentication: header altered, or file truncated/extended",
            )
        if actual != header.file_size:
            if actual < header.file_size:
                return problem(
                    "truncated",
                    f"truncated: file is {actual} bytes, expected {header.file_size}",
                )
            return problem(
                "altered",
                f"{actual - header.file_size} extra bytes appended "
                f"(file is {actual} bytes, expected {header.file_size})",
            )
        if not first_ok:
            return problem("altered", "header or chunk 0 failed authentication (altered)")
    try:
        with open_blob(sha256) as reader:
            for _ in reader:
                pass
    except BlobIntegrityError as exc:
        return [BlobProblem(sha256, "altered", str(exc))]
    return []


def chunk_authenticates(aead: AESGCM, fh: BinaryIO, header: BlobHeader, index: int) -> bool:
    """Whether chunk `index` decrypts: the header and the chunk were written together."""
    fh.seek(HEADER_SIZE)
    record = read_full(fh, NONCE_SIZE + header.chunk_len(index) + TAG_SIZE)
    try:
        aead.decrypt(record[:NONCE_SIZE], record[NONCE_SIZE:], header.aad(index))
    except (InvalidTag, ValueError):
        return False
    return True
