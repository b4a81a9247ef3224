"""The pipeline: sources → worker processes (hash, decode, analyze) → one writer → the database.

- `run`: a scan of one source (`scan_source`, `scan_paths`): what goes to the workers, what
  straight to the writer, and when a stream commits
- `record`: one scan's record (`ScanRun`: its Scan row, resume point and summary) and the
  analyzers every stored item must have run (`analyzer_versions`)
- `writer`: the one writer, committing in batches in the source's order (`text_analyzer` scores
  chat messages), and `rows`: the rows it writes
- `pool`: the worker processes, forks of one server that loaded the models (`preload`), and
  `dispatch`: one run's files handed to them, in a bounded window
- `work`: what a worker does with one file
- `progress`: the events and summary a scan reports, and the observer that receives them

The public names load their modules (and their libraries) on first use, not on import: the CLI
imports `haechi.scan.pool` first thing to start the workers' server while it loads the rest."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from haechi.scan.record import ScanRun, analyzer_versions
    from haechi.scan.run import scan_paths, scan_source
    from haechi.scan.writer import text_analyzer

# Each public name and the module that holds it.
_HOME = {
    "ScanRun": "haechi.scan.record",
    "analyzer_versions": "haechi.scan.record",
    "scan_paths": "haechi.scan.run",
    "scan_source": "haechi.scan.run",
    "text_analyzer": "haechi.scan.writer",
}

__all__ = ["ScanRun", "analyzer_versions", "scan_paths", "scan_source", "text_analyzer"]


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(importlib.import_module(_HOME[name]), name)
    raise AttributeError(f"module 'haechi.scan' has no attribute {name!r}")
