import numpy as np
import pytest

from academic.errors import LeakageError
from academic.features import (
    ATTENDANCE_COLUMNS,
    LEARNING,
    LEARNING_ATTENDANCE,
    LEARNING_ATTENDANCE_AFFECT,
    affect_columns,
    emotion_columns,
    feature_blocks,
    feature_columns,
    fingerprint,
    join_frames,
    labelled_xy,
)
from academic.synthetic import make_cohort


@pytest.fixture(scope="module")
def cohort():
    return make_cohort(50, n_tests=5, seed=2, unlabelled_fraction=0.2)


def test_feature_sets_are_nested_learning_then_attendance_then_affect(cohort):
    learning, emotion, _ = cohort
    frame = join_frames(learning, emotion)
    only = feature_columns(frame, LEARNING)
    attendance = feature_columns(frame, LEARNING_ATTENDANCE)
    everything = feature_columns(frame, LEARNING_ATTENDANCE_AFFECT)
    assert only == ["gpa", "test_01", "test_02", "test_03", "test_04", "test_05"]
    assert attendance == only + list(ATTENDANCE_COLUMNS)
    assert sorted(everything) == sorted(only + emotion_columns(emotion))
    assert everything == attendance + affect_columns(frame)
    # Counts of faces and sessions are attendance, never affect.
    assert not set(ATTENDANCE_COLUMNS) & set(affect_columns(frame))
    assert list(feature_blocks(frame, LEARNING_ATTENDANCE)) == ["learning", "attendance"]
    with pytest.raises(ValueError, match="unknown feature set"):
        feature_columns(frame, "learning+emotion")


def test_xy_keeps_labelled_students_and_no_identifiers(cohort):
    learning, emotion, _ = cohort
    frame = join_frames(learning, emotion)
    X, y = labelled_xy(frame, LEARNING_ATTENDANCE_AFFECT)
    assert len(X) == learning["final_grade"].notna().sum() == len(y)
    assert not {"student_id", "pseudonym", "final_grade"} & set(X.columns)
    # Students without emotion rows stay in, with NaN left for the in-fold imputer.
    assert X["emo_valence_mean"].isna().any()


def test_emotion_frame_with_non_emotion_column_is_refused(cohort):
    learning, emotion, _ = cohort
    smuggled = emotion.merge(learning[["student_id", "final_grade"]], on="student_id")
    with pytest.raises(LeakageError, match="final_grade"):
        join_frames(learning, smuggled)


def test_target_derived_emotion_feature_is_caught(cohort):
    learning, emotion, _ = cohort
    # An upstream bug that aggregates something grade-dependent into an emo_ column.
    grades = learning.set_index("student_id")["final_grade"]
    rng = np.random.default_rng(0)
    leaky = emotion.assign(emo_engagement_score=grades.reindex(emotion["student_id"]).to_numpy() / 100
                           + rng.normal(0, 0.005, len(emotion)))
    frame = join_frames(learning, leaky)
    with pytest.raises(LeakageError, match="emo_engagement_score"):
        labelled_xy(frame, LEARNING_ATTENDANCE_AFFECT)
    # The sets without affect never see it, so they stay usable.
    labelled_xy(frame, LEARNING_ATTENDANCE)


def test_duplicate_students_are_refused(cohort):
    learning, emotion, _ = cohort
    with pytest.raises(ValueError, match="more than one row"):
        join_frames(learning, emotion.iloc[[0, 0]])


def test_fingerprint_ignores_row_order_but_not_values(cohort):
    learning, emotion, _ = cohort
    frame = join_frames(learning, emotion)
    assert fingerprint(frame) == fingerprint(frame.sample(frac=1.0, random_state=0))
    changed = frame.copy()
    changed.loc[0, "gpa"] += 0.01
    assert fingerprint(changed) != fingerprint(frame)
