"""Faces, not squares: which small inputs the crop path scores and which it calls no_face.

Two crop checks, each through `affect.extract` (the crop path: inputs up to 128 px):
- `yunet`: the torch network (any device), whose crops YuNet checks (affect/face_check.py);
- `student`: the CPU product path, the distilled student, whose own face output judges
  them (affect/distil.py).
Both sides:
- faces: all 3,573 FERPlus test crops (each rejected one is named), the demo's generated
  face crops, and faces of people no model saw (the Yale photos, detected and cropped
  aligned as from a photo, and by their box); the FERPlus test accuracy of the path (no
  TTA) on the official majority-label images, a rejected crop counting as wrong;
- not faces: blank (white, black, gray levels), flat with sensor noise, pixel noise,
  blurred noise, gradients, stripes and checkerboards, text, and patches of real group
  photos that touch no annotated face, each resized to 48 px. The patches come from the
  half of `wider_dev` the student never learned from (affect.data.wider_halves).
The thresholds were set on FERPlus train and valid crops, not on these.
For the torch network, also the accuracy the crops would give if they were aligned by
their own landmarks like faces from photos (they are not: see affect/faces.py).

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
from affect.data import background_patches, load_ferplus, read_wider, wider_halves  # noqa: E402
from affect.detect import YuNet  # noqa: E402
from affect.face_check import CHECK_SIDE, CROP_FACE_SCORE, faces_in_crop  # noqa: E402
from affect.faces import FaceFinder, decode_image  # noqa: E402
from affect.network import load_network  # noqa: E402
from affect.schema import EXPRESSIONS, STATUS_OK  # noqa: E402
from benchmarks.detection import WIDER  # noqa: E402
from benchmarks.extract_speed import SHARED_DATA, ferplus_test  # noqa: E402

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


def yale_crops() -> dict[str, list[np.ndarray]]:
    """Faces of the 15 Yale people (all 11 conditions), found by YuNet and cropped to 48 px,
    aligned by their landmarks (as from a classroom photo) and by their box only."""
    photos = [decode_image(p) for p in sorted((SHARED_DATA / "yalefaces" / "images").glob("subject*"))]
    return {f"yale_{kind}": [c for photo in photos for c in FaceFinder(48, align=align).detect(photo).crops]
            for kind, align in (("aligned", True), ("box", False))}


def aligned_accuracy(test, network) -> dict:
    """The road not taken: each crop warped by its own landmarks to FER_LANDMARKS before the network."""
    detect, side = YuNet(CROP_FACE_SCORE), network.input_size
    crops = []
    for image in test.images:
        faces = faces_in_crop(image, detect, CHECK_SIDE)
        crops.append(aligned_crop(image, faces.landmarks[0], side) if len(faces) else image)
    _, probs = network.predict(np.stack(crops))
    labelled = test.label >= 0
    return {"accuracy": round(float((probs.argmax(1) == test.label)[labelled].mean()), 4), "n": int(labelled.sum())}


def measure(network, test, demo: list[Path], kinds: dict[str, list[np.ndarray]]) -> dict:
    """Both sides of one crop check (see the module docstring)."""
    rows = affect.extract(list(test.images), model=network, batch_size=256)
    scored = (rows.status == STATUS_OK).to_numpy()
    pred = np.where(scored, rows[[f"p_{c}" for c in EXPRESSIONS]].fillna(0).to_numpy().argmax(1), -1)
    labelled = test.label >= 0
    demo_rows = affect.extract(demo, model=network, batch_size=256)
    demo_readable = demo_rows[demo_rows.status != "error"]          # the demo truncates one file on purpose
    result = {"model_version": network.model_version, "face_threshold": network.face_threshold,
              "faces": {"ferplus_test": {"crops": len(test), "scored": int(scored.sum()),
                                         "rejected": [{"image": test.names[i], "reason": rows.reason[i]}
                                                      for i in np.flatnonzero(~scored)][:20]},
                        "demo_crops": {"crops": len(demo_readable),
                                       "scored": int((demo_readable.status == STATUS_OK).sum())}},
              "ferplus_test_accuracy_product_path": {
                  "accuracy": round(float((pred == test.label)[labelled].mean()), 4), "n": int(labelled.sum()),
                  "tta_flip": False, "rejected_count_as_wrong": True}}
    for kind, images in kinds.items():
        out = affect.extract(images, model=network, batch_size=256)
        share = float((out.status == STATUS_OK).mean() if kind.startswith("yale") else (out.status != STATUS_OK).mean())
        side = "faces" if kind.startswith("yale") else "not_faces"
        result.setdefault(side, {})[kind] = {"n": len(images), "scored" if side == "faces" else "rejected": round(share, 4)}
    return result


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None, help="FERPlus folder (default: ../shared/data)")
    ap.add_argument("--patches", type=int, default=1000, help="background patches of the held-out wider_dev photos")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        test = load_ferplus(ferplus_test(args.data, Path(tmp)), "test", keep_all=True)
    demo = sorted((REPO / "sample_data" / "demo" / "images").rglob("*.png"))
    rng = np.random.default_rng(0)
    photos = read_wider(WIDER)
    kinds = {**not_faces(rng), **yale_crops(),
             "photo_background_patches": list(background_patches(WIDER, photos, wider_halves(photos)[1],
                                                                 args.patches, rng))}
    torch_network, product = load_network(None, "cpu", "torch"), load_network(None, "cpu", "auto")
    result = {"benchmark": "face_check", "yunet": measure(torch_network, test, demo, kinds)}
    result["yunet"]["ferplus_test_accuracy_if_crops_were_aligned"] = aligned_accuracy(test, torch_network)
    if product.face_threshold is not None:
        result["student"] = measure(product, test, demo, kinds)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
