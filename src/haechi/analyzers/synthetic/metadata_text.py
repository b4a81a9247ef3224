"""Judging the text generators write (prompts, parameters, ComfyUI workflows) wherever it was
found: JSON read within size and depth limits, generator names recognised, each finding one
evidence line."""

from __future__ import annotations

import json

from haechi.analyzers.synthetic.evidence import Evidence, clip_text, unreadable

MAX_TEXT = 4 * 1024 * 1024  # bytes of one text chunk once inflated
MAX_JSON = 2 * 1024 * 1024
MAX_JSON_DEPTH = 64

GENERATOR_WORDS = (
    "stable diffusion", "stable-diffusion", "novelai", "midjourney", "dall-e", "dall·e",
    "firefly", "comfyui", "automatic1111", "invokeai", "fooocus", "imagen", "flux",
    "leonardo.ai", "nightcafe", "dreamstudio", "sdxl", "deepfacelab", "faceswap", "roop",
    "facefusion",
)  # fmt: skip
A1111_KEYS = ("Steps:", "Sampler:", "CFG scale:", "Seed:")


def _json(text: str, source: str) -> tuple[object | None, Evidence | None]:
    """Parse JSON found in metadata, refusing what is too large or too deeply nested before
    the parser sees it (a recursion bomb would otherwise cost a stack overflow)."""
    if len(text) > MAX_JSON:
        return None, unreadable(source, f"JSON of {len(text)} bytes, over {MAX_JSON} (not parsed)")
    depth = peak = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            peak = max(peak, depth)
            if peak > MAX_JSON_DEPTH:
                return None, unreadable(
                    source, f"JSON nested deeper than {MAX_JSON_DEPTH} levels (not parsed)"
                )
        elif ch in "]}":
            depth -= 1
    try:
        return json.loads(text), None
    except (ValueError, RecursionError) as exc:
        return None, unreadable(source, f"invalid JSON ({clip_text(str(exc), 80)})")


def judge_text(source: str, key: str, text: str) -> list[Evidence]:
    """Evidence from one piece of metadata text by its key: A1111 parameters, ComfyUI prompt or
    workflow, generator settings or names; nothing when it says nothing."""
    k = key.lower()
    if k == "parameters":
        hits = [h for h in A1111_KEYS if h in text]
        if len(hits) >= 2:
            return [
                generator_evidence(source, "AUTOMATIC1111/Forge generation parameters", text, 0.93)
            ]
        parsed, bad = _json(text, source) if text.lstrip().startswith("{") else (None, None)
        if isinstance(parsed, dict) and {"prompt", "base_model"} & set(parsed):
            return [generator_evidence(source, "Fooocus generation parameters", text, 0.93)]
        if bad:
            return [bad]
        return [
            generator_evidence(
                source, "a 'parameters' text chunk without the usual fields", text, 0.6
            )
        ]
    if k in ("prompt", "workflow"):
        parsed, bad = _json(text, source)
        if bad:
            return [bad]
        if _looks_comfy(parsed):
            return [generator_evidence(source, f"ComfyUI {k} graph", text, 0.93)]
        return []
    if k in ("invokeai_metadata", "invokeai_graph", "sd-metadata", "dream"):
        if k != "dream":
            _parsed, bad = _json(text, source)
            if bad:
                return [bad]
        return [generator_evidence(source, "InvokeAI generation metadata", text, 0.93)]
    if k == "fooocus_scheme":
        return [generator_evidence(source, "Fooocus metadata scheme", text, 0.9)]
    if k in ("software", "source", "comment", "description", "title"):
        low = text.lower()
        if "novelai" in low:
            return [generator_evidence(source, "NovelAI", text, 0.93)]
        if k == "comment" and text.lstrip().startswith("{"):
            parsed, bad = _json(text, source)
            if bad:
                return [bad]
            if isinstance(parsed, dict) and {"steps", "sampler", "seed"} <= set(parsed):
                return [
                    generator_evidence(
                        source, "generation settings (steps, sampler, seed)", text, 0.9
                    )
                ]
        words = [w for w in GENERATOR_WORDS if w in low]
        if words:
            return [generator_evidence(source, f"names a generator ({words[0]})", text, 0.85)]
    return []


def _looks_comfy(parsed: object) -> bool:
    if isinstance(parsed, dict):
        if "nodes" in parsed and "links" in parsed:
            return True
        return any(isinstance(v, dict) and "class_type" in v for v in parsed.values())
    return False


def generator_evidence(source: str, what: str, text: str, conf: float) -> Evidence:
    """One evidence line pointing to a synthetic image, quoting the text briefly."""
    return Evidence(source, f"{what}: “{clip_text(text, 120)}”", "synthetic", conf)
