"""YuNet, OpenCV Zoo's face detector, run in onnxruntime and decoded exactly as OpenCV's
`cv2.FaceDetectorYN` decodes it: the same rows (x, y, w, h, five landmarks, score) for the
same image, about three times faster on this CPU, because onnxruntime runs the network with
its int8 weights dequantized once (see `models.float_weight_model`) where OpenCV's DNN does
not. tests/test_faces.py compares the two on every test photo."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import cv2
import numpy as np
import numpy.typing as npt

from haechi.analyzers.models import cached_session, float_weight_model

Rows = npt.NDArray[np.float32]  # x, y, w, h, 5 × (x, y) landmarks, score; input pixels
STRIDES: Final[tuple[int, ...]] = (8, 16, 32)
_OUTPUTS: Final[list[str]] = [f"{k}_{s}" for k in ("cls", "obj", "bbox", "kps") for s in STRIDES]


class YuNet:
    """Faces in a BGR image of any size; the thresholds are FaceDetectorYN's."""

    def __init__(
        self, path: Path, score_threshold: float, nms_threshold: float, top_k: int = 5000
    ) -> None:
        self.session: Any = cached_session(path, "float-any-size", lambda: _any_size(path))
        self.input = self.session.get_inputs()[0].name
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.top_k = top_k

    def detect(self, bgr: npt.NDArray[np.uint8]) -> Rows:
        """The faces of a BGR image as rows (x, y, w, h, five landmarks, score) in its pixels, after
        OpenCV's NMS; the same rows FaceDetectorYN gives."""
        h, w = bgr.shape[:2]
        # Padded below and right to a multiple of 32, as FaceDetectorYN does.
        ph, pw = -h % 32, -w % 32
        padded = (
            cv2.copyMakeBorder(bgr, 0, ph, 0, pw, cv2.BORDER_CONSTANT, value=(0, 0, 0))
            if ph or pw
            else bgr
        )
        blob = cv2.dnn.blobFromImage(padded)
        out = dict(zip(_OUTPUTS, self.session.run(_OUTPUTS, {self.input: blob}), strict=True))
        found = [self._decode(out, s, (w + pw) // s) for s in STRIDES]
        faces = np.concatenate(found, axis=0)
        if len(faces) > 1:
            # OpenCV's own NMS on the integer boxes FaceDetectorYN gives it.
            boxes = [(int(x), int(y), int(bw), int(bh)) for x, y, bw, bh in faces[:, :4]]
            keep = cv2.dnn.NMSBoxes(
                boxes,
                faces[:, 14].tolist(),
                self.score_threshold,
                self.nms_threshold,
                1.0,
                self.top_k,
            )
            faces = faces[np.asarray(keep, dtype=np.int64).reshape(-1)]
        return faces

    def _decode(self, out: dict[str, Any], stride: int, cols: int) -> Rows:
        cls = np.clip(out[f"cls_{stride}"].reshape(-1), 0.0, 1.0)
        obj = np.clip(out[f"obj_{stride}"].reshape(-1), 0.0, 1.0)
        score = np.sqrt(cls * obj)
        idx = np.flatnonzero(score >= self.score_threshold)
        rows = np.empty((idx.size, 15), np.float32)
        if not idx.size:
            return rows
        c = (idx % cols).astype(np.float32)
        r = (idx // cols).astype(np.float32)
        box = out[f"bbox_{stride}"].reshape(-1, 4)[idx]
        kps = out[f"kps_{stride}"].reshape(-1, 10)[idx]
        bw = np.exp(box[:, 2]) * stride
        bh = np.exp(box[:, 3]) * stride
        rows[:, 0] = (c + box[:, 0]) * stride - bw / 2
        rows[:, 1] = (r + box[:, 1]) * stride - bh / 2
        rows[:, 2] = bw
        rows[:, 3] = bh
        rows[:, 4:14:2] = (kps[:, 0::2] + c[:, None]) * stride
        rows[:, 5:14:2] = (kps[:, 1::2] + r[:, None]) * stride
        rows[:, 14] = score[idx]
        return rows


def _any_size(path: Path) -> Any:
    """The network with float weights and open input sizes: the file fixes 640 × 640, but the
    network is fully convolutional and OpenCV reshapes it to each image's size."""
    model = float_weight_model(path)
    for value in (*model.graph.input, *model.graph.output):
        for i, dim in enumerate(value.type.tensor_type.shape.dim):
            if value.name == model.graph.input[0].name and i < 2:
                continue
            dim.ClearField("dim_value")
            dim.dim_param = f"{value.name}_{i}"
    return model
