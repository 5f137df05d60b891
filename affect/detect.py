"""YuNet, the shipped face detector: a box, a score and five landmarks per face.

YuNet (Apache-2.0, 232 KB; licence and NOTICE beside it in `affect/resources`) runs in
the pinned OpenCV as `cv2.FaceDetectorYN`, so nothing is downloaded at run time. Its
SHA-256 is checked when it loads: a swapped or damaged file would change every
detection silently. On WIDER FACE group photos it finds twice the faces the Haar cascade
it replaced did, at higher precision (benchmarks/detection.py).
"""
from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import cv2
import numpy as np

YUNET_FILE = "yunet_s_640_640.onnx"
YUNET_SHA256 = "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4"
SCORE_THRESHOLD = 0.6   # wider_dev medium faces: recall 94.7 %, precision 97.5 % (benchmarks/detection.py)
NMS_THRESHOLD = 0.3
TOP_K = 5000            # candidates kept before NMS: a full lecture hall stays far below it


class DetectorError(RuntimeError):
    """The detector model is missing or is not the file vadgrade was measured with."""


@dataclass
class Faces:
    """Detector output in the input image's pixels."""

    boxes: np.ndarray       # float [F, 4] x, y, w, h
    landmarks: np.ndarray   # float [F, 5, 2] right eye, left eye, nose tip, right and left mouth corner
    scores: np.ndarray      # float [F]

    def __len__(self) -> int:
        return len(self.scores)

    def subset(self, index: np.ndarray) -> Faces:
        return Faces(self.boxes[index], self.landmarks[index], self.scores[index])

    @classmethod
    def empty(cls) -> Faces:
        return cls(np.zeros((0, 4)), np.zeros((0, 5, 2)), np.zeros(0))


def yunet_path() -> Path:
    return Path(str(resources.files("affect") / "resources" / YUNET_FILE))


def verified(path: Path, sha256: str = YUNET_SHA256, *, what: str = "face detector model",
             error: type[Exception] = DetectorError, remedy: str = "reinstall vadgrade") -> Path:
    """`path`, after checking its SHA-256: a clear `error` instead of silently different results.

    Every model file vadgrade loads goes through here (YuNet, dlib's identity models, the
    int8 CPU network); `what` names it and `remedy` says how to get it back.
    """
    if not path.is_file():
        raise error(f"{what} not found at {path}; {remedy}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != sha256:
        raise error(f"{what} {path} has SHA-256 {digest}, expected {sha256}: "
                    f"the file is damaged or was replaced; {remedy}")
    return path


def as_bgr(image: np.ndarray) -> np.ndarray:
    """YuNet takes 3-channel BGR; gray images are replicated into the three channels."""
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image


class YuNet:
    """cv2.FaceDetectorYN at the input's own size, loaded once per process on first use.

    DataLoader workers each build their own (OpenCV objects do not pickle).
    """

    def __init__(self, score_threshold: float = SCORE_THRESHOLD, model_path: str | Path | None = None):
        self.score_threshold, self.model_path = score_threshold, model_path

    @functools.cached_property
    def _net(self) -> cv2.FaceDetectorYN:
        path = verified(Path(self.model_path) if self.model_path else yunet_path())
        return cv2.FaceDetectorYN.create(str(path), "", (320, 320), self.score_threshold, NMS_THRESHOLD, TOP_K)

    def __call__(self, image: np.ndarray) -> Faces:
        """Faces in a gray or BGR uint8 image, best score first."""
        h, w = image.shape[:2]
        self._net.setInputSize((w, h))
        _, found = self._net.detect(as_bgr(image))
        if found is None or len(found) == 0:
            return Faces.empty()
        found = found[np.argsort(-found[:, 14], kind="stable")].astype(np.float64)
        return Faces(found[:, :4], found[:, 4:14].reshape(-1, 5, 2), found[:, 14])
