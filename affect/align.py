"""Warp each detected face to the framing the expression network was trained on.

The network learned from FER2013 crops, so a face from a photo should reach it framed
the same way. `FER_LANDMARKS` holds where YuNet puts the five landmarks in the average
FERPlus *train* crop, and `FER_BOX` where it puts its box there, both in units of the
crop side (0..1, pixel edges). An aligned crop is the similarity transform (rotation,
scale, shift; no shear) that moves a face's landmarks closest to `FER_LANDMARKS`, in the
least-squares sense (Umeyama 1991). `box_crop` frames a face from its box alone, the
plain alternative the benchmarks compare against.

Derived by `python benchmarks/fer_template.py` (output in
benchmarks/results/fer_template.json): YuNet on every FERPlus train crop upscaled to
160 px, the top face of each crop with score >= 0.5, mean position, mirrored and
averaged (training flips faces, so the template is made left-right symmetric).
"""
from __future__ import annotations

import math

import cv2
import numpy as np

# YuNet's order (x, y): right eye, left eye, nose tip, right and left mouth corner, the person's
# right on the image's left; see the module docstring
FER_LANDMARKS = np.array([
    [0.3086, 0.3816], [0.6914, 0.3816], [0.5000, 0.5971], [0.3451, 0.7599], [0.6549, 0.7599],
])
FER_BOX = (0.0874, 0.0274, 0.8251, 0.9720)   # x, y, w, h of YuNet's box in the same crops
MAX_SUPERSAMPLE = 4   # a shrinking face is warped at up to this many times the output size, then area-averaged


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """2x3 matrix of the similarity transform mapping points `src` [N, 2] closest to `dst` (Umeyama)."""
    src_mean, dst_mean = src.mean(0), dst.mean(0)
    s, d = src - src_mean, dst - dst_mean
    u, sigma, vt = np.linalg.svd(d.T @ s / len(src))
    sign = np.diag([1.0, np.sign(np.linalg.det(u @ vt)) or 1.0])
    rotation = u @ sign @ vt
    scale = float(np.trace(np.diag(sigma) @ sign) / max((s ** 2).sum() / len(src), 1e-12))
    matrix = np.empty((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = dst_mean - matrix[:, :2] @ src_mean
    return matrix


def warp(gray: np.ndarray, matrix: np.ndarray, out_size: int) -> np.ndarray:
    """`gray` through `matrix` (image pixels -> output pixels) into an out_size square.

    Shrinking a big face with one bilinear warp aliases; it is warped at up to
    MAX_SUPERSAMPLE x the size first, then area-averaged down (as cv2.INTER_AREA resizing does).
    """
    shrink = 1.0 / max(math.sqrt(abs(np.linalg.det(matrix[:, :2]))), 1e-9)
    k = int(min(MAX_SUPERSAMPLE, max(1, math.ceil(shrink - 1e-6))))
    big_matrix = matrix * k
    big_matrix[:, 2] += (k - 1) / 2          # pixel centres of the k-times grid
    big = cv2.warpAffine(gray, big_matrix, (out_size * k, out_size * k), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)
    return big if k == 1 else cv2.resize(big, (out_size, out_size), interpolation=cv2.INTER_AREA)


def to_pixels(unit: np.ndarray, side: float) -> np.ndarray:
    """Unit-square coordinates (pixel edges at 0 and 1) -> pixel-centre coordinates of a `side` px square."""
    return unit * side - 0.5


def aligned_crop(gray: np.ndarray, landmarks: np.ndarray, out_size: int) -> np.ndarray:
    """The face with these five landmarks [5, 2], framed like a FER2013 crop."""
    return warp(gray, similarity(landmarks, to_pixels(FER_LANDMARKS, out_size)), out_size)


def box_crop(gray: np.ndarray, box: np.ndarray, out_size: int) -> np.ndarray:
    """The face in `box` (x, y, w, h), framed like a FER2013 crop from the box alone (no rotation)."""
    x, y, w, h = box
    bx, by, bw, bh = FER_BOX
    side = 0.5 * (w / bw + h / bh)                    # crop side in image pixels
    x0, y0 = x + w / 2 - (bx + bw / 2) * side, y + h / 2 - (by + bh / 2) * side
    scale = out_size / side
    matrix = np.array([[scale, 0.0, -x0 * scale + 0.5 * scale - 0.5],
                       [0.0, scale, -y0 * scale + 0.5 * scale - 0.5]])
    return warp(gray, matrix, out_size)
