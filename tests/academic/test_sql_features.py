"""The comparison on the features the warehouse's SQL builds, not on the generator's stand-in:
generated face observations -> in-memory DuckDB -> rebuild_aggregates -> emotion_features /
learning_frame -> evaluate."""
import numpy as np
import pytest

from academic.evaluate import evaluate
from academic.features import ATTENDANCE_COLUMNS, affect_columns, join_frames
from academic.synthetic import face_observations, make_cohort, through_warehouse

FACES_PER_SESSION = 3


def _through_sql(affect_effect: float):
    learning, _, trends = make_cohort(120, affect_effect=affect_effect, seed=0, unlabelled_fraction=0.1)
    faces, images = face_observations(trends, faces_per_session=FACES_PER_SESSION, seed=0)
    return learning, trends, *through_warehouse(learning, faces, images)


@pytest.fixture(scope="module")
def planted():
    return _through_sql(10.0)


def test_features_are_the_warehouse_aggregates_of_the_generated_faces(planted):
    learning, trends, learning_sql, emotion_sql = planted
    assert learning_sql["student_id"].tolist() == sorted(learning["student_id"])
    np.testing.assert_allclose(learning_sql["final_grade"], learning.sort_values("student_id")["final_grade"])
    seen = trends.groupby("student_id").size()
    counts = emotion_sql.set_index("student_id")
    assert counts["emo_n_sessions"].to_dict() == seen.to_dict()
    assert (counts["emo_n_faces"] == FACES_PER_SESSION * counts["emo_n_sessions"]).all()
    # The SQL's own columns (min/max, mean probabilities) reach the affect block.
    affect = affect_columns(emotion_sql)
    assert {"emo_valence_min", "emo_p_happiness_mean", "emo_share_sadness", "emo_arousal_slope"} <= set(affect)
    assert not set(ATTENDANCE_COLUMNS) & set(affect)


@pytest.mark.parametrize("affect_effect, detected", [(0.0, False), (10.0, True)])
def test_the_affect_step_on_sql_features_finds_what_was_planted(planted, affect_effect, detected):
    _, _, learning_sql, emotion_sql = planted if affect_effect else _through_sql(affect_effect)
    results = evaluate(join_frames(learning_sql, emotion_sql), models=("ridge",), n_splits=5, n_repeats=2)
    steps = results.comparison.set_index("added")
    assert bool(steps.loc["affect", "detected"]) is detected, steps.loc["affect", "p_one_sided"]
    assert not steps.loc["attendance", "detected"]   # absence is random in the generator
    assert steps.loc["affect", "mde_mse"] > 0
