import numpy as np
import pytest

from academic.features import LEARNING_ATTENDANCE_AFFECT, affect_columns, attendance_columns, join_frames
from academic.features import labelled_xy, learning_columns
from academic.models import LINEAR_BASELINE, MODEL_NAMES, make_pipeline
from academic.synthetic import make_cohort

TREE_MODELS = [name for name in MODEL_NAMES if name != LINEAR_BASELINE]


@pytest.fixture(scope="module")
def data():
    learning, emotion, _ = make_cohort(40, n_tests=4, seed=4)
    frame = join_frames(learning, emotion)
    X, y = labelled_xy(frame, LEARNING_ATTENDANCE_AFFECT)
    return frame, X, y


def _columns(frame):
    return {"learning_columns": learning_columns(frame), "attendance_columns": attendance_columns(frame),
            "affect_columns": affect_columns(frame)}


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_pipeline_fits_with_missing_values_and_is_seeded(name, data):
    frame, X, y = data
    size = {} if name == LINEAR_BASELINE else {"n_estimators": 20}
    assert X.isna().any().any()
    first = make_pipeline(name, random_state=3, **size, **_columns(frame)).fit(X, y).predict(X)
    second = make_pipeline(name, random_state=3, **size, **_columns(frame)).fit(X, y).predict(X)
    assert np.isfinite(first).all()
    np.testing.assert_allclose(first, second)


@pytest.mark.parametrize("name", TREE_MODELS)
def test_constructor_args_pass_through_and_n_jobs_is_one(name, data):
    frame, _, _ = data
    pipeline = make_pipeline(name, learning_columns=learning_columns(frame), n_estimators=7)
    params = pipeline.named_steps["model"].get_params()
    assert params["n_estimators"] == 7
    assert params.get("n_jobs", 1) == 1
    assert "scale" not in pipeline.named_steps   # trees need no scaling


def test_linear_baseline_is_standardised_ridge_with_its_penalty_chosen_inside_the_fit(data):
    frame, X, y = data
    pipeline = make_pipeline(LINEAR_BASELINE, **_columns(frame), alphas=(1.0, 10.0)).fit(X, y)
    assert list(pipeline.named_steps) == ["prep", "scale", "model"]
    assert pipeline.named_steps["model"].alpha_ in (1.0, 10.0)
    scaled = pipeline[:-1].transform(X)
    np.testing.assert_allclose(scaled.mean(axis=0), 0, atol=1e-9)


def test_linear_baseline_extrapolates_learning_but_not_affect_beyond_the_training_range(data):
    frame, X, y = data
    pipeline = make_pipeline(LINEAR_BASELINE, **_columns(frame)).fit(X, y)
    far = X.iloc[[0]].copy()
    far["emo_valence_mean"] = X["emo_valence_mean"].max() + 50.0   # far outside anything seen
    edge = X.iloc[[0]].copy()
    edge["emo_valence_mean"] = X["emo_valence_mean"].max()
    assert pipeline.predict(far) == pytest.approx(pipeline.predict(edge))
    weak = X.iloc[[0]].copy()
    weak[learning_columns(frame)[1:]] = 0.0   # every test below anyone's score
    assert pipeline.predict(weak) < pipeline.predict(X).min() - 10


def test_attendance_block_fills_zero_with_an_indicator_and_affect_adds_none(data):
    frame, X, y = data
    pipeline = make_pipeline("xgboost", n_estimators=5, **_columns(frame)).fit(X, y)
    names = list(pipeline.named_steps["prep"].get_feature_names_out())
    assert any(n.startswith("missingindicator_emo_n_") for n in names)
    assert not any(n.startswith("missingindicator_emo_valence") for n in names)
    unseen = X["emo_n_sessions"].isna()
    assert unseen.any()
    prepared = pipeline.named_steps["prep"].transform(X)
    assert (prepared[unseen.to_numpy(), names.index("emo_n_sessions")] == 0).all()


def test_unknown_model_is_refused():
    with pytest.raises(ValueError, match="unknown model"):
        make_pipeline("svm", learning_columns=["gpa"])


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_pipeline_fits_a_cohort_without_any_face_reading(name, data):
    """Before its first images a cohort has grades but every emotion column is blank."""
    frame, X, y = data
    blank = X.copy()
    blank[attendance_columns(frame) + affect_columns(frame)] = np.nan
    size = {} if name == LINEAR_BASELINE else {"n_estimators": 20}
    predicted = make_pipeline(name, **size, **_columns(frame)).fit(blank, y).predict(blank)
    assert np.isfinite(predicted).all()
