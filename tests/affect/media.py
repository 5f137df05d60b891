"""Small synthetic faces, frames and videos for the extraction tests (made in tmp, never committed)."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from sample_data.face_model import FaceModel
from sample_data.generate import paste_face

FRAME_SIZE = (320, 240)        # w, h
FACE_AT, FACE_SIDE = (112, 60), 96


def synthetic_face(category: str = "happiness", side: int = FACE_SIDE, seed: int = 0) -> np.ndarray:
    return FaceModel.load().sample(category, 1.2, np.random.default_rng(seed), size=side)


def room(face: np.ndarray | None = None) -> np.ndarray:
    """A plain gray BGR frame, with `face` pasted (faded in) at FACE_AT when given."""
    w, h = FRAME_SIZE
    frame = np.tile(np.linspace(150, 175, w), (h, 1))
    if face is not None:
        paste_face(frame, face, *FACE_AT)
    return cv2.cvtColor(np.clip(frame, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)


def write_video(path: Path, frames: list[np.ndarray], fps: float = 10.0, fourcc: str = "mp4v") -> Path:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    assert writer.isOpened(), f"OpenCV cannot write {fourcc} to {path.suffix}"
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def clip(path: Path, seconds_with_face: float = 4.0, seconds: float = 6.0, fps: float = 10.0,
         fourcc: str = "mp4v") -> Path:
    """A video whose face shows for its first `seconds_with_face`, then an empty room."""
    face = synthetic_face()
    frames = [room(face if i / fps < seconds_with_face else None) for i in range(int(seconds * fps))]
    return write_video(path, frames, fps, fourcc)


def truncated(path: Path, source: Path) -> Path:
    data = source.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path
