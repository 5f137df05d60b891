"""Faces, not squares: which small inputs the crop path scores and which it calls no_face.

Both sides through `affect.extract` (the crop path: inputs up to 128 px):
- faces: all 3,573 FERPlus test crops (each rejected one is named) and the demo's
  generated face crops; the FERPlus test accuracy of this product path (no TTA) is
  reported on the official majority-label images, a rejected crop counting as wrong,
  beside the accuracy the crops would give if they were aligned by their own landmarks
  like faces from photos (they are not: see affect/faces.py);
- not faces: blank (white, black, gray levels), flat with sensor noise, pixel noise,
  blurred noise, gradients, stripes and checkerboards, text, and patches of real group
  photos (`wider_dev`) that touch no annotated face, each resized to 48 px.
The thresholds were set on FERPlus train and valid crops (affect/face_check.py), not on these.

Usage: python benchmarks/face_check.py [--data FERPLUS_DIR] [--patches 1000]. Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import affect  # noqa: E402
from affect.align import aligned_crop  # noqa: E402
from affect.data import load_ferplus  # noqa: E402
from affect.detect import YuNet  # noqa: E402
from affect.face_check import CHECK_SIDE, CROP_FACE_SCORE, faces_in_crop  # noqa: E402
from affect.matching import iou  # noqa: E402
from affect.predict import predict_arrays  # noqa: E402
from affect.schema import EXPRESSIONS, STATUS_OK  # noqa: E402
from affect.weights import load_model  # noqa: E402
from benchmarks.detection import WIDER, read_wider  # noqa: E402
from benchmarks.extract_speed import ferplus_test  # noqa: E402

SIDE = 48
PER_KIND = 50
WORDS = ("Mathematics", "Quiz 3", "Homework due Friday", "E = mc2", "PAGE 12", "exit", "Room 204", "ABC", "0123456789")


def not_faces(rng: np.random.Generator) -> dict[str, list[np.ndarray]]:
    """Synthetic non-faces, PER_KIND of each kind."""
    yy, xx = np.mgrid[0:SIDE, 0:SIDE] / (SIDE - 1)
    kinds: dict[str, list[np.ndarray]] = {"blank": [np.full((SIDE, SIDE), v, np.uint8)
                                                    for v in np.linspace(0, 255, PER_KIND).astype(int)]}
    kinds["flat_with_sensor_noise"] = [rng.normal(rng.uniform(20, 235), rng.uniform(1, 4), (SIDE, SIDE))
                                       for _ in range(PER_KIND)]
    kinds["pixel_noise"] = [rng.normal(128, rng.uniform(20, 80), (SIDE, SIDE)) for _ in range(PER_KIND // 2)] + \
                           [rng.uniform(0, 256, (SIDE, SIDE)) for _ in range(PER_KIND // 2)]
    blurred = [cv2.GaussianBlur(rng.normal(0, 1, (SIDE, SIDE)), (0, 0), rng.uniform(2, 8)) for _ in range(PER_KIND)]
    kinds["blurred_noise"] = [128 + 50 * (b - b.mean()) / (b.std() + 1e-9) for b in blurred]
    gradients = []
    for _ in range(PER_KIND):
        t, (cx, cy) = rng.uniform(0, 2 * np.pi), rng.uniform(0, 1, 2)
        g = np.cos(t) * xx + np.sin(t) * yy if rng.random() < 0.5 else np.hypot(xx - cx, yy - cy)
        lo, hi = sorted(rng.uniform(0, 255, 2))
        gradients.append(lo + (g - g.min()) / (np.ptp(g) + 1e-9) * (hi - lo))
    kinds["gradient"] = gradients
    kinds["stripes_and_checks"] = [((np.arange(SIDE)[:, None] // k + (np.arange(SIDE)[None] // k) * (i % 2)) % 2) * 255.0
                                   for i, k in enumerate(rng.integers(2, 12, PER_KIND))]
    texts = []
    for _ in range(PER_KIND):
        bg, fg = (235, 20) if rng.random() < 0.6 else (30, 230)
        canvas = np.full((192, 192), bg, np.uint8)
        for line in range(rng.integers(1, 4)):
            cv2.putText(canvas, str(rng.choice(WORDS)), (int(rng.integers(0, 40)), int(40 + 55 * line + rng.integers(0, 20))),
                        int(rng.choice([0, 2, 3, 4])), rng.uniform(0.8, 2.0), fg, int(rng.integers(1, 4)), cv2.LINE_AA)
        texts.append(cv2.resize(canvas, (SIDE, SIDE), interpolation=cv2.INTER_AREA))
    kinds["text"] = texts
    return {k: [np.clip(a, 0, 255).astype(np.uint8) for a in v] for k, v in kinds.items()}


def photo_patches(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    """Square patches (24-256 px) of the wider_dev photos that touch no annotated face grown by 25 %."""
    photos = read_wider(WIDER)
    names = sorted(photos)
    patches = []
    while len(patches) < n:
        name = names[rng.integers(len(names))]
        gray = cv2.imread(str(WIDER / "images" / name), cv2.IMREAD_GRAYSCALE)
        side = int(np.exp(rng.uniform(np.log(24), np.log(min(256, min(gray.shape) - 1)))))
        x, y = rng.integers(0, gray.shape[1] - side), rng.integers(0, gray.shape[0] - side)
        faces = photos[name]["boxes"].copy()
        faces[:, :2] -= 0.25 * faces[:, 2:]
        faces[:, 2:] *= 1.5
        if len(faces) and (iou(np.array([[x, y, side, side]], float), faces) > 0).any():
            continue
        patches.append(cv2.resize(gray[y:y + side, x:x + side], (SIDE, SIDE), interpolation=cv2.INTER_AREA))
    return patches


def aligned_accuracy(test, model) -> dict:
    """The road not taken: each crop warped by its own landmarks to FER_LANDMARKS before the network."""
    detect, side = YuNet(CROP_FACE_SCORE), model[1].input_size
    crops = []
    for image in test.images:
        faces = faces_in_crop(image, detect, CHECK_SIDE)
        crops.append(aligned_crop(image, faces.landmarks[0], side) if len(faces) else image)
    _, probs = predict_arrays(model[0], np.stack(crops), input_size=side, tta_flip=False)
    labelled = test.label >= 0
    return {"accuracy": round(float((probs.argmax(1) == test.label)[labelled].mean()), 4), "n": int(labelled.sum())}


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None, help="FERPlus folder (default: ../shared/data)")
    ap.add_argument("--patches", type=int, default=1000, help="wider_dev background patches")
    args = ap.parse_args()
    model = load_model()
    with tempfile.TemporaryDirectory() as tmp:
        test = load_ferplus(ferplus_test(args.data, Path(tmp)), "test", keep_all=True)
    rows = affect.extract(list(test.images), model=model, batch_size=256)
    scored = (rows.status == STATUS_OK).to_numpy()
    pred = np.where(scored, rows[[f"p_{c}" for c in EXPRESSIONS]].fillna(0).to_numpy().argmax(1), -1)
    labelled = test.label >= 0
    demo = sorted((REPO / "sample_data" / "demo" / "images").rglob("*.png"))
    demo_rows = affect.extract(demo, model=model, batch_size=256)
    demo_readable = demo_rows[demo_rows.status != "error"]          # the demo truncates one file on purpose
    result = {"benchmark": "face_check", "model_version": model[1].model_version,
              "faces": {"ferplus_test": {"crops": len(test), "scored": int(scored.sum()),
                                         "rejected": [{"image": test.names[i], "reason": rows.reason[i]}
                                                      for i in np.flatnonzero(~scored)]},
                        "demo_crops": {"crops": len(demo_readable),
                                       "scored": int((demo_readable.status == STATUS_OK).sum())}},
              "ferplus_test_accuracy_product_path": {
                  "accuracy": round(float((pred == test.label)[labelled].mean()), 4), "n": int(labelled.sum()),
                  "tta_flip": False, "rejected_count_as_wrong": True}}
    result["ferplus_test_accuracy_if_crops_were_aligned"] = aligned_accuracy(test, model)
    rng = np.random.default_rng(0)
    kinds = {**not_faces(rng), "photo_background_patches": photo_patches(rng, args.patches)}
    rejected = {}
    for kind, images in kinds.items():
        out = affect.extract(images, model=model, batch_size=256)
        rejected[kind] = {"n": len(images), "rejected": round(float((out.status != STATUS_OK).mean()), 4)}
    result["not_faces"] = rejected
    print(json.dumps(result))


if __name__ == "__main__":
    main()
