"""Per-student thresholds, one-to-one matching and video tracks, on made-up embeddings."""
from __future__ import annotations

import numpy as np
import pytest

from affect.matching import NO_MATCH, EnrolmentError, assign, calibrate, iou, link, majority_distance


def _people(n: int, photos: int, spread: float, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """`n` people one unit apart in 128-d, each photo within `spread` of its person."""
    rng = np.random.default_rng(seed)
    centres = np.eye(128)[:n]
    ids = [f"s{i}" for i in range(n) for _ in range(photos)]
    return ids, np.repeat(centres, photos, axis=0) + rng.normal(0, spread / np.sqrt(128), (n * photos, 128))


def test_threshold_lies_halfway_between_own_photos_and_nearest_classmate():
    ids = ["a", "a", "b", "b"]
    templates = np.array([[0.0, 0], [0.2, 0], [1.0, 0], [1.4, 0]])
    enrolment = calibrate(ids, templates)
    assert enrolment.students == ("a", "b")
    np.testing.assert_allclose(enrolment.own, [0.2, 0.4])
    np.testing.assert_allclose(enrolment.nearest, [0.8, 0.8])
    np.testing.assert_allclose(enrolment.thresholds, [0.5, 0.6])


def test_thresholds_scale_with_the_group_so_no_constant_is_tuned_to_one():
    ids, templates = _people(6, 3, 0.3)
    near = calibrate(ids, templates)
    squeezed = calibrate(ids, templates.mean(0) + 0.6 * (templates - templates.mean(0)))   # a group that looks alike
    np.testing.assert_allclose(squeezed.thresholds, 0.6 * near.thresholds)
    probes = templates[::3] + 0.01
    for enrolment, scale in ((near, 1.0), (squeezed, 0.6)):
        chosen, _ = assign(enrolment.distances(templates.mean(0) + scale * (probes - templates.mean(0))),
                           enrolment.thresholds)
        assert [enrolment.students[c] for c in chosen] == [f"s{i}" for i in range(6)]


def test_more_photos_do_not_loosen_the_thresholds():
    """Leave-one-out means do not grow with the number of photos as a largest spread does."""
    means = [calibrate(*_people(8, k, 0.3, seed=k)).thresholds.mean() for k in (2, 3, 4, 5)]
    assert max(means) - min(means) < 0.05 and means[-1] <= means[0] + 0.01


@pytest.mark.parametrize("ids, message", [
    (["a", "b", "b"], "a: 1 photo"),
    (["a"] * 6 + ["b"] * 2, "a: 6 photo"),
    (["a", "a"], "at least 2 enrolled students"),
])
def test_enrolments_that_cannot_be_calibrated_say_why(ids, message):
    with pytest.raises(EnrolmentError, match=message):
        calibrate(ids, np.random.default_rng(0).normal(size=(len(ids), 128)))


def test_repr_never_shows_a_template():
    enrolment = calibrate(*_people(3, 2, 0.3))
    assert repr(enrolment) == "Enrolment(3 students, 6 templates)" and str(enrolment) == repr(enrolment)


def test_one_to_one_a_student_is_given_to_one_face_and_far_faces_match_nobody():
    thresholds = np.array([0.5, 0.5])
    distances = np.array([[0.20, 0.45],     # closest to student 0
                          [0.30, 0.90],     # also closest to 0, but 0 goes to the closer face
                          [0.90, 0.40],     # student 1 ...
                          [0.70, 0.80]])    # nobody within a threshold
    chosen, distance = assign(distances, thresholds)
    assert chosen.tolist() == [0, NO_MATCH, 1, NO_MATCH]
    np.testing.assert_allclose(distance, [0.20, 0.30, 0.40, 0.70])   # unmatched: the nearest student's distance


def test_a_face_takes_its_second_student_when_its_first_is_taken():
    chosen, _ = assign(np.array([[0.1, 0.9], [0.2, 0.3]]), np.array([0.5, 0.5]))
    assert chosen.tolist() == [0, 1]


def test_a_track_needs_a_strict_majority_of_its_embedded_faces():
    assert majority_distance(np.array([[0.3], [0.9]]))[0] == 0.9               # 2 faces: both
    assert majority_distance(np.array([[0.3], [0.9], [0.4]]))[0] == 0.4        # 3 faces: 2 of them
    assert majority_distance(np.array([[0.1], [0.2], [0.8], [0.9]]))[0] == 0.8


def test_boxes_link_to_the_overlapping_box_of_the_previous_frame():
    previous = np.array([[0, 0, 10, 10], [100, 0, 10, 10]])
    now = np.array([[101, 1, 10, 10], [50, 50, 10, 10], [1, 0, 10, 10]])
    assert link(previous, now).tolist() == [1, NO_MATCH, 0]
    assert iou(previous[:1], previous[:1])[0, 0] == 1.0 and iou(previous[:1], previous[1:])[0, 0] == 0.0
