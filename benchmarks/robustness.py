"""How the extractor's accuracy holds up when test faces look less like FER2013 crops.

Classroom cameras give blurrier, darker, lower-resolution, tilted and differently framed
faces than the FER2013 web crops the network learned from. This script scores the
FERPlus test split (official majority labels) under each such change, one at a time,
so the model card can say which ones hurt and by how much.

Usage: python benchmarks/robustness.py [--data FERPLUS_DIR] [--weights-dir DIR]
Without --data the FERPlus test split is read from ../shared/data. Prints one JSON line.
"""
from __future__ import annotations

import argparse
import io
import json
import logging
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import affect  # noqa: E402
from affect.data import load_ferplus  # noqa: E402
from affect.evaluate import vad_block  # noqa: E402
from affect.predict import predict_arrays  # noqa: E402
from affect.schema import EXPRESSIONS  # noqa: E402
from affect.weights import load_model  # noqa: E402
from benchmarks.extract_speed import ferplus_test  # noqa: E402


def _pil(fn: Callable[[Image.Image], Image.Image]) -> Callable[[np.ndarray], np.ndarray]:
    return lambda a: np.asarray(fn(Image.fromarray(a)), np.uint8)


def _jpeg(im: Image.Image, quality: int = 20) -> Image.Image:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("L")


def _reframe(a: np.ndarray, fraction: float) -> np.ndarray:
    """fraction > 0 widens the box (edge pixels repeat), < 0 crops into the face; back to the same size."""
    n = a.shape[0]
    pad = int(round(abs(fraction) * n))
    b = np.pad(a, pad, mode="edge") if fraction > 0 else a[pad:n - pad, pad:n - pad]
    return np.asarray(Image.fromarray(b).resize((n, n), Image.BILINEAR), np.uint8)


CHANGES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "clean": lambda a: a,
    "low_res_16px": _pil(lambda im: im.resize((16, 16), Image.BILINEAR).resize(im.size, Image.BILINEAR)),
    "blur_sigma_1.5": _pil(lambda im: im.filter(ImageFilter.GaussianBlur(1.5))),
    "dark_x0.4": lambda a: (a * 0.4).astype(np.uint8),
    "low_contrast_x0.4": lambda a: ((a - a.mean()) * 0.4 + a.mean()).clip(0, 255).astype(np.uint8),
    "jpeg_q20": _pil(_jpeg),
    "noise_sigma_12": lambda a: (a + np.random.default_rng(0).normal(0, 12, a.shape)).clip(0, 255).astype(np.uint8),
    "rotated_20deg": _pil(lambda im: im.rotate(20, resample=Image.BILINEAR, fillcolor=int(np.median(im)))),
    "box_20pct_wider": lambda a: _reframe(a, 0.2),
    "box_10pct_tighter": lambda a: _reframe(a, -0.1),
}
IN_FRAME_ANGLES = (0, 20)   # faces in a frame: upright, and turned as a tilted head is


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None, help="FERPlus folder (default: ../shared/data)")
    ap.add_argument("--weights-dir", type=Path, default=None, help="default: the shipped weights")
    args = ap.parse_args()
    model, info = load_model(args.weights_dir)
    with tempfile.TemporaryDirectory() as tmp:
        faces = load_ferplus(ferplus_test(args.data, Path(tmp)), "test")
    faces = faces.subset(np.flatnonzero(faces.label >= 0))      # the official majority-label images
    figures = {}
    for name, change in CHANGES.items():
        images = np.stack([change(a) for a in faces.images])
        vad, probs = predict_arrays(model, images, input_size=info.input_size, tta_flip=False)
        figures[name] = {"accuracy": round(float((probs.argmax(1) == faces.label).mean()), 4),
                         "valence_ccc": round(vad_block(vad, faces.vad)["valence"]["ccc"], 4)}
    for angle in IN_FRAME_ANGLES:
        for align in (True, False):
            name = f"in_frame_rotated_{angle}deg_via_detector" if angle else "in_frame_via_detector"
            figures[f"{name}_{'aligned' if align else 'box_crop'}"] = through_detector(faces, (model, info), angle, align)
    print(json.dumps({"benchmark": "robustness", "model_version": info.model_version,
                      "n": len(faces), "tta_flip": False, "figures": figures}))


def in_frame(face: np.ndarray, angle: float, rng: np.random.Generator) -> np.ndarray:
    """The face upscaled to 160 px (turned by `angle` degrees) inside a noisy 320x240 frame."""
    frame = rng.normal(128, 20, (240, 320)).clip(0, 255).astype(np.uint8)
    big = Image.fromarray(face).resize((160, 160), Image.BICUBIC)
    if angle:
        big = big.rotate(angle, resample=Image.BILINEAR, fillcolor=int(np.median(face)))
    frame[40:200, 80:240] = np.asarray(big)
    return frame


def through_detector(faces, model, angle: float = 0, align: bool = True) -> dict:
    """Each face in a frame (see in_frame), found by the product's detector and re-cropped.

    Measures the path a webcam snapshot takes: detection rate, and accuracy on the faces
    found; `align` warps by the landmarks, else the face is framed from its box alone.
    """
    rng = np.random.default_rng(0)
    frames = [in_frame(a, angle, rng) for a in faces.images]
    rows = affect.extract(frames, detect="always", model=model, align=align)
    found = rows[rows.status == "ok"].groupby("source").head(1)    # the first face of each frame
    index = found["source"].str.removeprefix("array:").astype(int).to_numpy()
    pred = found[[f"p_{c}" for c in EXPRESSIONS]].to_numpy().argmax(1)
    return {"detected": round(len(found) / len(frames), 4),
            "accuracy_of_detected": round(float((pred == faces.label[index]).mean()), 4),
            "faces_per_frame": round(float((rows.status == "ok").sum() / len(frames)), 3)}


if __name__ == "__main__":
    main()
