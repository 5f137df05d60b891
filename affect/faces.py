"""Decode any image safely and find the faces in it.

Decoding turns whatever arrives (16-bit, CMYK, palette, RGBA, EXIF-rotated, huge) into
one 8-bit gray array or a `DecodeError` with a reason a person can act on. Detection
uses OpenCV's frontal-face Haar cascade, which ships inside the opencv 4.x wheel, so
nothing is downloaded at run time.
"""
from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PIXELS = 80_000_000     # refuse larger images instead of risking memory (decompression bombs)
DETECT_MAX_SIDE = 1600      # detection runs on a copy no larger than this; boxes map back


class DecodeError(ValueError):
    """An input that is not a usable image; the message is the row's reason."""


@dataclass
class Detection:
    """Faces found in one image: boxes in original pixel coordinates, scores, crops."""

    boxes: np.ndarray   # int [F, 4] x, y, w, h
    scores: np.ndarray  # float [F]
    crops: np.ndarray   # uint8 [F, S, S]


def _to_gray(im: Image.Image) -> np.ndarray:
    """8-bit gray from any PIL mode, scaling high bit depths instead of clipping them."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        if im.mode.startswith("I;16"):
            arr = arr / 257.0
        elif arr.size and arr.max() > 255:
            arr = (arr - arr.min()) / max(arr.max() - arr.min(), 1e-9) * 255.0
        return np.clip(arr, 0, 255).astype(np.uint8)
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
        background = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(background, im)
    return np.asarray(im.convert("L"), dtype=np.uint8)


def decode_gray(source: str | Path | np.ndarray | Image.Image, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Any image input -> uint8 [H, W], upright (EXIF orientation applied)."""
    if isinstance(source, np.ndarray):
        arr = source
        if arr.ndim == 3:
            arr = cv2.cvtColor(arr[..., :3].astype(np.uint8), cv2.COLOR_RGB2GRAY)
        if arr.ndim != 2 or arr.size == 0:
            raise DecodeError(f"array of shape {source.shape} is not an image")
        return arr.astype(np.uint8) if arr.dtype != np.uint8 else arr
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = source if isinstance(source, Image.Image) else Image.open(source)
            with im:
                w, h = im.size
                if w * h > max_pixels:
                    raise DecodeError(f"image too large ({w}x{h} pixels > {max_pixels:,})")
                if im.format == "JPEG":
                    im.draft("L", (DETECT_MAX_SIDE, DETECT_MAX_SIDE))  # decode huge JPEGs downscaled
                im.load()
                im = ImageOps.exif_transpose(im)
                return _to_gray(im)
    except DecodeError:
        raise
    except FileNotFoundError:
        raise DecodeError("file not found") from None
    except IsADirectoryError:
        raise DecodeError("is a directory, not an image") from None
    except UnidentifiedImageError:
        raise DecodeError("not an image file (unknown or corrupt format)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DecodeError(f"image too large ({exc})") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise DecodeError(f"corrupt or truncated image ({exc})") from None


def is_crop(gray: np.ndarray, crop_max_side: int) -> bool:
    """Small inputs are taken as face crops already (FER-style 48x48 faces)."""
    return max(gray.shape) <= crop_max_side


def square_crop(gray: np.ndarray, box: tuple[int, int, int, int], out_size: int, expand: float) -> np.ndarray:
    """A square crop around `box`, grown by `expand` (Haar boxes are tighter than FER crops)."""
    x, y, w, h = box
    cx, cy, side = x + w / 2, y + h / 2, max(w, h) * expand
    x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    s = int(round(side))
    pad = max(0, -x0, -y0, x0 + s - gray.shape[1], y0 + s - gray.shape[0])
    if pad:
        gray = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        x0, y0 = x0 + pad, y0 + pad
    return cv2.resize(gray[y0:y0 + s, x0:x0 + s], (out_size, out_size), interpolation=cv2.INTER_AREA)


class FaceDetector:
    """OpenCV frontal-face cascade with a confidence from its final stage.

    The cascade loads once per process (DataLoader workers each hold their own copy), on
    the first `detect`: inputs that are already face crops never need it.
    """

    def __init__(self, min_face: int = 40, scale_factor: float = 1.1, min_neighbors: int = 5,
                 expand: float = 1.25, out_size: int = 64):
        self.min_face, self.scale_factor, self.min_neighbors = min_face, scale_factor, min_neighbors
        self.expand, self.out_size = expand, out_size

    @functools.cached_property
    def cascade(self) -> cv2.CascadeClassifier:
        path = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"
        cascade = cv2.CascadeClassifier(str(path))
        if cascade.empty():
            raise RuntimeError(f"could not load the face cascade at {path}")
        return cascade

    def detect(self, gray: np.ndarray) -> Detection:
        scale = min(1.0, DETECT_MAX_SIDE / max(gray.shape))
        small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else gray
        small = cv2.equalizeHist(small)
        min_side = max(16, int(self.min_face * scale))
        boxes, _, weights = self.cascade.detectMultiScale3(
            small, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors,
            minSize=(min_side, min_side), outputRejectLevels=True)
        if len(boxes) == 0:
            return Detection(np.zeros((0, 4), int), np.zeros(0), np.zeros((0, self.out_size, self.out_size), np.uint8))
        boxes = np.round(np.asarray(boxes, float) / scale).astype(int)
        # Stage weights are unbounded margins; a logistic maps them to (0, 1) for a comparable score.
        scores = 1.0 / (1.0 + np.exp(-np.asarray(weights, float).ravel()))
        order = np.argsort(boxes[:, 0], kind="stable")        # left to right: stable face_idx
        boxes, scores = boxes[order], scores[order]
        crops = np.stack([square_crop(gray, tuple(b), self.out_size, self.expand) for b in boxes])
        return Detection(boxes, scores, crops)

    def whole(self, gray: np.ndarray) -> Detection:
        """Treat the whole (already cropped) image as one face."""
        h, w = gray.shape
        crop = cv2.resize(gray, (self.out_size, self.out_size), interpolation=cv2.INTER_AREA)
        return Detection(np.array([[0, 0, w, h]]), np.ones(1), crop[None])
