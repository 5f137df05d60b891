"""A tiny class-conditional face generator, so the demo can ship faces without shipping a dataset.

FER2013/FERPlus images may not be committed (nor image data derived from them), but the
demo needs faces whose expression is known in advance. We therefore fit a linear-Gaussian
model and commit only its parameters, like trained weights:

    face = neutral_mean + intensity * (class_mean - neutral_mean) + noise_scale * PCA noise

- class means: per-class average 48x48 face of FERPlus *train* images with a clear
  majority label (FERPlus rule: single votes ignored, one class with more than half of
  the remaining votes, not unknown/NF);
- PCA noise: a shared basis of the within-class residuals (identity, pose, lighting)
  with per-class component variances, scaled down so generated faces stay clean.

Every training image is standardised (zero mean, unit std) first: FER2013 exposure and
contrast vary wildly, and leaving that in would blur the class means and spend the
components on brightness instead of face shape. Fitting reads the dataset tar only at fit
time (`python sample_data/face_model.py`); everything else uses `face_model.npz`.
"""
from __future__ import annotations

import argparse
import io
import logging
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from affect.data import ferplus_majority
from affect.schema import EXPRESSIONS

log = logging.getLogger(__name__)

CATEGORIES = EXPRESSIONS   # FERPlus vote order
N_VOTE_COLUMNS = 10        # the 8 categories, then unknown and NF
SIDE = 48                  # FER2013 image side
MODEL_PATH = Path(__file__).with_name("face_model.npz")
SHARED_DATA = Path(os.environ.get("VADGRADE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
TRAIN_TAR = SHARED_DATA / "ferplus-train.tar"
NOISE_SCALE = 0.25         # fraction of the per-class residual std used when sampling
GRAY_MEAN, GRAY_STD = 120.0, 50.0   # exposure of generated faces (training images are standardised)


def standardise(images: np.ndarray) -> np.ndarray:
    """Per-image zero mean / unit std over the pixels, float32 [N, SIDE*SIDE]."""
    flat = images.reshape(len(images), -1).astype(np.float32)
    flat -= flat.mean(axis=1, keepdims=True)
    flat /= np.maximum(flat.std(axis=1, keepdims=True), 1e-3)
    return flat


def _read_labels(tar: tarfile.TarFile) -> tuple[dict[str, tarfile.TarInfo], list[str], np.ndarray]:
    """Members by file name, image names and their vote counts from the split's label.csv."""
    members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
    names, votes = [], []
    for line in tar.extractfile(members["label.csv"]).read().decode().splitlines():
        cells = line.rsplit(",", N_VOTE_COLUMNS)   # the box column "(0, 0, 48, 48)" holds commas
        names.append(cells[0].split(",", 1)[0])
        votes.append([int(v) for v in cells[1:]])
    return members, names, np.asarray(votes)


def load_training_faces(tar_path: Path, max_per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Standardised majority-label train faces, at most `max_per_class` per class (a random subset).

    The cap keeps the fit cheap and stops neutral/happiness from owning the shared PCA.
    """
    rng = np.random.default_rng(seed)
    with tarfile.open(tar_path) as tar:
        members, names, votes = _read_labels(tar)
        labels = ferplus_majority(votes)
        chosen = []
        for c in range(len(CATEGORIES)):
            idx = np.flatnonzero(labels == c)
            chosen.extend(rng.permutation(idx)[:max_per_class].tolist())
        chosen.sort()
        images = np.stack([np.asarray(Image.open(io.BytesIO(tar.extractfile(members[names[i]]).read())).convert("L"))
                           for i in chosen])
    log.info("read %d majority-label faces from %s", len(chosen), tar_path)
    return standardise(images), labels[chosen]


@dataclass(frozen=True)
class FaceModel:
    """Per-class mean faces + a shared residual PCA with per-class component stds (standardised units)."""

    means: np.ndarray        # float32 [C, SIDE*SIDE]
    components: np.ndarray   # float32 [K, SIDE*SIDE], orthonormal rows
    stds: np.ndarray         # float32 [C, K]

    @classmethod
    def load(cls, path: str | Path = MODEL_PATH) -> FaceModel:
        with np.load(path) as npz:
            return cls(*(npz[k].astype(np.float32) for k in ("means", "components", "stds")))

    def save(self, path: str | Path = MODEL_PATH) -> Path:
        """float16 is plenty for pixels in standardised units and keeps the file ~0.2 MB."""
        np.savez(path, means=self.means.astype(np.float16), components=self.components.astype(np.float16),
                 stds=self.stds.astype(np.float16))
        return Path(path)

    def sample(self, category: str, intensity: float, rng: np.random.Generator, size: int = 64,
               noise_scale: float = NOISE_SCALE) -> np.ndarray:
        """One uint8 gray face [size, size] of `category`; intensity 0 = neutral, 1 = class mean.

        Intensities above 1 exaggerate the expression: class means are averages, so they
        are milder than a typical single face of that class.
        """
        c = CATEGORIES.index(category)
        neutral = self.means[0]
        z = rng.standard_normal(self.components.shape[0]).astype(np.float32)
        face = neutral + intensity * (self.means[c] - neutral) + noise_scale * (z * self.stds[c]) @ self.components
        face = standardise(face[None])[0]   # averages are flat: restore a photo's contrast
        gray = np.clip(GRAY_MEAN + GRAY_STD * face, 0, 255).reshape(SIDE, SIDE)
        return np.clip(cv2.resize(gray, (size, size), interpolation=cv2.INTER_CUBIC), 0, 255).round().astype(np.uint8)


def fit(tar_path: Path = TRAIN_TAR, out: Path | None = MODEL_PATH, n_components: int = 40,
        max_per_class: int = 2500, seed: int = 0) -> FaceModel:
    """Fit the model on FERPlus train and (unless `out` is None) write the npz."""
    x, y = load_training_faces(tar_path, max_per_class, seed)
    means = np.stack([x[y == c].mean(axis=0) for c in range(len(CATEGORIES))])
    residuals = x - means[y]
    _, singular, vt = np.linalg.svd(residuals, full_matrices=False)
    components = vt[:n_components]
    explained = (singular[:n_components] ** 2).sum() / (singular ** 2).sum()
    log.info("%d components explain %.1f %% of the within-class variance", n_components, 100 * explained)
    projections = residuals @ components.T
    stds = np.stack([projections[y == c].std(axis=0) for c in range(len(CATEGORIES))])
    model = FaceModel(means.astype(np.float32), components.astype(np.float32), stds.astype(np.float32))
    if out is not None:
        log.info("wrote %s", model.save(out))
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=TRAIN_TAR, help="ferplus-train.tar (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    parser.add_argument("--components", type=int, default=40)
    parser.add_argument("--max-per-class", type=int, default=2500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    fit(args.data, args.out, args.components, args.max_per_class, args.seed)


if __name__ == "__main__":
    main()
