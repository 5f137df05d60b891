"""Where YuNet puts the five landmarks (and its box) in the average FERPlus train crop.

The numbers become `affect.align.FER_LANDMARKS` / `FER_BOX`: the canonical framing
aligned crops are warped to, so faces from photos reach the network framed like the
crops it learned from. Each train crop is upscaled to the crop check's side (YuNet finds
few faces at 48 px); the top face with score >= MIN_SCORE counts. The template is
mirrored and averaged, because training flips faces left-right.

Usage: python benchmarks/fer_template.py [--data FERPLUS_DIR]
Without --data the train split is read from ../shared/data. Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from affect.data import load_ferplus  # noqa: E402
from affect.detect import YuNet  # noqa: E402
from affect.face_check import CHECK_SIDE  # noqa: E402
from benchmarks.extract_speed import ferplus_split  # noqa: E402

MIN_SCORE = 0.5
MIRROR = [1, 0, 2, 4, 3]   # landmark order after a left-right flip (eyes and mouth corners swap)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None, help="FERPlus folder (default: ../shared/data)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        faces = load_ferplus(ferplus_split(args.data, Path(tmp), "FER2013Train"), "train", keep_all=True)
    detect = YuNet(score_threshold=MIN_SCORE)
    side = faces.images.shape[1]
    landmarks, boxes = [], []
    for image in faces.images:
        found = detect(cv2.resize(image, (CHECK_SIDE, CHECK_SIDE), interpolation=cv2.INTER_CUBIC))
        if len(found):
            landmarks.append((found.landmarks[0] + 0.5) / CHECK_SIDE)   # pixel centres -> unit square
            boxes.append(found.boxes[0] / CHECK_SIDE)
    landmarks, boxes = np.array(landmarks), np.array(boxes)
    mean = landmarks.mean(0)
    mirrored = np.column_stack([1 - mean[MIRROR, 0], mean[MIRROR, 1]])
    template = (mean + mirrored) / 2
    box = boxes.mean(0)
    box[0] = (box[0] + 1 - box[0] - box[2]) / 2                        # centred like the template
    print(json.dumps({
        "benchmark": "fer_template", "crops": len(faces), "crop_side": int(side), "upscaled_to": CHECK_SIDE,
        "min_score": MIN_SCORE, "faces_used": len(landmarks),
        "landmarks_unit": np.round(template, 4).tolist(),
        "landmarks_unit_unmirrored": np.round(mean, 4).tolist(),
        "landmarks_std_unit": np.round(landmarks.std(0), 4).tolist(),
        "box_unit": np.round(box, 4).tolist(),
        "interocular_unit_mean_of_faces": round(float(np.linalg.norm(landmarks[:, 1] - landmarks[:, 0], axis=1).mean()), 4),
    }))


if __name__ == "__main__":
    main()
