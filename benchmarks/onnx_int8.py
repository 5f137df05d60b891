"""The CPU fast path against the torch network: the shipped int8 copy (affect/int8.py), same run.

Usage: python benchmarks/onnx_int8.py [--data FERPLUS_DIR] [--runs 5]

On the FERPlus test split: majority accuracy of torch (bf16 autocast on CPUs that have
it) and of the int8 copy in ONNX Runtime, no flip TTA (the product path), their top-1
agreement and mean V/A/D difference, and each network's faces/s on in-memory crops at
batch 64 (the product's) and at 16 and 256 (median of --runs). Network only: decoding
and the crop face check are timed by extract_speed.py. The copy is made by
`vadgrade quantise-extractor`. Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from affect.data import load_ferplus  # noqa: E402
from affect.network import load_network  # noqa: E402
from benchmarks.extract_speed import ferplus_split, median_rate  # noqa: E402

BATCH = 64                      # the product's default batch
BATCH_SIZES = (16, 64, 256)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        test = load_ferplus(ferplus_split(args.data, Path(tmp), "FER2013Test"), "test")
    networks = {name: load_network(None, "cpu", name) for name in ("torch", "int8")}
    labelled = test.label >= 0
    outputs = {name: net.predict(test.images) for name, net in networks.items()}
    # int8 is timed last: torch's idle OpenMP threads would spin against ONNX Runtime's
    # pool if torch ran between its batches (the product path runs no torch op there).
    by_batch = {name: {size: median_rate(lambda net=net, size=size: [net.predict(test.images[i:i + size])
                                                                     for i in range(0, 1024, size)],
                                         1024, args.runs)[0]
                       for size in BATCH_SIZES}
                for name, net in networks.items()}
    speed = {name: rates[BATCH] for name, rates in by_batch.items()}
    (torch_vad, torch_probs), (int8_vad, int8_probs) = outputs["torch"], outputs["int8"]
    print(json.dumps({
        "benchmark": "onnx_int8", "model_version": networks["torch"].model_version,
        "int8_model_version": networks["int8"].model_version,
        "calibration_crops": networks["int8"].info.int8["calibration_crops"],
        "n_test": int(labelled.sum()), "threads": torch.get_num_threads(), "runs": args.runs,
        "ferplus_accuracy": {name: round(float((probs.argmax(1)[labelled] == test.label[labelled]).mean()), 4)
                             for name, (_, probs) in outputs.items()},
        "top1_agreement": round(float((int8_probs.argmax(1) == torch_probs.argmax(1)).mean()), 4),
        "mean_abs_vad_difference": round(float(np.abs(int8_vad - torch_vad).mean()), 4),
        "network_faces_per_s": {name: round(v, 1) for name, v in speed.items()},
        "network_faces_per_s_by_batch": {name: {str(size): round(v, 1) for size, v in rates.items()}
                                         for name, rates in by_batch.items()},
        "int8_speedup_over_torch": round(speed["int8"] / speed["torch"], 2),
    }))


if __name__ == "__main__":
    main()
