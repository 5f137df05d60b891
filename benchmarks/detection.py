"""Face detection on real group photos: YuNet (the shipped path) vs the Haar path it replaced.

On `../shared/data/wider_dev` (204 WIDER FACE val photos, 1024 px wide, official boxes):
- recall: share of the `medium` faces matched one-to-one (greedy, best score first) by a
  detection at IoU >= 0.5;
- precision: a detection is false when its IoU with every annotated face, don't-care
  faces included, is below FALSE_IOU (it overlaps no annotated face);
- photos/s through `affect.extract` end to end (decode, detect, align, network with
  expressions), median of --runs, for each --workers choice, with the CPU seconds spent
  per photo (this process and its workers) and the load average: on a shared machine
  wall time depends on the neighbours, CPU time does not. The old path (Haar, commit
  HAAR_REV) runs in the same benchmark, in a subprocess.
A detector-only sweep measures the choices behind the defaults: score threshold, colour
vs gray input, and whether upscaling or tiling finds more small faces.

Usage: python benchmarks/detection.py [--data DIR] [--runs 3] [--workers 0 1 2] [--no-baseline]
Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import affect  # noqa: E402
from affect.data import read_wider  # noqa: E402
from affect.detect import SCORE_THRESHOLD, Faces, YuNet  # noqa: E402
from affect.faces import decode_image  # noqa: E402
from affect.matching import iou  # noqa: E402
from affect.network import load_network  # noqa: E402
from benchmarks.old_extractor import HAAR_REV, old_extract  # noqa: E402

WIDER = REPO.parent / "shared" / "data" / "wider_dev"
MATCH_IOU = 0.5
FALSE_IOU = 0.3
SETTING = "medium"
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)


def score(photos: dict[str, dict], found: dict[str, tuple[np.ndarray, np.ndarray]], setting: str = SETTING) -> dict:
    """Recall on `setting` faces and precision (see module docstring) of boxes + scores per photo."""
    hits = wanted = n_found = false = 0
    for name, truth in photos.items():
        boxes, scores = found.get(name, (np.zeros((0, 4)), np.zeros(0)))
        targets = truth.get(setting, [])
        wanted, n_found = wanted + len(targets), n_found + len(boxes)
        if not len(boxes):
            continue
        overlap = iou(boxes, truth["boxes"]) if len(truth["boxes"]) else np.zeros((len(boxes), 0))
        false += int((overlap.max(1, initial=0) < FALSE_IOU).sum())
        free = set(targets)
        for k in np.argsort(-scores):
            best = max(free, key=lambda g: overlap[k, g], default=None)
            if best is not None and overlap[k, best] >= MATCH_IOU:
                free.discard(best)
                hits += 1
    return {"recall": round(hits / max(wanted, 1), 4), "precision": round(1 - false / max(n_found, 1), 4),
            "faces": wanted, "detections": n_found}


def from_rows(rows, root: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """affect.extract rows -> photo name -> (boxes, scores) of its faces."""
    ok = rows[rows.status == "ok"]
    return {Path(src).relative_to(root / "images").as_posix(): (g[["box_x", "box_y", "box_w", "box_h"]].to_numpy(),
                                                                g["det_score"].to_numpy())
            for src, g in ok.groupby("source")}


def tiled(detect: YuNet, image: np.ndarray, upscale: float, grid: int = 2, overlap: float = 0.2) -> Faces:
    """YuNet on a grid x grid of overlapping tiles, each upscaled; boxes merged by NMS."""
    h, w = image.shape[:2]
    th, tw = int(h / grid * (1 + overlap)), int(w / grid * (1 + overlap))
    boxes, scores = [], []
    for y in np.linspace(0, h - th, grid).astype(int):
        for x in np.linspace(0, w - tw, grid).astype(int):
            tile = cv2.resize(image[y:y + th, x:x + tw], None, fx=upscale, fy=upscale, interpolation=cv2.INTER_LINEAR)
            faces = detect(tile)
            boxes.append(faces.boxes / upscale + [x, y, 0, 0])
            scores.append(faces.scores)
    boxes, scores = np.concatenate(boxes), np.concatenate(scores)
    keep = cv2.dnn.NMSBoxes(boxes.tolist(), scores.tolist(), 0.0, 0.3) if len(boxes) else []
    keep = np.asarray(keep, int).ravel()
    return Faces(boxes[keep], np.zeros((len(keep), 5, 2)), scores[keep])


def sweep(photos: dict[str, dict], paths: list[Path], root: Path) -> dict:
    """Detector alone (no network): threshold, colour vs gray, upscaling and tiling; recall on medium and hard."""
    images = {p.relative_to(root / "images").as_posix(): decode_image(p) for p in paths}
    low = YuNet(score_threshold=min(THRESHOLDS))
    variants = {
        "colour": lambda im: low(im),
        "gray": lambda im: low(cv2.cvtColor(im, cv2.COLOR_BGR2GRAY) if im.ndim == 3 else im),
        "upscaled_x1.5": lambda im: _rescaled(low, im, 1.5),
        "upscaled_x2": lambda im: _rescaled(low, im, 2.0),
        "tiles_2x2_upscaled_x2": lambda im: tiled(low, im, 2.0),
    }
    out = {}
    for name, run in variants.items():
        t0 = time.perf_counter()
        found = {k: run(im) for k, im in images.items()}
        seconds = time.perf_counter() - t0
        figures = {"photos_per_s_detector_only": round(len(images) / seconds, 2)}
        for threshold in THRESHOLDS if name in ("colour", "gray") else (SCORE_THRESHOLD,):
            kept = {k: (f.boxes[f.scores >= threshold], f.scores[f.scores >= threshold]) for k, f in found.items()}
            figures[f"threshold_{threshold}"] = {**score(photos, kept), "recall_hard": score(photos, kept, "hard")["recall"]}
        out[name] = figures
    return out


def _rescaled(detect: YuNet, image: np.ndarray, factor: float) -> Faces:
    faces = detect(cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_LINEAR))
    return Faces(faces.boxes / factor, faces.landmarks / factor, faces.scores)


def _cpu_seconds() -> float:
    """CPU time of this process and its finished workers: the cost of a photo whatever else the machine runs."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=WIDER, help="the wider_dev folder")
    ap.add_argument("--runs", type=int, default=3, help="timed runs per configuration (median reported)")
    ap.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2], help="num_workers choices to time")
    ap.add_argument("--no-baseline", action="store_true", help="skip the old Haar path")
    ap.add_argument("--no-sweep", action="store_true", help="skip the detector-only sweep")
    args = ap.parse_args()
    photos = read_wider(args.data)
    paths = [args.data / "images" / name for name in photos]
    model = load_network(device="cpu")           # the product's network on a CPU (the int8 student)
    result = {"benchmark": "detection", "photos": len(paths), "setting": SETTING, "match_iou": MATCH_IOU,
              "false_if_iou_below": FALSE_IOU, "runs": args.runs, "torch_threads": torch.get_num_threads(),
              "cpus": len(os.sched_getaffinity(0)), "model_version": model.model_version}
    new = {"score_threshold": SCORE_THRESHOLD}
    for workers in args.workers:
        rates, cpu, load = [], [], []
        for _ in range(args.runs):
            t0, c0 = time.perf_counter(), _cpu_seconds()
            rows = affect.extract(paths, detect="always", model=model, num_workers=workers)
            rates.append(len(paths) / (time.perf_counter() - t0))
            cpu.append((_cpu_seconds() - c0) / len(paths))
            load.append(os.getloadavg()[0])
        new[f"workers_{workers}"] = {"photos_per_s": round(statistics.median(rates), 2),
                                     "runs": [round(r, 2) for r in rates],
                                     "cpu_s_per_photo": round(statistics.median(cpu), 4),
                                     "load_average_1min": [round(x, 2) for x in load]}
    new.update(score(photos, from_rows(rows, args.data)))
    new["faces_scored"] = int((rows.status == "ok").sum())
    result["yunet"] = new
    if not args.no_baseline:
        rows, rates = old_extract([str(p) for p in paths], runs=args.runs, detect="always")
        result["haar"] = {"rev": HAAR_REV, "workers_0": {"photos_per_s": round(statistics.median(rates), 2),
                                                         "runs": [round(r, 2) for r in rates]},
                          **score(photos, from_rows(rows, args.data)),
                          "faces_scored": int((rows.status == "ok").sum())}
    if not args.no_sweep:
        result["detector_sweep"] = sweep(photos, paths, args.data)
    best = max(new[f"workers_{w}"]["photos_per_s"] for w in args.workers)
    result["bar"] = {"recall": 0.85, "precision": 0.90, "photos_per_s": 8}
    result["pass"] = bool(new["recall"] >= 0.85 and new["precision"] >= 0.90 and best >= 8)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
