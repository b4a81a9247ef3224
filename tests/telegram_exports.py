"""Telegram Desktop exports the tests and the benchmark write: a large generated result.json
(nothing real in it: numbered users, NATO words, invented paths)."""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path
from typing import Any

# fmt: off
_WORDS = [
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
    "juliet", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo",
    "sierra", "tango", "uniform", "victor", "whiskey", "xray",
]
# fmt: on


def message_json(i: int) -> dict[str, Any]:
    """Message `i` of a big export, as Telegram Desktop writes it, in a fixed rotation: service
    messages, text with links, photos and videos whose files were not exported, forwarded
    replies, animations left out."""
    stamp = 1_700_000_000 + i * 7
    base: dict[str, Any] = {
        "id": i,
        "type": "message",
        "date": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(stamp)),
        "date_unixtime": str(stamp),
        "from": f"User {i % 97}",
        "from_id": f"user{1000 + i % 97}",
    }
    words = " ".join(_WORDS[(i + k) % len(_WORDS)] for k in range(8 + i % 25))
    kind = i % 10
    if kind == 0:
        return {
            "id": i,
            "type": "service",
            "date": base["date"],
            "date_unixtime": base["date_unixtime"],
            "actor": base["from"],
            "actor_id": base["from_id"],
            "action": "invite_members",
            "members": [f"User {(i + 1) % 97}", f"User {(i + 2) % 97}"],
            "text": "",
            "text_entities": [],
        }
    if kind in (1, 2):
        base["text"] = [
            words,
            {"type": "link", "text": f"https://example.org/{i}"},
            " and ",
            {"type": "text_link", "text": "here", "href": f"https://t.me/+invite{i}"},
        ]
        base["text_entities"] = [
            {"type": "plain", "text": words},
            {"type": "link", "text": f"https://example.org/{i}"},
            {"type": "plain", "text": " and "},
            {"type": "text_link", "text": "here", "href": f"https://t.me/+invite{i}"},
        ]
        return base
    if kind == 3:
        base["photo"] = f"photos/photo_{i}@01-01-2024_00-00-00.jpg"
        base["width"] = 1280
        base["height"] = 720
    elif kind == 4:
        base["file"] = f"video_files/video_{i}.mp4"
        base["thumbnail"] = f"video_files/video_{i}.mp4_thumb.jpg"
        base["media_type"] = "video_file"
        base["mime_type"] = "video/mp4"
        base["duration_seconds"] = 30
    elif kind == 5:
        base["forwarded_from"] = f"Channel {i % 13}"
        base["reply_to_message_id"] = i - 1
    elif kind == 6:
        base["file"] = "(File not included. Change data exporting settings to download.)"
        base["media_type"] = "animation"
        base["mime_type"] = "video/mp4"
        base["reactions"] = [{"type": "emoji", "count": 3, "emoji": "+"}]
    base["text"] = words
    base["text_entities"] = [{"type": "plain", "text": words}]
    return base


def write_big_export(folder: Path, target_bytes: int) -> tuple[Path, int]:
    """Write ``folder/result.json`` (single-chat export) of about
    ``target_bytes``; return its path and the number of messages."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "result.json"
    count = 0
    with path.open("w", encoding="utf-8") as out:
        out.write('{\n "name": "Big Room",\n "type": "private_supergroup",\n')
        out.write(' "id": 4242,\n "messages": [\n')
        written = 0
        while written < target_bytes:
            count += 1
            chunk = json.dumps(message_json(count), ensure_ascii=False, indent=1)
            if count > 1:
                chunk = ",\n" + chunk
            out.write(chunk)
            written += len(chunk)
        out.write("\n ]\n}\n")
    return path, count


# Files of every kind an export carries besides photos and videos (made here, nothing real):
# a voice message (Opus in Ogg), music (MP3), an animated sticker (.tgs: gzipped JSON), an SVG
# that names an outside resource (it must never be rendered or fetched) and a PDF.
OTHER_FILES: dict[str, tuple[bytes, str | None, str]] = {
    "voice_messages/audio_1@01-03-2024_10-00-00.ogg": (
        b"OggS\x00\x02" + bytes(range(256)) * 4, "voice_message", "audio/ogg"
    ),
    "files/song.mp3": (b"ID3\x03\x00\x00\x00\x00\x00\x00" + bytes(range(200)) * 3, "audio_file",
                       "audio/mpeg"),
    "stickers/sticker.tgs": (gzip.compress(b'{"tgs":1,"v":"5.5.2"}'), "sticker",
                             "application/x-tgsticker"),
    "files/drawing.svg": (
        b'<svg xmlns="http://www.w3.org/2000/svg"><image href="http://198.51.100.7/x.png"/></svg>',
        None, "image/svg+xml",
    ),
    "files/notes.pdf": (b"%PDF-1.4\n% haechi test document\n%%EOF\n", None, "application/pdf"),
}  # fmt: skip


def write_media_export(
    folder: Path, photo: bytes, *, chat_id: int = 4242, name: str = "result.json"
) -> dict[str, bytes]:
    """A single-chat JSON export whose messages carry one photo and each of `OTHER_FILES`;
    returns the bytes of each file by its path in the export."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {"photos/t.jpg": photo, **{k: v[0] for k, v in OTHER_FILES.items()}}
    for rel, data in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    messages: list[dict[str, Any]] = []
    for i, rel in enumerate(files, start=10):
        msg: dict[str, Any] = {
            "id": i,
            "type": "message",
            "date": "2024-03-01T10:00:00",
            "date_unixtime": str(1709287200 + i),
            "from": "Seller",
            "from_id": "user42",
            "text": f"file {i}",
        }
        if rel == "photos/t.jpg":
            msg["photo"] = rel
        else:
            _, media_type, mime = OTHER_FILES[rel]
            msg["file"] = rel
            msg["mime_type"] = mime
            if media_type:
                msg["media_type"] = media_type
        messages.append(msg)
    doc = {"name": f"Room {chat_id}", "type": "private_group", "id": chat_id, "messages": messages}
    (folder / name).write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    return files
