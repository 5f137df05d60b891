"""Consistency-loss ablation: the same run with lambda = 0 and lambda > 0, same seed, same start.

Usage: python benchmarks/consistency_ablation.py --data FERPLUS_DIR [--init WEIGHTS] [--lambdas 0 0.3]
       [--seeds 0 1] [--epochs 1] [--max-train-images 10000] [--input-size 48] [--no-small-input]
       [--fer2013-labels CSV]
For each seed, every arm trains from the same initial weights (a trained checkpoint or
exported folder with --init, else from scratch) with the same seed, data order and
augmentation, then is evaluated on the FERPlus test split. Prints one JSON line with
the figures per seed and their mean per arm.
"""
from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from affect.evaluate import evaluate_extractor  # noqa: E402
from affect.train import TrainConfig, main as train  # noqa: E402


def arm(args: argparse.Namespace, weight: float, seed: int, root: Path) -> dict:
    out = root / f"lambda_{weight:g}_seed_{seed}"
    cfg = TrainConfig(data=str(args.data), out_dir=str(out), export_dir=str(out / "export"), epochs=args.epochs,
                      lr=args.lr, warmup_epochs=0.1, consistency_weight=weight, seed=seed,
                      max_train_images=args.max_train_images, init_weights=str(args.init) if args.init else None,
                      input_size=args.input_size, small_input=args.small_input, num_workers=1,
                      fer2013_labels=str(args.fer2013_labels) if args.fer2013_labels else None,
                      mlflow_tracking_uri=f"sqlite:///{root / 'mlflow.db'}", mlflow_experiment="consistency-ablation")
    train(cfg)
    report = evaluate_extractor(args.data, weights_dir=out / "export", fer2013_labels_csv=args.fer2013_labels,
                                tta_flip=False)
    figures = {"ferplus_test_accuracy": report["ferplus_majority"]["accuracy"],
               "consistency_violation_rate": report["consistency_violation_rate"],
               **{f"{d}_ccc": report["vad"][d]["ccc"] for d in ("valence", "arousal", "dominance")}}
    if "fer2013_original" in report:
        figures["fer2013_privatetest_accuracy"] = report["fer2013_original"]["accuracy"]
    return {k: round(v, 4) for k, v in figures.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--init", type=Path, default=None)
    parser.add_argument("--lambdas", type=float, nargs="+", default=[0.0, 0.3])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--input-size", type=int, default=TrainConfig.input_size)
    parser.add_argument("--small-input", action=argparse.BooleanOptionalAction, default=TrainConfig.small_input,
                        help="stem without max-pool (as the shipped model)")
    parser.add_argument("--max-train-images", type=int, default=10000)
    parser.add_argument("--fer2013-labels", type=Path, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        runs = {f"lambda={w:g}": {f"seed={s}": arm(args, w, s, Path(tmp)) for s in args.seeds} for w in args.lambdas}
    means = {name: {k: round(statistics.mean(r[k] for r in seeds.values()), 4) for k in next(iter(seeds.values()))}
             for name, seeds in runs.items()}
    print(json.dumps({"benchmark": "consistency_ablation", "init": str(args.init), "seeds": args.seeds,
                      "epochs": args.epochs, "train_images": args.max_train_images, "input_size": args.input_size,
                      "small_input": args.small_input, "mean": means, "runs": runs}))


if __name__ == "__main__":
    main()
