"""The CPU fast path: an int8 network in ONNX Runtime, recorded in the weights' metadata.

Static int8 quantisation (QDQ, int8 weights per channel, uint8 activations, calibrated on
FERPlus *train* crops; the heads stay in float) of either
- a copy of the shipped network (`quantise`, `vadgrade quantise-extractor`): about 1.8x
  torch's bf16 speed on the project's 2-core CPU at the same FERPlus accuracy; or
- the compact student distilled from it (affect.distil, `vadgrade distil-extractor`),
  several times faster again, with a face output that replaces YuNet's crop check.
Whichever was made last is the weights' CPU network. It ships beside the weights; its
SHA-256, kept in their metadata, is checked at load. Its numbers differ from the torch
network's, so its rows carry their own model version and are never mixed with torch's.
"""
from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import cv2
import numpy as np
import torch

from affect.detect import verified
from affect.model import PIXEL_MEAN, PIXEL_STD, VadExpressionNet
from affect.weights import ModelInfo, default_weights_dir, load_model, read_info, write_info

INT8_FILE = "vad_resnet18.int8.onnx"
OPSET = 17
CALIBRATION_BATCH = 32
CALIBRATION_CROPS = 320     # training crops that set the activation ranges
PREDICT_BATCH = 256


class Int8Error(RuntimeError):
    """The int8 network is missing, damaged or from other weights; the message says which."""


def _inputs(crops: np.ndarray, input_size: int) -> np.ndarray:
    """uint8 [N, H, W] -> normalised float32 [N, 1, S, S], in numpy.

    No torch op runs on this path: on small CPUs torch's idle OpenMP threads spin
    against ONNX Runtime's pool and halve its speed.
    """
    if crops.shape[1:] != (input_size, input_size):
        crops = np.stack([cv2.resize(c, (input_size, input_size), interpolation=cv2.INTER_AREA) for c in crops])
    x = (crops.astype(np.float32) / 255.0 - PIXEL_MEAN) / PIXEL_STD
    return np.ascontiguousarray(x[:, None])


class _Probabilities(torch.nn.Module):
    """The network as the product uses it: vad and softmax probabilities (FER2013's too, when it has that head)."""

    def __init__(self, net: VadExpressionNet):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        vad, logits, fer_logits = self.net(x, with_fer2013=True)
        out = (vad, logits.softmax(1))
        return out if fer_logits is None else (*out, fer_logits.softmax(1))


def calibration_crops(train_images: np.ndarray, n: int = CALIBRATION_CROPS) -> np.ndarray:
    """`n` training crops, evenly spaced over the split: the calibration set of every int8 network."""
    return train_images[::max(1, len(train_images) // n)][:n]


def _head_nodes(model_path: Path, trunk_prefix: str) -> list[str]:
    """The nodes after the trunk's pooling: the heads stay in float.

    They cost nothing next to the trunk, and quantised outputs would be coarse: uint8
    softmax outputs step by 1/255 and no longer sum to 1, and V/A/D would step by 1/128.
    """
    import onnx
    graph = onnx.load(str(model_path)).graph
    return [n.name for n in graph.node if not n.name.startswith(trunk_prefix) or n.op_type == "Flatten"]


def write_int8(module: torch.nn.Module, output_names: list[str], trunk_prefix: str, calibration: np.ndarray,
               input_size: int, out_path: Path) -> str:
    """Export `module` (float in, probabilities out) to ONNX and quantise its trunk to int8 at
    `out_path`; returns the file's SHA-256.

    calibration: uint8 gray training faces [N, S, S] (a few hundred) that set the
    activation ranges; never test faces.
    """
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter({"x": _inputs(calibration[i:i + CALIBRATION_BATCH], input_size)}
                                for i in range(0, len(calibration), CALIBRATION_BATCH))

        def get_next(self) -> dict | None:
            return next(self.batches, None)

    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        torch.onnx.export(module.float().eval(), torch.zeros(2, 1, input_size, input_size), str(fp32),
                          input_names=["x"], output_names=output_names, dynamic_axes={"x": {0: "n"}},
                          opset_version=OPSET, dynamo=False)
        quantize_static(str(fp32), str(out_path), Reader(), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        nodes_to_exclude=_head_nodes(fp32, trunk_prefix))
    return hashlib.sha256(out_path.read_bytes()).hexdigest()


def quantise(calibration: np.ndarray, weights_dir: str | Path | None = None) -> ModelInfo:
    """Write an int8 copy of the network in `weights_dir` (the shipped one by default) and
    make it the weights' CPU network (replacing a distilled student's, affect.distil).

    Records file, hash, version and calibration size in the metadata; figures measured
    before on another copy are dropped.
    """
    weights_dir = Path(weights_dir) if weights_dir else default_weights_dir()
    net, info = load_model(weights_dir, "cpu")
    names = ["vad", "probs"] + (["fer2013_probs"] if info.fer2013_head else [])
    digest = write_int8(_Probabilities(net), names, "/net/trunk/", calibration, info.input_size,
                        weights_dir / INT8_FILE)
    return record_int8(weights_dir, info, {"file": INT8_FILE, "sha256": digest,
                                           "model_version": f"{info.model_version}-int8-{digest[:10]}",
                                           "calibration_crops": len(calibration), "opset": OPSET, "metrics": {}})


def record_int8(weights_dir: Path, info: ModelInfo, entry: dict) -> ModelInfo:
    """Make the int8 file described by `entry` the weights' CPU network; the one it replaces
    (when it is another file) is deleted, so no stale network lies beside the weights."""
    previous = info.int8.get("file")
    if previous and previous != entry["file"]:
        (weights_dir / previous).unlink(missing_ok=True)
    info.int8 = entry
    write_info(weights_dir, info)
    return info


def int8_path(weights_dir: str | Path | None = None) -> Path | None:
    """The weights' recorded CPU network (int8 copy or distilled student), or None when it has none."""
    weights_dir = Path(weights_dir) if weights_dir else default_weights_dir()
    int8 = read_info(weights_dir).int8
    return weights_dir / int8["file"] if int8 else None


def has_int8(weights_dir: str | Path | None = None) -> bool:
    """Whether `weights_dir` holds a recorded int8 network (metadata and file)."""
    path = int8_path(weights_dir)
    return path is not None and path.is_file()


class Int8Network:
    """The weights' int8 network in ONNX Runtime; `predict` mirrors `affect.predict.predict_arrays`."""

    def __init__(self, weights_dir: str | Path | None = None, threads: int | None = None):
        import onnxruntime as ort

        weights_dir = Path(weights_dir) if weights_dir else default_weights_dir()
        self.info = read_info(weights_dir)
        path = int8_path(weights_dir)
        if path is None or not path.is_file():
            raise Int8Error(f"no int8 network in {weights_dir}: run `vadgrade quantise-extractor`")
        verified(path, self.info.int8["sha256"], what="int8 network", error=Int8Error,
                 remedy="re-run `vadgrade quantise-extractor` or reinstall vadgrade")
        options = ort.SessionOptions()
        # One core is left to the thread that decodes the next inputs while this scores
        # (affect.extraction._Scorer): on the 2-core CPU, 4,081 vs 3,395 crops/s end to end.
        options.intra_op_num_threads = threads or max(1, torch.get_num_threads() - 1)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.model_version, self.input_size = self.info.int8["model_version"], self.info.input_size
        self.outputs = [o.name for o in self.session.get_outputs()]
        self.face_threshold = self.info.int8.get("face_threshold") if "face" in self.outputs else None

    def predict(self, images: np.ndarray, *, tta_flip: bool = False, with_fer2013: bool = False,
                with_face: bool = False) -> tuple[np.ndarray, ...]:
        """(vad [N, 3], probs [N, K]) for uint8 gray faces [N, H, W], plus FER2013 probs [N, 7]
        and the face probability [N] when asked (and the network has them)."""
        names = ["vad", "probs"] + [n for n, asked in (("fer2013_probs", with_fer2013), ("face", with_face))
                                    if asked and n in self.outputs]
        if not len(images):
            widths = {"vad": (3,), "probs": (len(self.info.expressions),), "fer2013_probs": (7,), "face": ()}
            return tuple(np.zeros((0, *widths[n]), np.float32) for n in names)
        parts: list[list[np.ndarray]] = [[] for _ in names]
        for start in range(0, len(images), PREDICT_BATCH):
            x = _inputs(images[start:start + PREDICT_BATCH], self.input_size)
            views = [x, np.ascontiguousarray(x[..., ::-1])] if tta_flip else [x]
            outs = [self.session.run(names, {"x": v}) for v in views]
            for acc, *per_view in zip(parts, *outs):
                acc.append(sum(per_view) / len(views))
        return tuple(np.concatenate(acc) for acc in parts)
