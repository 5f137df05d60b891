"""The CPU networks against the torch network, same run (affect/int8.py, affect/distil.py).

Usage: python benchmarks/onnx_int8.py [--data FERPLUS_DIR] [--runs 5]

Three networks: torch (bf16 autocast on CPUs that have it); `int8_copy`, an int8 copy of
the same weights made here as `vadgrade quantise-extractor` makes it (320 train crops);
and `shipped_int8`, the weights' shipped CPU network (the distilled student), when it is
not that copy. On the FERPlus test split, no flip TTA (the product path): majority
accuracy, top-1 agreement with torch and mean V/A/D difference, and each network's
faces/s on in-memory crops at batch 64 (the product's) and at 16 and 256 (median of
--runs). Network only: decoding and the crop checks are timed by extract_speed.py.
Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from affect.data import load_ferplus  # noqa: E402
from affect.int8 import Int8Network, calibration_crops, quantise  # noqa: E402
from affect.network import load_network  # noqa: E402
from affect.weights import default_weights_dir  # noqa: E402
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
        train = load_ferplus(ferplus_split(args.data, Path(tmp), "FER2013Train"), "train")
        copy_dir = Path(tmp) / "weights"
        shutil.copytree(default_weights_dir(), copy_dir)
        quantise(calibration_crops(train.images), copy_dir)
        # every core for each network here (extract() leaves one to decoding; extract_speed.py times that)
        threads = torch.get_num_threads()
        networks = {"torch": load_network(None, "cpu", "torch"), "int8_copy": Int8Network(copy_dir, threads)}
    shipped = Int8Network(None, threads)
    if shipped.model_version != networks["int8_copy"].model_version:
        networks["shipped_int8"] = shipped
    labelled = test.label >= 0
    outputs = {name: net.predict(test.images) for name, net in networks.items()}
    # The int8 networks are timed last: torch's idle OpenMP threads would spin against ONNX
    # Runtime's pool if torch ran between its batches (the product path runs no torch op there).
    by_batch = {name: {size: median_rate(lambda net=net, size=size: [net.predict(test.images[i:i + size])
                                                                     for i in range(0, 1024, size)],
                                         1024, args.runs)[0]
                       for size in BATCH_SIZES}
                for name, net in networks.items()}
    speed = {name: rates[BATCH] for name, rates in by_batch.items()}
    torch_vad, torch_probs = outputs["torch"]
    others = [name for name in networks if name != "torch"]
    print(json.dumps({
        "benchmark": "onnx_int8", "model_versions": {name: net.model_version for name, net in networks.items()},
        "n_test": int(labelled.sum()), "threads": torch.get_num_threads(), "runs": args.runs,
        "ferplus_accuracy": {name: round(float((probs.argmax(1)[labelled] == test.label[labelled]).mean()), 4)
                             for name, (_, probs) in outputs.items()},
        "top1_agreement_with_torch": {name: round(float((outputs[name][1].argmax(1) == torch_probs.argmax(1)).mean()), 4)
                                      for name in others},
        "mean_abs_vad_difference_from_torch": {name: round(float(np.abs(outputs[name][0] - torch_vad).mean()), 4)
                                               for name in others},
        "network_faces_per_s": {name: round(v, 1) for name, v in speed.items()},
        "network_faces_per_s_by_batch": {name: {str(size): round(v, 1) for size, v in rates.items()}
                                         for name, rates in by_batch.items()},
        "speedup_over_torch": {name: round(speed[name] / speed["torch"], 2) for name in others},
    }))


if __name__ == "__main__":
    main()
