import numpy as np
import pytest

from academic.features import LEARNING_EMOTION, emotion_columns, join_frames, labelled_xy, learning_columns
from academic.models import MODEL_NAMES, make_pipeline
from academic.synthetic import make_cohort


@pytest.fixture(scope="module")
def data():
    learning, emotion, _ = make_cohort(40, n_tests=4, seed=4)
    frame = join_frames(learning, emotion)
    X, y = labelled_xy(frame, LEARNING_EMOTION)
    return frame, X, y


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_pipeline_fits_with_missing_values_and_is_seeded(name, data):
    frame, X, y = data
    kwargs = {"learning_columns": learning_columns(frame), "emotion_columns": emotion_columns(frame)}
    assert X.isna().any().any()
    first = make_pipeline(name, random_state=3, n_estimators=20, **kwargs).fit(X, y).predict(X)
    second = make_pipeline(name, random_state=3, n_estimators=20, **kwargs).fit(X, y).predict(X)
    assert np.isfinite(first).all()
    np.testing.assert_allclose(first, second)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_constructor_args_pass_through_and_n_jobs_is_one(name, data):
    frame, _, _ = data
    pipeline = make_pipeline(name, learning_columns=learning_columns(frame), n_estimators=7)
    params = pipeline.named_steps["model"].get_params()
    assert params["n_estimators"] == 7
    assert params.get("n_jobs", 1) == 1


def test_emotion_block_adds_missing_indicators(data):
    frame, X, y = data
    pipeline = make_pipeline("xgboost", learning_columns=learning_columns(frame),
                             emotion_columns=emotion_columns(frame), n_estimators=5).fit(X, y)
    names = pipeline.named_steps["prep"].get_feature_names_out()
    assert any(n.startswith("missingindicator_emo_") for n in names)


def test_unknown_model_is_refused():
    with pytest.raises(ValueError, match="unknown model"):
        make_pipeline("svm", learning_columns=["gpa"])
