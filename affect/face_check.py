"""Is a small input (the crop path) really a face? Blank, flat, noisy and faceless crops are not.

Crops skip detection, so without this check a white 48x48 square would be scored as a
confident "happiness". Three tests, cheapest first, each with a reason for the row:
- flat: the pixels barely vary (blank camera, lens cap, a flat wall);
- noise: neighbouring pixels are uncorrelated (sensor noise, a broken stream);
- no face: YuNet, on the crop upscaled to CHECK_SIDE (it finds few faces at 48 px),
  scores no face above CROP_FACE_SCORE (unless a quicker look at QUICK_SIDE is sure).
With a network that has a face output (the CPU student, affect.distil), only the first
two run (`flat_or_noise`) and that output replaces the third.
Thresholds come from the FERPlus train and valid crops, with margin (not from the test
split they are checked on): the least-varied train crop has a pixel std of 9.1 and a
neighbour correlation of 0.54; the lowest face score at 160 px, over 10,000 train and
all 3,579 valid crops, is 0.069. benchmarks/face_check.py measures both sides.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from affect.detect import Faces, YuNet

CHECK_SIDE = 160            # crops are upscaled to this side before YuNet looks at them
CROP_FACE_SCORE = 0.05      # lowest YuNet score that counts as a face in a crop
# A first look at this side settles most face crops at about 40 % of the cost: 93 % of
# FERPlus train crops score >= QUICK_SCORE there; no non-face scored above 0.69 (2,350 tried).
QUICK_SIDE, QUICK_SCORE = 96, 0.8
FLAT_STD = 5.0              # pixel std (0-255) below which a crop is flat
NOISE_CORRELATION = 0.3     # mean correlation of horizontal and vertical neighbours below which it is noise
STATS_SIDE = 48             # flatness and noise are judged at FER2013's size, where the thresholds were set


@dataclass
class CropCheck:
    """The verdict on one crop; `faces` are in the crop's own pixels, best first."""

    reason: str             # "" when the crop shows a face
    score: float            # best YuNet score in the crop (0 when not reached)
    faces: Faces

    @property
    def is_face(self) -> bool:
        return not self.reason


def _pixel_stats(gray: np.ndarray) -> tuple[float, float]:
    """(pixel std, mean Pearson correlation of each pixel with its right and lower neighbour:
    about 0 for white noise).

    Exact, from whole-image sums minus one edge row or column: a crop's check runs for
    every crop file, so a handful of numpy calls instead of a few dozen.
    """
    a = gray.astype(np.float64)
    n = a.size
    total, squares = a.sum(), np.einsum("ij,ij->", a, a)
    std = float(np.sqrt(max(squares / n - (total / n) ** 2, 0.0)))

    def pearson(cross: float, first: np.ndarray, last: np.ndarray) -> float:
        # pairs (x, y): x is the image without its `last` edge, y without its `first` edge
        m = n - first.size
        sx, sy = total - last.sum(), total - first.sum()
        qx, qy = squares - (last * last).sum(), squares - (first * first).sum()
        cov = cross - sx * sy / m
        return float(cov / (np.sqrt(max(qx - sx * sx / m, 0.0) * max(qy - sy * sy / m, 0.0)) + 1e-12))
    horizontal = pearson(np.einsum("ij,ij->", a[:, :-1], a[:, 1:]), a[:, 0], a[:, -1])
    vertical = pearson(np.einsum("ij,ij->", a[:-1], a[1:]), a[0], a[-1])
    return std, (horizontal + vertical) / 2


def faces_in_crop(gray: np.ndarray, detect: YuNet, side: int) -> Faces:
    """YuNet's faces (score >= CROP_FACE_SCORE) in the crop upscaled to `side`, in the crop's own pixels."""
    h, w = gray.shape
    scale = side / max(h, w)
    big = cv2.resize(gray, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_CUBIC)
    faces = detect(big)
    faces = faces.subset(faces.scores >= CROP_FACE_SCORE)
    sx, sy = w / big.shape[1], h / big.shape[0]
    faces.boxes = faces.boxes * [sx, sy, sx, sy]
    faces.landmarks = (faces.landmarks + 0.5) * [sx, sy] - 0.5
    return faces


def flat_or_noise(gray: np.ndarray) -> str:
    """Why the crop is blank, flat or noise; "" when it is none of these (the cheap tests)."""
    small = gray if gray.shape == (STATS_SIDE, STATS_SIDE) else cv2.resize(gray, (STATS_SIDE, STATS_SIDE),
                                                                           interpolation=cv2.INTER_AREA)
    std, corr = _pixel_stats(small)
    if std < FLAT_STD:
        return f"blank or flat image (pixel std {std:.1f} < {FLAT_STD:g}), not a face"
    if corr < NOISE_CORRELATION:
        return f"looks like noise (neighbour correlation {corr:.2f} < {NOISE_CORRELATION:g}), not a face"
    return ""


def check_crop(gray: np.ndarray, detect: YuNet) -> CropCheck:
    """Flat, noise or no face (with the reason), or a face; `detect` should run at CROP_FACE_SCORE."""
    reason = flat_or_noise(gray)
    if reason:
        return CropCheck(reason, 0.0, Faces.empty())
    faces = faces_in_crop(gray, detect, QUICK_SIDE)
    if not len(faces) or faces.scores[0] < QUICK_SCORE:
        faces = faces_in_crop(gray, detect, CHECK_SIDE)
    if not len(faces):
        return CropCheck(f"no face found in the crop (detector score below {CROP_FACE_SCORE:g})", 0.0, faces)
    return CropCheck("", float(faces.scores[0]), faces)
