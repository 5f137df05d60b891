"""CV+ intervals cover new students about as often as promised, on generated cohorts."""
import numpy as np
import pytest

from academic.conformal import cv_plus_intervals, nested_coverage
from academic.features import LEARNING_ATTENDANCE_AFFECT, feature_blocks, feature_columns, join_frames, labelled_xy
from academic.models import make_pipeline
from academic.synthetic import make_cohort


def _ridge(frame):
    blocks = feature_blocks(frame, LEARNING_ATTENDANCE_AFFECT)
    return make_pipeline("ridge", learning_columns=blocks["learning"], attendance_columns=blocks["attendance"],
                         affect_columns=blocks["affect"])


@pytest.fixture(scope="module")
def populations():
    """Four cohorts of 1,200 generated students: 200 calibrate, 1,000 are the new ones."""
    out = []
    for seed in range(4):
        learning, emotion, _ = make_cohort(1200, affect_effect=3.0, seed=seed)
        frame = join_frames(learning, emotion)
        out.append((frame, *labelled_xy(frame, LEARNING_ATTENDANCE_AFFECT)))
    return out


@pytest.mark.parametrize("level", [0.8, 0.9])
def test_cv_plus_covers_new_students_at_the_stated_level(populations, level):
    """Averaged over calibration sets. One class-sized calibration set (60) scatters by
    about ±0.08 around the level and leans conservative; 200 keep this test tight."""
    coverage = []
    for seed, (frame, X, y) in enumerate(populations):
        low, high = cv_plus_intervals(_ridge(frame), X.iloc[:200], y.iloc[:200], X.iloc[200:], level=level, seed=seed)
        assert (low < high).all()
        coverage.append(np.mean((low <= y.iloc[200:]) & (y.iloc[200:] <= high)))
    assert np.mean(coverage) == pytest.approx(level, abs=0.04), coverage


def test_nested_coverage_measures_the_cohort_at_hand():
    learning, emotion, _ = make_cohort(60, affect_effect=3.0, seed=5)
    frame = join_frames(learning, emotion)
    X, y = labelled_xy(frame, LEARNING_ATTENDANCE_AFFECT)
    checks = nested_coverage(_ridge(frame), X, y, n_splits=5, seed=5)
    assert checks["interval_n"] == len(X)
    assert 0.6 <= checks["interval_coverage"] <= 1.0
    assert 10 < checks["interval_width"] < 60   # grade points, for sd(final) ~ 14


def test_a_class_too_small_to_split_twice_gets_nan_not_an_error():
    learning, emotion, _ = make_cohort(5, seed=1)
    frame = join_frames(learning, emotion)
    X, y = frame[feature_columns(frame, LEARNING_ATTENDANCE_AFFECT)], frame["final_grade"]
    checks = nested_coverage(_ridge(frame), X, y, n_splits=2)
    assert np.isnan(checks["interval_coverage"]) and checks["interval_n"] == 5
