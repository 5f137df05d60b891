"""Decode any image safely, find the faces in it and frame each one like a FER2013 crop.

Decoding turns whatever arrives (16-bit, CMYK, palette, RGBA, EXIF-rotated, huge) into
one 8-bit array (gray for gray sources, BGR for colour) or a `DecodeError` with a reason a
person can act on. Colour is kept for detection: YuNet finds 3.7 points more of the
WIDER dev faces in colour than in gray (benchmarks/detection.py); the network reads gray.

Photos and video frames go through YuNet and each face is warped to the FER framing
(`affect.align`). Small inputs are taken as face crops, scored whole and unaligned
(aligned by their own landmarks, FERPlus test crops scored 87.4 % instead of 88.1 %) once
`affect.face_check` agrees they show a face (with a network that has a face output, the
CPU student of affect.distil, only its cheap tests run here and that output decides).
"""
from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from affect.align import aligned_crop, box_crop
from affect.detect import SCORE_THRESHOLD, YuNet
from affect.face_check import CROP_FACE_SCORE, check_crop, flat_or_noise

MAX_PIXELS = 80_000_000     # refuse larger images instead of risking memory (decompression bombs)
# Detection runs at the photo's own size up to this side; larger photos are detected on a
# copy this big (JPEGs decode straight to about it). A face that shrinks below MIN_FACE
# there was under ~23 px in a 5000 px photo, and a 16 px face already reads poorly
# (robustness: 70.7 %); the copy has a quarter of the pixels YuNet would otherwise scan.
DETECT_MAX_SIDE = 2560
MIN_FACE = 12               # detections with a box side below this (pixels) are dropped
HIGH_DEPTH_MODES = {"I;16", "I;16B", "I;16L", "I;16N", "I", "F"}   # decoded to 8-bit gray, scaled
GRAY_MODES = {"1", "L", "LA"}
MASK_LEVEL = 128            # masked areas become this flat gray: never detected, never scored


class DecodeError(ValueError):
    """An input that is not a usable image; the message is the row's reason."""


@dataclass
class Detection:
    """Faces found in one image or frame: boxes in its pixels, scores, network-ready crops."""

    boxes: np.ndarray   # float [F, 4] x, y, w, h
    scores: np.ndarray  # float [F]
    crops: np.ndarray   # uint8 [F, S, S]
    reason: str = ""    # why no face was found, when there is none
    # A whole crop that passed the cheap tests and waits for the network's face output
    # (a network with one; affect.network) to say whether it shows a face.
    face_unchecked: bool = False

    @classmethod
    def none(cls, out_size: int, reason: str) -> Detection:
        return cls(np.zeros((0, 4)), np.zeros(0), np.zeros((0, out_size, out_size), np.uint8), reason)

    def subset(self, keep: np.ndarray) -> Detection:
        return Detection(self.boxes[keep], self.scores[keep], self.crops[keep], self.reason, self.face_unchecked)


def _scaled_to_8bit(im: Image.Image) -> np.ndarray:
    """8-bit gray from a high-bit-depth PIL image, scaling instead of clipping."""
    arr = np.asarray(im, dtype=np.float64)
    if im.mode.startswith("I;16"):
        arr = arr / 257.0
    elif arr.size and arr.max() > 255:
        arr = (arr - arr.min()) / max(arr.max() - arr.min(), 1e-9) * 255.0
    return np.clip(arr, 0, 255).astype(np.uint8)


def _to_array(im: Image.Image) -> np.ndarray:
    """uint8 gray [H, W] for gray modes, BGR [H, W, 3] otherwise; transparency becomes white."""
    if im.mode in HIGH_DEPTH_MODES:
        return _scaled_to_8bit(im)
    if im.mode == "L":
        return np.asarray(im)
    gray = im.mode in GRAY_MODES
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        im = Image.alpha_composite(Image.new("RGBA", im.size, (255, 255, 255, 255)), im.convert("RGBA"))
    if gray:
        return np.asarray(im.convert("L"), dtype=np.uint8)
    return np.ascontiguousarray(np.asarray(im.convert("RGB"), dtype=np.uint8)[..., ::-1])


def _may_be_rotated(im: Image.Image) -> bool:
    """Whether the image carries an orientation (EXIF or XMP) that exif_transpose would read;
    asking only then spares most small crops a third of their decoding time."""
    return im.format == "TIFF" or any(key in im.info for key in ("exif", "xmp", "XML:com.adobe.xmp"))


def to_gray(image: np.ndarray) -> np.ndarray:
    """The network's input: gray (the same luma weights as PIL's convert('L'))."""
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image


def decode_image(source: str | Path | np.ndarray | Image.Image, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Any image input -> uint8 gray [H, W] or BGR [H, W, 3], upright (EXIF orientation applied).

    Arrays pass through: [H, W] gray, or [H, W, 3|4] in RGB order (as PIL and matplotlib give them).
    """
    if isinstance(source, np.ndarray):
        arr = source
        if arr.ndim == 3 and arr.shape[2] in (3, 4):
            arr = np.ascontiguousarray(arr[..., 2::-1])
        if arr.ndim not in (2, 3) or arr.size == 0 or (arr.ndim == 3 and arr.shape[2] != 3):
            raise DecodeError(f"array of shape {source.shape} is not an image")
        return arr.astype(np.uint8) if arr.dtype != np.uint8 else arr
    try:
        with warnings.catch_warnings():
            # Our own limit (below PIL's warning level) is checked from the header, before
            # any pixel is decoded; PIL still refuses what is past twice its own limit.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = source if isinstance(source, Image.Image) else Image.open(source)
            with im:
                w, h = im.size
                if w * h > max_pixels:
                    raise DecodeError(f"image too large ({w}x{h} px, limit {max_pixels:,} px)")
                if im.format == "JPEG":
                    im.draft(im.mode, (DETECT_MAX_SIDE, DETECT_MAX_SIDE))   # huge JPEGs decode downscaled
                im.load()
                return _to_array(ImageOps.exif_transpose(im) if _may_be_rotated(im) else im)
    except DecodeError:
        raise
    except FileNotFoundError:
        raise DecodeError("file not found") from None
    except IsADirectoryError:
        raise DecodeError("is a directory, not an image") from None
    except UnidentifiedImageError:
        raise DecodeError("not an image file (unknown or corrupt format)") from None
    except Image.DecompressionBombError:
        raise DecodeError(f"image too large (over {2 * Image.MAX_IMAGE_PIXELS:,} px, "
                          f"limit {max_pixels:,} px)") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise DecodeError(f"corrupt or truncated image ({exc})") from None


def decode_gray(source: str | Path | np.ndarray | Image.Image, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Any image input -> uint8 gray [H, W], upright."""
    return to_gray(decode_image(source, max_pixels))


def is_crop(image: np.ndarray, crop_max_side: int) -> bool:
    """Small inputs are taken as face crops already (FER-style 48x48 faces)."""
    return max(image.shape[:2]) <= crop_max_side


def masked(image: np.ndarray, boxes) -> np.ndarray:
    """A copy with each (x, y, w, h) box painted flat gray, so no face there is found or scored."""
    if not len(boxes):
        return image
    image = image.copy()
    for x, y, w, h in boxes:
        image[max(y, 0):max(y + h, 0), max(x, 0):max(x + w, 0)] = MASK_LEVEL
    return image


class FaceFinder:
    """Faces of one image or frame, as boxes plus crops framed for the network.

    Each process builds its own (DataLoader workers included); the YuNet models load on
    first use, the frame detector only when a photo or frame needs it.
    """

    def __init__(self, out_size: int = 48, score_threshold: float = SCORE_THRESHOLD,
                 min_face: int = MIN_FACE, align: bool = True):
        self.out_size, self.score_threshold, self.min_face, self.align = out_size, score_threshold, min_face, align

    def __getstate__(self) -> dict:
        """Loaded models stay behind when pickled to a worker (OpenCV objects do not pickle)."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    @functools.cached_property
    def _frame_detector(self) -> YuNet:
        return YuNet(self.score_threshold)

    @functools.cached_property
    def _crop_detector(self) -> YuNet:
        return YuNet(CROP_FACE_SCORE)

    def detect(self, image: np.ndarray) -> Detection:
        """Every face YuNet finds, left to right (a stable face_idx), each framed like a FER2013 crop."""
        scale = min(1.0, DETECT_MAX_SIDE / max(image.shape[:2]))
        small = image if scale == 1 else cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        faces = self._frame_detector(small)
        if scale != 1:
            faces.boxes, faces.landmarks = faces.boxes / scale, (faces.landmarks + 0.5) / scale - 0.5
        faces = faces.subset(np.minimum(faces.boxes[:, 2], faces.boxes[:, 3]) >= self.min_face)
        if not len(faces):
            return Detection.none(self.out_size, "no face detected")
        faces = faces.subset(np.argsort(faces.boxes[:, 0], kind="stable"))
        gray = to_gray(image)
        crops = [aligned_crop(gray, lm, self.out_size) if self.align else box_crop(gray, box, self.out_size)
                 for box, lm in zip(faces.boxes, faces.landmarks)]
        return Detection(faces.boxes, faces.scores, np.stack(crops))

    def whole(self, image: np.ndarray, network_checks: bool = False) -> Detection:
        """The whole (already cropped) image as one face, when face_check finds a face in it.

        network_checks: the network has a face output, so only the cheap tests run here
        and the crop waits for its verdict (`face_unchecked`), instead of YuNet's.
        """
        gray = to_gray(image)
        if network_checks:
            reason, score = flat_or_noise(gray), np.nan
        else:
            check = check_crop(gray, self._crop_detector)
            reason, score = check.reason, check.score
        if reason:
            return Detection.none(self.out_size, reason)
        h, w = gray.shape
        crop = gray if gray.shape == (self.out_size, self.out_size) else cv2.resize(
            gray, (self.out_size, self.out_size), interpolation=cv2.INTER_AREA)
        return Detection(np.array([[0.0, 0.0, w, h]]), np.array([score]), crop[None], face_unchecked=network_checks)
