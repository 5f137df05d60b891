"""Read-side frames handed to the academic package."""
from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from warehouse import (
    cohorts,
    emotion_features,
    learning_frame,
    load_gradebook,
    load_observations,
    rebuild_aggregates,
    session_trends,
)
from wh_data import COHORT, make_observations


@pytest.fixture
def store(cohort_con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    grades = pd.DataFrame(
        {
            "student_id": ["s02", "s01", "s09"],  # s09 is graded but not on the roster
            "gpa": [2.5, 3.5, 3.0],
            "test_01": [60.0, 80.0, 70.0],
            "test_02": [65.0, 85.0, 75.0],
            "final_grade": [70.0, np.nan, 72.0],
        }
    )
    load_gradebook(cohort_con, COHORT, grades)
    faces, images = make_observations([("s01", "w1", 2), ("s01", "w2", 2), ("s02", "w3", 1)], seed=3)
    load_observations(cohort_con, COHORT, faces, images)
    rebuild_aggregates(cohort_con, COHORT)
    return cohort_con


def test_learning_frame_is_wide_per_student(store: duckdb.DuckDBPyConnection) -> None:
    frame = learning_frame(store, COHORT)
    assert list(frame.columns) == ["student_id", "pseudonym", "gpa", "test_01", "test_02", "final_grade"]
    # s09 is graded but not on the roster: without recorded consent, no analysis.
    assert frame["student_id"].tolist() == ["s01", "s02"]
    assert frame["test_02"].tolist() == [85.0, 65.0]
    assert np.isnan(frame.loc[0, "final_grade"])
    assert frame["pseudonym"].str.fullmatch(r"[0-9a-f]{12}").all()
    assert learning_frame(store, "no-such-cohort").empty


def test_emotion_features_are_prefixed_per_student(store: duckdb.DuckDBPyConnection) -> None:
    features = emotion_features(store, COHORT)
    assert features["student_id"].tolist() == ["s01", "s02"]
    assert {"emo_valence_mean", "emo_valence_slope", "emo_share_happiness", "emo_n_faces"} <= set(features.columns)
    assert not any(column in features.columns for column in ("emo_cohort", "emo_model_version", "emo_student_id"))
    assert features["emo_n_faces"].tolist() == [4, 1]

    rescored, images = make_observations([("s01", "w1", 1)], model_version="m2", seed=4)
    load_observations(store, COHORT, rescored, images)
    rebuild_aggregates(store, COHORT)
    with pytest.raises(ValueError, match="several model versions"):
        emotion_features(store, COHORT)
    assert emotion_features(store, COHORT, model_version="m2")["emo_n_faces"].tolist() == [1]


def test_session_trends_follow_the_calendar(store: duckdb.DuckDBPyConnection) -> None:
    trends = session_trends(store, COHORT)
    assert list(trends[["student_id", "session_id", "session_order"]].itertuples(index=False, name=None)) == [
        ("s01", "w2", 1), ("s01", "w1", 3), ("s02", "w3", 2),
    ]
    assert {"valence", "arousal", "dominance", "held_on"} <= set(trends.columns)


def test_cohorts_summarise_the_store(store: duckdb.DuckDBPyConnection) -> None:
    summary = cohorts(store)
    assert summary.to_dict("records") == [
        {"cohort": COHORT, "n_students": 4, "n_consented": 3, "n_graded": 3, "n_sessions": 4, "n_faces": 5}
    ]
