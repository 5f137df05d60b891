"""Sample frames from a video file in memory: one every `interval_s` seconds, never to disk.

Frames are read in order with `grab` (demux and decode) and converted with `retrieve`
only at sample times, timed by their own timestamps: exact for variable frame rates,
and free of the drift of seeking, which lands on the previous key frame in many codecs.
A file that will not open, yields no frame, or stops well before the length its header
states raises `VideoError` with the reason; frames sampled before a truncation have
already been yielded.
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from affect.schema import VIDEO_SUFFIXES

FRAME_INTERVAL_S = 2.0   # default sampling: one frame every 2 s
# A video counts as truncated when decoding ends before this share of the frames its header states.
COMPLETE_SHARE = 0.95


class VideoError(ValueError):
    """A video that cannot be read to its end; the message is the row's reason."""


def is_video(source: object) -> bool:
    return isinstance(source, (str, Path)) and Path(source).suffix.lower() in VIDEO_SUFFIXES


def _frame_time(capture: cv2.VideoCapture, index: int, fps: float) -> float:
    """The grabbed frame's timestamp (exact for variable frame rates); index / fps where it has none."""
    msec = capture.get(cv2.CAP_PROP_POS_MSEC)
    if math.isfinite(msec) and msec >= 0 and (msec > 0 or index == 0):
        return msec / 1000.0
    if not fps:
        raise VideoError("the video states neither frame times nor a frame rate")
    return index / fps


def sample_frames(path: str | Path, interval_s: float = FRAME_INTERVAL_S) -> Iterator[tuple[float, np.ndarray]]:
    """(time in seconds, BGR frame) at 0, interval_s, 2 * interval_s, ... up to the end of `path`."""
    if interval_s <= 0:
        raise ValueError(f"interval_s must be positive, not {interval_s}")
    path = Path(path)
    if not path.is_file():
        raise VideoError("file not found" if not path.exists() else "is a directory, not a video")
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise VideoError("cannot open video (corrupt, truncated or an unsupported codec)")
        fps = capture.get(cv2.CAP_PROP_FPS)
        fps = fps if math.isfinite(fps) and fps > 0 else 0.0
        stated = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        index, next_time, sampled = 0, 0.0, 0
        while capture.grab():
            t = _frame_time(capture, index, fps)
            index += 1
            if t + 1e-6 < next_time:
                continue
            ok, frame = capture.retrieve()
            if not ok or frame is None:
                break
            sampled += 1
            yield round(t, 3), frame
            next_time = (math.floor(t / interval_s + 1e-9) + 1) * interval_s
        if sampled == 0:
            raise VideoError("no frame could be decoded (corrupt or truncated video)")
        if stated > 0 and index < COMPLETE_SHARE * stated:
            end = f"{index / fps:.1f} s of {stated / fps:.1f} s" if fps else f"frame {index} of {stated}"
            raise VideoError(f"truncated or corrupt video: decoding stopped at {end}")
    finally:
        capture.release()
