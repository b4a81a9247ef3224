"""A request's files: per language a .txt (the counsellor's note, then the request), a summary
and an .eml (Python's `email` package, UTF-8) carrying the hash list and the evidence summary as
attachments; and one hashes.csv. Never media: the files are built from hashes and text only.

The files are written into a temporary folder that is renamed into place when complete, so a
request folder is either whole or absent."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import shutil
from collections.abc import Sequence
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import formatdate, make_msgid
from pathlib import Path

from haechi.private import FILE_MODE, private_dir
from haechi.takedown.templates import LANGUAGE_TAGS, DraftContext, DraftItem, Rendered, render

HASHES = "hashes.csv"


def hashes_csv(items: Sequence[DraftItem]) -> str:
    """The items as hashes.csv (SHA-256, MD5, PDQ, kind, size in bytes, first seen; CRLF line
    ends as RFC 4180 has them): no media, no names."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["sha256", "md5", "pdq", "kind", "size", "first_seen"])
    for i in items:
        w.writerow([i.sha256, i.md5, i.pdq or "", i.kind or "", i.size, i.first_seen])
    return buf.getvalue()


def build_eml(ctx: DraftContext, text: Rendered, csv_text: str) -> EmailMessage:
    """The request as an e-mail in one language: the text as its body, hashes.csv and the
    evidence summary attached; `To` only for an e-mail channel, and a header warning when the
    platform's address is not verified."""
    msg = EmailMessage(policy=default_policy)
    msg["Subject"] = text.subject
    if ctx.sender:
        msg["From"] = f"{ctx.organisation} <{ctx.sender}>" if ctx.organisation else ctx.sender
    channel = ctx.platform.channel
    if channel.kind == "email" and channel.address:
        msg["To"] = channel.address
    msg["Date"] = formatdate(localtime=False)
    domain = ctx.sender.split("@", 1)[1] if ctx.sender else "haechi.invalid"
    msg["Message-ID"] = make_msgid(f"takedown-{ctx.request_id}-{text.language}", domain=domain)
    msg["X-Haechi-Request"] = ctx.ref
    if not ctx.platform.verified:
        # Kept out of the body (which the platform reads); a mail client shows it in the
        # source, `takedown approve` and `send` say it, and the .txt note says it in words.
        msg["X-Haechi-Channel-Verified"] = "no: check the address before sending"
    msg.set_content(text.body, charset="utf-8")
    msg.add_attachment(csv_text.encode("utf-8"), maintype="text", subtype="csv", filename=HASHES)
    msg.add_attachment(text.summary, subtype="plain", charset="utf-8", filename="summary.txt")
    # After the attachments: turning the message multipart moves Content-* headers inward.
    msg["Content-Language"] = LANGUAGE_TAGS.get(text.language, text.language)
    return msg


def write_request(folder: Path, ctx: DraftContext, languages: Sequence[str]) -> list[str]:
    """Render every language and write the request's folder; returns the file names."""
    csv_text = hashes_csv(ctx.items)
    files: dict[str, bytes] = {HASHES: csv_text.encode("utf-8")}
    for lang in languages:
        text = render(lang, ctx)
        files[f"{lang}.txt"] = text.text_file.encode("utf-8")
        files[f"{lang}-summary.txt"] = text.summary.encode("utf-8")
        files[f"{lang}.eml"] = build_eml(ctx, text, csv_text).as_bytes()
    private_dir(folder.parent)
    part = folder.with_name(folder.name + ".part")
    shutil.rmtree(part, ignore_errors=True)
    private_dir(part)
    try:
        for name, data in files.items():
            _write(part / name, data)
        if folder.exists():  # a folder left by a draft whose transaction did not commit
            shutil.rmtree(folder)
        part.rename(folder)
    except BaseException:
        shutil.rmtree(part, ignore_errors=True)
        raise
    return list(files)


def files_digest(folder: Path, names: Sequence[str]) -> dict[str, str]:
    """Each file's SHA-256: the custody log pins what was drafted, and what was approved."""
    return {n: hashlib.sha256((folder / n).read_bytes()).hexdigest() for n in names}


def _write(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
