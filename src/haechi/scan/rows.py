"""The rows a scan writes, built from what its source and its workers hand the writer: an
item's media facts, a sighting (where and when a file was seen, with its message's context) and
a chat message. Kept apart from the writer (`haechi.scan.writer`) so the writer's module holds
its batching and ordering, and these plain mappings are read in one place against the store's
tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from haechi.scan.work import MediaInfo
from haechi.sources import ChatMessage, Sighting


def media_row(info: MediaInfo) -> dict[str, Any]:
    """A decoded file's media facts as the item's columns."""
    return {
        "kind": info.kind,
        "format": info.format,
        "width": info.width,
        "height": info.height,
        "duration": info.duration,
        "notes": "; ".join(info.notes) or None,
    }


def sighting_row(place: Sighting, source_id: int, scan_id: int, sha256: str) -> dict[str, Any]:
    """Where and when `place` was seen, with its message's context, as a sightings row."""
    return {
        "item_sha256": sha256,
        "source_id": source_id,
        "scan_id": scan_id,
        "locator": place.locator,
        "seen_at": place.seen_at or datetime.now(UTC),
        "posted_at": place.posted_at,
        "room": place.room,
        "message_id": place.message_id,
        "url": place.url,
        "poster": place.poster,
        "forwarded_from": place.forwarded_from,
        "forwarded_from_id": place.forwarded_from_id,
        "forwarded_message_id": place.forwarded_message_id,
        "forwarded_at": place.forwarded_at,
        "context": place.context,
        "file_size": place.file_size,
        "file_mtime_ns": place.file_mtime_ns,
    }


def message_row(
    msg: ChatMessage, room_pk: int, scan_id: int, risk: tuple[float, str, dict[str, Any]] | None
) -> dict[str, Any]:
    """A chat message as a row of the messages table."""
    missing = sum(1 for m in msg.media if m.status != "present")
    return {
        "room_id": room_pk,
        "message_id": msg.id,
        "scan_id": scan_id,
        "kind": msg.kind,
        "posted_at": msg.date,
        "edited_at": msg.edited,
        "author_id": msg.author_id,
        "author_name": msg.author_name,
        "forwarded_from": msg.forwarded_from,
        "saved_from": msg.saved_from,
        "reply_to": msg.reply_to,
        "via_bot": msg.via_bot,
        "action": msg.action,
        "members": list(msg.members) or None,
        "text": msg.text,
        "links": list(msg.links) or None,
        "media": [
            {"path": m.relpath, "type": m.media_type, "mime": m.mime_type, "status": m.status}
            for m in msg.media
        ]
        or None,
        "media_count": len(msg.media),
        "media_missing": missing,
        "reactions": msg.reactions,
        "risk": risk[0] if risk else None,
        "risk_version": risk[1] if risk else None,
        "risk_detail": risk[2] if risk else None,
    }
