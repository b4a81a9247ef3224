"""The pipeline: sources → worker processes (hash, decode, analyze) → one writer → the database.

- `run`: a scan of one source (`scan_source`, `scan_paths`, `ScanRun` and its one writer)
- `pool`: the worker processes, forks of one server that loaded the models (`preload`)
- `work`: what a worker does with one file
- `progress`: the events and summary a scan reports, and the observer that receives them

The public names load `run` (and its libraries) on first use, not on import: the CLI imports
`haechi.scan.pool` first thing to start the workers' server while it loads the rest."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from haechi.scan.run import ScanRun, analyzer_versions, scan_paths, scan_source, text_analyzer

__all__ = ["ScanRun", "analyzer_versions", "scan_paths", "scan_source", "text_analyzer"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("haechi.scan.run"), name)
    raise AttributeError(f"module 'haechi.scan' has no attribute {name!r}")
