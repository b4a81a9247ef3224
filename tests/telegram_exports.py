"""Telegram Desktop exports the tests and the benchmark write: a large generated result.json
(nothing real in it: numbered users, NATO words, invented paths)."""

from __future__ import annotations

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


def _message(i: int) -> dict[str, Any]:
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
            chunk = json.dumps(_message(count), ensure_ascii=False, indent=1)
            if count > 1:
                chunk = ",\n" + chunk
            out.write(chunk)
            written += len(chunk)
        out.write("\n ]\n}\n")
    return path, count
