"""Expression accuracy on posed faces unlike FER2013's: the Yale Face Database's expression photos.

15 people photographed happy, sad, surprised and with a normal face (60 gray 320x243
photos; `../shared/data/yalefaces`), scored through `affect.extract` like any photo:
detect, frame, network. Expected classes: happy -> happiness, sad -> sadness,
surprised -> surprise, normal -> neutral; a photo without a detected face counts as
wrong. Three paths side by side in one run: faces aligned by their landmarks (the
default), framed from the detector's box alone, and the old Haar path (commit HAAR_REV).

Usage: python benchmarks/yale_expressions.py [--data DIR] [--no-baseline]. Prints one JSON line.
"""
from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import affect  # noqa: E402
from affect.schema import EXPRESSIONS, STATUS_OK  # noqa: E402
from affect.weights import load_model  # noqa: E402
from benchmarks.old_extractor import HAAR_REV, old_extract  # noqa: E402

YALE = REPO.parent / "shared" / "data" / "yalefaces"
EXPECTED = {"happy": "happiness", "sad": "sadness", "surprised": "surprise", "normal": "neutral"}


def accuracy(rows: pd.DataFrame, photos: list[tuple[str, str]]) -> dict:
    """Overall and per-condition accuracy; each photo's largest face answers for it."""
    ok = rows[rows.status == STATUS_OK]
    largest = ok.loc[ok.groupby("source")["box_w"].idxmax()].set_index("source")
    said = [largest["expression"].get(path) for path, _ in photos]
    right = np.array([s == EXPECTED[c] for s, (_, c) in zip(said, photos)])
    conditions = np.array([c for _, c in photos])
    return {"accuracy": round(float(right.mean()), 4), "photos": len(photos),
            "faces_found": int(sum(s is not None for s in said)),
            "per_condition": {c: round(float(right[conditions == c].mean()), 4) for c in EXPECTED},
            "confusion": pd.crosstab(pd.Series(conditions, name="posed"),
                                     pd.Series([s or "no_face" for s in said], name="read")).to_dict("index")}


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=YALE)
    ap.add_argument("--no-baseline", action="store_true", help="skip the old Haar path")
    args = ap.parse_args()
    with (args.data / "labels.csv").open(newline="") as fh:
        photos = [(str(args.data / "images" / r["file"]), r["condition"]) for r in csv.DictReader(fh)
                  if r["condition"] in EXPECTED]
    paths = [p for p, _ in photos]
    model = load_model()
    result = {"benchmark": "yale_expressions", "model_version": model[1].model_version, "classes": list(EXPRESSIONS)}
    for name, align in (("aligned", True), ("box_crop", False)):
        result[name] = accuracy(affect.extract(paths, detect="always", model=model, align=align), photos)
    if not args.no_baseline:
        result["haar"] = {"rev": HAAR_REV, **accuracy(old_extract(paths, detect="always")[0], photos)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
