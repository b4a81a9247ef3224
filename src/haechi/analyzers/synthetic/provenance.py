"""C2PA Content Credentials, read with c2pa-python strictly offline.

By default c2pa-rs fetches a manifest stored at a remote URL and checks certificates online
(OCSP). A planted file could then tell its author it is being examined, and the read hangs
offline. Both are turned off here; a remote reference becomes an evidence line instead."""

from __future__ import annotations

import functools
import io
import json
from typing import Any

from haechi.analyzers.synthetic.evidence import Evidence, Points, clip_text, info, unreadable

# Settings of c2pa-rs (the version pinned with c2pa-python): no network at all.
OFFLINE_SETTINGS: dict[str, Any] = {
    "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
    "core": {"allowed_network_hosts": []},
}

# Bytes that may mean a manifest: a JUMBF box ("jumb"), the C2PA label, or an XMP
# dcterms:provenance reference to a remote manifest. Files without any skip the reader.
MARKERS = (b"jumb", b"c2pa", b"provenance")

IPTC_SOURCE = "http://cv.iptc.org/newscodes/digitalsourcetype/"
# digitalSourceType values (IPTC) and what they say.
SOURCE_TYPES: dict[str, tuple[Points, str]] = {
    "trainedAlgorithmicMedia": ("synthetic", "made by a generative model trained on data"),
    "algorithmicMedia": ("synthetic", "made by an algorithm, not captured by a camera"),
    "compositeWithTrainedAlgorithmicMedia": (
        "manipulated",
        "a capture combined with generative-model output (e.g. inpainting, face swap)",
    ),
    "compositeSynthetic": ("manipulated", "a composite including synthetic elements"),
    "algorithmicallyEnhanced": ("manipulated", "a capture altered by an algorithm"),
    "digitalCapture": ("info", "captured by a camera or recorder"),
    "digitalArt": ("info", "made by a person with digital tools"),
    "composite": ("info", "a composite of several elements"),
}
TAMPER_CODES = ("dataHash.mismatch", "bmffHash.mismatch", "boxesHash.mismatch", "collectionHash")


def has_marker(data: bytes) -> bool:
    """Whether the bytes contain anything a C2PA manifest store would (a cheap test before the C2PA
    reader runs)."""
    return any(m in data for m in MARKERS)


@functools.cache
def _context() -> Any:
    from c2pa import Context, Settings

    return Context(Settings.from_dict(OFFLINE_SETTINGS))


def read_c2pa(data: bytes, mime: str) -> list[Evidence]:
    """Evidence from the file's C2PA manifest store (none when the file has no marker)."""
    if not has_marker(data):
        return [info("c2pa", "no Content Credentials (C2PA manifest) in the file")]
    from c2pa import C2paError, Reader

    try:
        with Reader(mime, io.BytesIO(data), context=_context()) as reader:
            store = json.loads(reader.json())
            state = str(reader.get_validation_state() or "")
    except C2paError as exc:
        msg = str(exc)
        kind = type(exc).__name__
        if "ManifestNotFound" in kind or "ManifestNotFound" in msg:
            return [info("c2pa", "no Content Credentials (C2PA manifest) in the file")]
        if "Remote" in kind or msg.startswith("Remote"):
            url = msg.rsplit("url ", 1)[-1] if "url " in msg else "an address in the file"
            return [
                Evidence(
                    "c2pa",
                    f"the manifest is remote ({clip_text(url, 120)}) and was not fetched: "
                    "analysis never contacts the network",
                )
            ]
        return [unreadable("c2pa", f"the manifest store cannot be read ({clip_text(msg)})")]
    except (ValueError, RecursionError, OSError) as exc:
        return [unreadable("c2pa", f"the manifest store cannot be read ({clip_text(str(exc))})")]
    return _from_store(store, state)


def _from_store(store: dict[str, Any], state: str) -> list[Evidence]:
    out: list[Evidence] = []
    manifests = store.get("manifests") or {}
    active = manifests.get(store.get("active_manifest") or "") or {}
    statuses = store.get("validation_status") or []
    codes = [str(s.get("code", "")) for s in statuses if isinstance(s, dict)]
    tampered = [c for c in codes if any(t in c for t in TAMPER_CODES)]
    failures = [c for c in codes if c not in tampered and c != "signingCredential.untrusted"]
    trust = (
        "signed with a certificate not on a trust list (checked offline)"
        if "signingCredential.untrusted" in codes
        else "signature checked offline"
    )
    gen = active.get("claim_generator") or ", ".join(
        str(g.get("name", "")) for g in active.get("claim_generator_info") or []
    )
    sig = active.get("signature_info") or {}
    out.append(
        info(
            "c2pa",
            f"manifest present, validation state {state or 'unknown'}; {trust}; "
            f"claim generator {clip_text(str(gen or 'not named'), 80)}; "
            f"issuer {clip_text(str(sig.get('issuer', 'unknown')), 60)}",
        )
    )
    if tampered:
        out.append(
            Evidence(
                "c2pa.validation",
                f"the content was altered after it was signed ({', '.join(tampered)}): "
                "the pixels no longer match the signed hash",
                "manipulated",
                0.8,
            )
        )
    if failures:
        out.append(Evidence("c2pa.validation", f"validation failures: {', '.join(failures[:6])}"))
    trusted_hashes = not tampered
    for action in _actions(active):
        name = str(action.get("action", ""))
        dst = str(action.get("digitalSourceType") or "")
        if not dst:
            continue
        short = dst.removeprefix(IPTC_SOURCE).rsplit("/", 1)[-1]
        points, meaning = SOURCE_TYPES.get(short, ("info", "a source type haechi does not know"))
        conf = 0.0
        if points != "info":
            conf = 0.97 if trusted_hashes else 0.85
        out.append(
            Evidence(
                "c2pa.digitalSourceType",
                f"{short} on action {name or '?'}: {meaning}",
                points,
                conf,
            )
        )
    ingredients = active.get("ingredients") or []
    if ingredients:
        titles = ", ".join(clip_text(str(i.get("title", "?")), 40) for i in ingredients[:5])
        out.append(info("c2pa.ingredients", f"{len(ingredients)} ingredient(s): {titles}"))
    steps = [str(a.get("action", "")) for a in _actions(active) if a.get("action")]
    if steps:
        out.append(info("c2pa.actions", ", ".join(steps[:12])))
    return out


def _actions(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    acts: list[dict[str, Any]] = []
    for a in manifest.get("assertions") or []:
        if not isinstance(a, dict) or not str(a.get("label", "")).startswith("c2pa.actions"):
            continue
        data = a.get("data") or {}
        acts.extend(x for x in data.get("actions") or [] if isinstance(x, dict))
    return acts
