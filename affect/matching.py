"""Whose face is it: per-cohort thresholds from enrolment photos, one-to-one matching, video tracks.

Pure numpy/scipy on face embeddings (`affect.identity` computes them); no files, no models.

**Thresholds are calibrated per student, from the cohort's own enrolment photos.** A fixed
distance threshold does not carry over between groups of people: in a group whose faces
embed closer together, the usual 0.6 (or 0.45) accepts strangers wholesale. For each
enrolled student s:
- `own` = how far a new photo of s lies from s's other photos: the mean, over s's
  photos, of the distance to the nearest other photo of s (leave-one-out);
- `nearest` = how close a classmate comes: the smallest distance between a photo of s and
  a classmate's photo;
- threshold = halfway between the two.
No constant is fitted: scaling every distance scales every threshold the same way, and a
student whom classmates resemble gets a stricter threshold. Leave-one-out means, unlike
the largest spread among s's photos, do not grow with the number of photos, so 2 to 5
photos give similar error rates (benchmarks/identity.py measures it).

**Each frame is matched one-to-one** (`scipy.optimize.linear_sum_assignment`): no student
appears twice in a frame, and a face farther from every student than their threshold
matches nobody. **Video** faces are linked across sampled frames into tracks by box
overlap; a track takes a student when a strict majority of its embedded faces lie within
that student's threshold, so only a few faces per track need an embedding.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from affect.schema import MAX_PHOTOS, MIN_PHOTOS

MIN_STUDENTS = 2                # a threshold needs a classmate to compare with
TRACK_MIN_IOU = 0.3             # boxes in consecutive sampled frames overlapping this much are one track
NO_MATCH = -1


class EnrolmentError(ValueError):
    """Templates that cannot be calibrated (too few students or photos); the message says why."""


@dataclass(frozen=True, repr=False)
class Enrolment:
    """Templates of enrolled students and each student's reject threshold.

    Templates are biometric data: `repr` shows counts only, so a log line never holds one.
    """

    students: tuple[str, ...]      # enrolled student ids, sorted
    owner: np.ndarray              # int [N]: index into students for each template
    templates: np.ndarray          # float [N, D]
    thresholds: np.ndarray         # float [S]: accept a face for student s at distance <= thresholds[s]
    own: np.ndarray                # float [S]: how far a new photo of s lies from s's other photos
    nearest: np.ndarray            # float [S]: how close a classmate's photo comes to s's photos

    def __repr__(self) -> str:
        return f"Enrolment({len(self.students)} students, {len(self.templates)} templates)"

    @property
    def key(self) -> str:
        """A fingerprint of who is enrolled with which templates (thresholds follow from them).

        Frames stored under another key are matched again. Independent of template order;
        a one-way hash, so it reveals no template.
        """
        digest = hashlib.sha256()
        for student, template in sorted((self.students[o], np.asarray(t, np.float32).tobytes())
                                        for o, t in zip(self.owner, self.templates)):
            digest.update(student.encode() + b"\x1f" + template)
        return digest.hexdigest()[:16]

    def distances(self, embeddings: np.ndarray) -> np.ndarray:
        """[F, S]: each face's distance to each student (to the nearest of their templates)."""
        pair = cdist(np.asarray(embeddings, float).reshape(-1, self.templates.shape[1]), self.templates)
        out = np.full((len(pair), len(self.students)), np.inf)
        np.minimum.at(out.T, self.owner, pair.T)
        return out


def student_statistics(owner: np.ndarray, templates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per student: (own spread, nearest classmate) as described in the module docstring."""
    pair = cdist(templates, templates)
    n_students = int(owner.max()) + 1
    own, nearest = np.empty(n_students), np.empty(n_students)
    for s in range(n_students):
        mine = owner == s
        within = pair[np.ix_(mine, mine)]
        np.fill_diagonal(within, np.inf)
        own[s] = within.min(axis=1).mean()
        nearest[s] = pair[np.ix_(mine, ~mine)].min()
    return own, nearest


def calibrate(student_ids: Sequence[str], templates: np.ndarray) -> Enrolment:
    """An Enrolment from one template per enrolment photo (`student_ids[i]` owns `templates[i]`).

    Raises EnrolmentError unless there are at least MIN_STUDENTS students with
    MIN_PHOTOS to MAX_PHOTOS templates each.
    """
    ids = np.asarray([str(s) for s in student_ids], dtype=object)
    templates = np.asarray(templates, float)
    if templates.ndim != 2 or len(templates) != len(ids):
        raise ValueError(f"templates of shape {templates.shape} for {len(ids)} student ids")
    students, owner, counts = np.unique(ids, return_inverse=True, return_counts=True)
    bad = [f"{s}: {n} photo(s)" for s, n in zip(students, counts) if not MIN_PHOTOS <= n <= MAX_PHOTOS]
    if bad:
        raise EnrolmentError(f"each student needs {MIN_PHOTOS} to {MAX_PHOTOS} enrolment photos; " + ", ".join(bad))
    if len(students) < MIN_STUDENTS:
        raise EnrolmentError(f"at least {MIN_STUDENTS} enrolled students are needed to calibrate "
                             f"(a threshold compares each with a classmate); found {len(students)}")
    own, nearest = student_statistics(owner, templates)
    return Enrolment(tuple(students), owner, templates, (own + nearest) / 2, own, nearest)


def assign(distances: np.ndarray, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one: (student index or NO_MATCH per face, distance to that student or to the nearest one).

    `distances` [F, S]; a pair farther than the student's threshold is never made, so a
    face takes its best acceptable student that no closer face claims.
    """
    distances = np.asarray(distances, float)
    n_faces = len(distances)
    chosen = np.full(n_faces, NO_MATCH)
    nearest = distances.min(axis=1) if distances.size else np.full(n_faces, np.nan)
    ok = distances <= thresholds[None, :]
    if not ok.any():
        return chosen, nearest
    cost = np.where(ok, distances, distances.max() + 1e3)   # forbidden pairs: dearer than any allowed set
    rows, cols = linear_sum_assignment(cost)
    for r, c in zip(rows, cols):
        if ok[r, c]:
            chosen[r], nearest[r] = c, distances[r, c]
    return chosen, nearest


def majority_distance(distances: np.ndarray) -> np.ndarray:
    """[S] from a track's embedded faces [M, S]: per student, the distance within which a strict majority lies.

    A track is accepted for a student exactly when more than half its embedded faces are
    (the largest of 2, the middle of 3, the third of 4 or 5).
    """
    distances = np.sort(np.asarray(distances, float), axis=0)
    return distances[len(distances) // 2]


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[len(a), len(b)] intersection over union of x, y, w, h boxes."""
    a, b = np.asarray(a, float).reshape(-1, 4), np.asarray(b, float).reshape(-1, 4)
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 0] + a[:, None, 2], b[None, :, 0] + b[None, :, 2])
    y1 = np.minimum(a[:, None, 1] + a[:, None, 3], b[None, :, 1] + b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def link(previous: np.ndarray, boxes: np.ndarray, min_iou: float = TRACK_MIN_IOU) -> np.ndarray:
    """For each box, the index of the box in the previous frame it continues, or NO_MATCH (one-to-one)."""
    out = np.full(len(boxes), NO_MATCH)
    if len(previous) == 0 or len(boxes) == 0:
        return out
    overlap = iou(boxes, previous)
    rows, cols = linear_sum_assignment(-overlap)
    for r, c in zip(rows, cols):
        if overlap[r, c] >= min_iou:
            out[r] = c
    return out
