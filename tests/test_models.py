"""Model files derived from the bundled weights: the PRelu rewrite gives the same values bit
for bit, and the on-disk cache of derived models is only ever a shortcut."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from haechi.analyzers import face_calibration as fm
from haechi.analyzers import models


def _conv_prelu(slope_shape: tuple[int, ...] = (4, 1, 1)) -> onnx.ModelProto:
    """A 3-channel convolution followed by a PRelu, made here."""
    rng = np.random.default_rng(5)
    weights = [
        numpy_helper.from_array(rng.normal(size=(4, 3, 3, 3)).astype(np.float32), "w"),
        numpy_helper.from_array(rng.normal(size=slope_shape).astype(np.float32), "slope"),
    ]
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
            helper.make_node("PRelu", ["c", "slope"], ["y"]),
        ],
        "conv_prelu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 16, 16])],
        weights,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    session = models.session_for(model, Path("made-in-test.onnx"))
    return np.asarray(session.run(None, {session.get_inputs()[0].name: x})[0])


@pytest.mark.parametrize("slope_shape", [(4, 1, 1), (1, 4, 1, 1), (16,), (1,)])
def test_prelu_rewritten_gives_prelus_values(slope_shape: tuple[int, ...]) -> None:
    x = np.random.default_rng(6).normal(size=(1, 3, 16, 16)).astype(np.float32)
    rewritten = models.prelu_as_convolutions(_conv_prelu(slope_shape))
    assert "PRelu" not in {n.op_type for n in rewritten.graph.node}
    before, after = _run(_conv_prelu(slope_shape), x), _run(rewritten, x)
    assert (before < 0).any() and (before > 0).any()
    # Equal within float32 rounding (a fused add rounds once where PRelu rounds twice).
    np.testing.assert_allclose(after, before, rtol=1e-6, atol=1e-6)
    if slope_shape in ((16,), (1,)):  # not per channel: the element-wise form, exact
        assert np.array_equal(before, after)


def test_sface_features_are_unchanged_by_the_rewrite() -> None:
    path = fm.bundled_model_dir() / fm.RECOGNISER_FILE
    faces = np.random.default_rng(7).uniform(0, 255, (4, 3, 112, 112)).astype(np.float32)
    plain = models.float_weight_model(path)
    fast = models.prelu_as_convolutions(models.float_weight_model(path))
    for face in faces:
        a = _run(plain, face[None]).ravel().astype(np.float64)
        b = _run(fast, face[None]).ravel().astype(np.float64)
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
        assert np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b) > 1 - 1e-9


def test_a_derived_model_is_made_once_then_loaded_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HAECHI_MODEL_CACHE", str(tmp_path / "cache"))
    source = tmp_path / "conv_prelu.onnx"
    onnx.save(_conv_prelu(), source)
    built: list[int] = []

    def build() -> Any:
        built.append(1)
        return models.prelu_as_convolutions(onnx.load(str(source)))

    x = np.ones((1, 3, 16, 16), np.float32)
    first = models.cached_session(source, "relu", build)
    second = models.cached_session(source, "relu", build)
    assert len(built) == 1
    (cached,) = (tmp_path / "cache").glob("conv_prelu.relu.*.onnx")
    assert np.array_equal(first.run(None, {"x": x})[0], second.run(None, {"x": x})[0])
    # A damaged file is made again, not trusted.
    cached.write_bytes(b"not a model")
    third = models.cached_session(source, "relu", build)
    assert len(built) == 2
    assert np.array_equal(third.run(None, {"x": x})[0], first.run(None, {"x": x})[0])
    # Another source file (other weights, same name) is another entry; the stale one goes.
    onnx.save(models.prelu_as_convolutions(_conv_prelu()), source)
    models.file_sha256.cache_clear()
    models.cached_session(source, "relu", build)
    assert len(built) == 3
    assert len(list((tmp_path / "cache").glob("conv_prelu.*.onnx"))) == 1


def test_a_cache_that_cannot_be_written_costs_only_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("the cache directory cannot be made below a file")
    monkeypatch.setenv("HAECHI_MODEL_CACHE", str(blocker / "cache"))
    source = tmp_path / "conv_prelu.onnx"
    onnx.save(_conv_prelu(), source)
    session = models.cached_session(
        source, "relu", lambda: models.prelu_as_convolutions(_conv_prelu())
    )
    x = np.ones((1, 3, 16, 16), np.float32)
    assert np.array_equal(session.run(None, {"x": x})[0], _run(_conv_prelu(), x))
