"""Face embeddings for identity (dlib), and the matcher that names the faces of a frame or a video.

The embedding is dlib's ResNet face descriptor (`dlib_face_recognition_resnet_model_v1.dat`,
128-d, CC0), computed on the face as framed by dlib's 5-point landmark model
(`shape_predictor_5_face_landmarks.dat`, CC0) inside the box that YuNet, the product's
detector, found. dlib's 68-point model is never used: its training data (iBUG 300-W)
is licensed for non-commercial use only. The model files come from the
`face_recognition_models` package; it is located, never imported (its `__init__` imports
`pkg_resources`, which current setuptools no longer ships), and each file's SHA-256 is
checked at load, as YuNet's is: a swapped file would silently change every match.

`Matcher` names faces with `affect.matching`: every face of a photo is embedded, and a
video's faces are linked into tracks of which only a few faces are embedded (dlib's
descriptor costs about 90 ms per face on one core).
"""
from __future__ import annotations

import functools
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from affect.detect import SCORE_THRESHOLD, verified
from affect.faces import DecodeError, FaceFinder, decode_image
from affect.matching import NO_MATCH, Enrolment, assign, link, majority_distance

MODELS_PACKAGE = "face_recognition_models"
SHAPE_MODEL = "shape_predictor_5_face_landmarks.dat"
DESCRIPTOR_MODEL = "dlib_face_recognition_resnet_model_v1.dat"
SHA256 = {
    SHAPE_MODEL: "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
    DESCRIPTOR_MODEL: "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
}
# Stored beside each template: templates of another model are never compared with these.
EMBEDDING_MODEL = f"dlib-resnet-v1-sp5-{SHA256[DESCRIPTOR_MODEL][:8]}"
EMBEDDING_SIZE = 128
FACES_PER_TRACK = 3      # faces embedded per video track, at its 1st, 2nd and 4th sighting


class IdentityModelError(RuntimeError):
    """The identity models are missing or are not the files vadgrade was measured with."""


def models_dir() -> Path:
    """The installed `face_recognition_models/models` folder, found without importing the package."""
    spec = importlib.util.find_spec(MODELS_PACKAGE)
    if spec is None or spec.origin is None:
        raise IdentityModelError(f"the {MODELS_PACKAGE} package is not installed; reinstall vadgrade")
    return Path(spec.origin).parent / "models"


def _verified(name: str) -> str:
    return str(verified(models_dir() / name, SHA256[name], what="identity model", error=IdentityModelError))


@functools.lru_cache(maxsize=1)
def _models():
    """dlib's landmark and descriptor models, loaded once per process (each DataLoader worker too)."""
    import dlib
    return dlib.shape_predictor(_verified(SHAPE_MODEL)), dlib.face_recognition_model_v1(_verified(DESCRIPTOR_MODEL))


def embed(image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """[F, 128] descriptors of the faces in `boxes` (x, y, w, h from YuNet) of a gray or BGR uint8 image."""
    import dlib
    boxes = np.asarray(boxes, float).reshape(-1, 4)
    if len(boxes) == 0:
        return np.zeros((0, EMBEDDING_SIZE))
    shape_model, descriptor = _models()
    rgb = np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image[..., ::-1]
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    out = np.empty((len(boxes), EMBEDDING_SIZE))
    for i, (x, y, w, h) in enumerate(boxes):
        rect = dlib.rectangle(int(round(x)), int(round(y)), int(round(x + w - 1)), int(round(y + h - 1)))
        out[i] = np.asarray(descriptor.compute_face_descriptor(rgb, shape_model(rgb, rect)))
    return out


def template_bytes(template: np.ndarray) -> bytes:
    """How a template is stored: 128 little-endian float32."""
    return np.asarray(template, dtype="<f4").tobytes()


def template_from_bytes(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<f4").astype(float)


@dataclass
class Named:
    """Who each face of one frame is: a student index (NO_MATCH: nobody) and the distance behind it."""

    student: np.ndarray      # int [F]
    distance: np.ndarray     # float [F]: to the matched student, or to the nearest one when unmatched


@dataclass
class _Track:
    sightings: int = 0
    distances: list[np.ndarray] = field(default_factory=list)   # [S] per embedded face


class Matcher:
    """Names the faces of one photo, or of one video's sampled frames in order.

    Call `add(image, boxes)` per frame, then `names()`. Faces overlapping a face of the
    previous frame continue its track; a track's faces are embedded at its 1st, 2nd, 4th,
    8th ... sighting up to `faces_per_track`, and the track takes a student when a strict
    majority of those lie within the student's threshold. Each frame is then matched
    one-to-one. A photo is a single frame: every face is embedded.
    """

    def __init__(self, enrolment: Enrolment, faces_per_track: int = FACES_PER_TRACK):
        self.enrolment, self.faces_per_track = enrolment, faces_per_track
        self._tracks: list[_Track] = []
        self._frames: list[np.ndarray] = []     # track index per face, per frame
        self._previous = np.zeros((0, 4))
        self.embedded = 0                       # faces embedded so far

    def add(self, image: np.ndarray, boxes: np.ndarray) -> None:
        boxes = np.asarray(boxes, float).reshape(-1, 4)
        continues = link(self._previous, boxes)
        previous_tracks = self._frames[-1] if self._frames else np.zeros(0, int)
        tracks = np.empty(len(boxes), int)
        for i, j in enumerate(continues):
            if j == NO_MATCH:
                self._tracks.append(_Track())
                tracks[i] = len(self._tracks) - 1
            else:
                tracks[i] = previous_tracks[j]
        due = [i for i, t in enumerate(tracks) if self._due(self._tracks[t])]
        if due:
            distances = self.enrolment.distances(embed(image, boxes[due]))
            self.embedded += len(due)
            for i, row in zip(due, distances):
                self._tracks[tracks[i]].distances.append(row)
        for t in tracks:
            self._tracks[t].sightings += 1
        self._frames.append(tracks)
        self._previous = boxes

    def _due(self, track: _Track) -> bool:
        """Embed at sightings 0, 1, 3, 7, ...: spread over the track, cheap for long ones."""
        n = track.sightings
        return len(track.distances) < self.faces_per_track and (n + 1) & n == 0

    def names(self) -> list[Named]:
        """Per frame added, in order: each face's student and distance."""
        per_track = np.stack([majority_distance(t.distances) for t in self._tracks]) if self._tracks else None
        out = []
        for tracks in self._frames:
            if len(tracks) == 0:
                out.append(Named(np.zeros(0, int), np.zeros(0)))
                continue
            student, distance = assign(per_track[tracks], self.enrolment.thresholds)
            out.append(Named(student, distance))
        return out


def student_names(enrolment: Enrolment, named: Named) -> list[str | None]:
    """Student ids for a frame's faces; None where nobody matched."""
    return [None if s == NO_MATCH else enrolment.students[s] for s in named.student]


def photo_templates(photos: Sequence[str | Path], *, score_threshold: float = SCORE_THRESHOLD) -> list[np.ndarray | str]:
    """A template per enrolment photo, or the reason it gives none: unreadable, or not exactly one face."""
    finder = FaceFinder(score_threshold=score_threshold)
    out: list[np.ndarray | str] = []
    for photo in photos:
        try:
            image = decode_image(photo)
        except DecodeError as exc:
            out.append(str(exc))
            continue
        boxes = finder.detect(image).boxes
        if len(boxes) != 1:
            out.append("no face found in the enrolment photo" if len(boxes) == 0 else
                       f"{len(boxes)} faces in the enrolment photo (it must show one)")
        else:
            out.append(embed(image, boxes)[0])
    return out
