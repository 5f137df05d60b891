"""How much an int8 ONNX Runtime copy of the shipped network would buy on this CPU (issue 14).

Usage: python benchmarks/onnx_int8.py [--data FERPLUS_DIR] [--runs 5] [--calibration 320]
Needs `onnx` and `onnxruntime` (`make bench` installs them; the product does not use them yet).

Exports the shipped network (fp32) to ONNX, quantises it statically (QDQ, int8 weights per
channel, uint8 activations) on crops of FERPlus *train*, and then, on the FERPlus test
split in one run: FERPlus majority accuracy of torch (the product path: bf16 autocast on
CPUs that have it), ONNX fp32 and ONNX int8 (no flip TTA), and the network's faces/s at
batch 64 for each (median of --runs). Network only: decoding and the crop face check
are not in these figures. Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from affect.data import load_ferplus  # noqa: E402
from affect.model import normalise  # noqa: E402
from affect.predict import predict_arrays  # noqa: E402
from affect.weights import load_model  # noqa: E402
from benchmarks.extract_speed import ferplus_split  # noqa: E402

BATCH = 64


class _Probabilities(torch.nn.Module):
    """The network as the product uses it: (vad, expression probabilities)."""

    def __init__(self, net: torch.nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        vad, logits, *_ = self.net(x)
        return vad, logits.softmax(1)


def _inputs(crops: np.ndarray) -> np.ndarray:
    return normalise(torch.from_numpy(crops)[:, None]).numpy().astype(np.float32)


def _export(net: torch.nn.Module, path: Path) -> None:
    torch.onnx.export(_Probabilities(net).eval(), torch.zeros(BATCH, 1, 48, 48), str(path), input_names=["x"],
                      output_names=["vad", "probs"], dynamic_axes={"x": {0: "n"}}, opset_version=17, dynamo=False)


def _quantise(fp32: Path, int8: Path, calibration: np.ndarray) -> None:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter({"x": _inputs(calibration[i:i + 32])} for i in range(0, len(calibration), 32))

        def get_next(self) -> dict | None:
            return next(self.batches, None)

    quantize_static(str(fp32), str(int8), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)


def _rate(fn, n: int, runs: int) -> float:
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return n / median(times)


def main() -> None:
    import onnxruntime as ort
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--calibration", type=int, default=320, help="FERPlus train crops for int8 calibration")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        test = load_ferplus(ferplus_split(args.data, tmp, "FER2013Test"), "test")
        train = load_ferplus(ferplus_split(args.data, tmp, "FER2013Train"), "train")
        step = max(1, len(train.images) // args.calibration)
        calibration = train.images[::step][:args.calibration]
        net, info = load_model(None, torch.device("cpu"))
        net = net.float().eval()
        _export(net, tmp / "fp32.onnx")
        _quantise(tmp / "fp32.onnx", tmp / "int8.onnx", calibration)
        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        # Idle ONNX Runtime threads must not spin against torch's while torch is timed.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        sessions = {name: ort.InferenceSession(str(tmp / f"{name}.onnx"), options) for name in ("fp32", "int8")}

    labelled = test.label >= 0
    images = test.images

    def onnx_probs(session) -> np.ndarray:
        return np.concatenate([session.run(None, {"x": _inputs(images[i:i + 256])})[1]
                               for i in range(0, len(images), 256)])

    probs = {"torch": predict_arrays(net, images, input_size=info.input_size, tta_flip=False)[1],
             **{f"onnx_{name}": onnx_probs(s) for name, s in sessions.items()}}
    batches = [images[i:i + BATCH] for i in range(0, 512, BATCH)]
    # ONNX inputs are prepared before timing: torch ops between ONNX runs would wake torch's
    # OpenMP threads, which then spin against ONNX Runtime's own pool on 2 cores.
    ready = [_inputs(b) for b in batches]
    speed = {"torch": _rate(lambda: [predict_arrays(net, b, input_size=info.input_size, batch_size=BATCH,
                                                    tta_flip=False) for b in batches], 512, args.runs),
             **{f"onnx_{name}": _rate(lambda s=s: [s.run(None, {"x": x}) for x in ready], 512, args.runs)
                for name, s in sessions.items()}}
    print(json.dumps({
        "benchmark": "onnx_int8", "model_version": info.model_version, "n_test": int(labelled.sum()),
        "threads": torch.get_num_threads(), "calibration_crops": len(calibration),
        "ferplus_accuracy": {k: round(float((p.argmax(1)[labelled] == test.label[labelled]).mean()), 4)
                             for k, p in probs.items()},
        "agreement_with_torch": {k: round(float((p.argmax(1) == probs["torch"].argmax(1)).mean()), 4)
                                 for k, p in probs.items() if k != "torch"},
        "network_faces_per_s": {k: round(v, 1) for k, v in speed.items()},
        "int8_speedup_over_torch": round(speed["onnx_int8"] / speed["torch"], 2),
    }))


if __name__ == "__main__":
    main()
