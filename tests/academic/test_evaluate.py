import numpy as np
import pytest
from scipy import stats

from academic.errors import InsufficientDataError
from academic.evaluate import corrected_resampled_ttest, evaluate, fit_champion, select_champion
from academic.features import FEATURE_SETS, LEARNING_EMOTION, join_frames, labelled
from academic.models import MODEL_NAMES
from academic.synthetic import make_cohort


def test_emotion_features_lower_mse_when_they_carry_signal(emotion_study):
    comparison = emotion_study.results.comparison.set_index("model")
    assert set(comparison.index) == set(MODEL_NAMES)
    for model, row in comparison.iterrows():
        assert row["mse_learning_emotion"] < row["mse_learning_only"], model
        assert row["p_one_sided"] < 0.05, (model, row["p_one_sided"])
        assert row["p_two_sided"] == pytest.approx(2 * row["p_one_sided"])


def test_no_effect_is_claimed_when_emotion_is_noise(null_study):
    comparison = null_study.results.comparison.set_index("model")
    for model, row in comparison.iterrows():
        assert row["p_one_sided"] >= 0.05, (model, row["p_one_sided"])


def test_every_configuration_sees_the_same_folds(emotion_study):
    results = emotion_study.results
    n_labelled = len(labelled(emotion_study.frame))
    assert len(results.summary) == len(MODEL_NAMES) * len(FEATURE_SETS)
    assert (results.summary["n_splits_total"] == 10).all()
    # Same splits => the same held-out students per repeat for every configuration.
    held_out = {
        key: tuple(sorted(map(tuple, group[["repeat", "pseudonym"]].itertuples(index=False))))
        for key, group in results.oof.groupby(["model", "feature_set"])
    }
    assert len(set(held_out.values())) == 1
    counts = results.oof.groupby(["model", "feature_set", "pseudonym"]).size()
    assert (counts == 2).all() and counts.groupby(level=[0, 1]).size().eq(n_labelled).all()


def test_summary_holds_all_metrics(emotion_study):
    summary = emotion_study.results.summary
    for metric in ("mse", "rmse", "mae", "r2"):
        assert summary[[f"{metric}_mean", f"{metric}_std"]].notna().all().all()
    assert (summary["rmse_mean"] ** 2 <= summary["mse_mean"] + 1e-9).all()  # Jensen


def test_corrected_ttest_reduces_to_plain_ttest_without_overlap_and_is_more_conservative():
    diffs = np.array([3.0, 1.0, 4.0, 1.5, 5.0, 2.0, 6.0, 2.5, 3.5, 0.5])
    t, df, p_one, p_two = corrected_resampled_ttest(diffs, n_train=10**12, n_test=1)
    plain = stats.ttest_1samp(diffs, 0.0)
    assert t == pytest.approx(plain.statistic) and p_two == pytest.approx(plain.pvalue)
    assert df == 9 and p_one == pytest.approx(plain.pvalue / 2)
    _, _, p_corrected, _ = corrected_resampled_ttest(diffs, n_train=80, n_test=20)
    assert p_corrected > p_one


def test_too_few_labelled_students_raise_a_clear_error():
    learning, emotion, _ = make_cohort(12, seed=1)
    learning.loc[learning.index[7:], "final_grade"] = np.nan
    with pytest.raises(InsufficientDataError, match=r"7 labelled students .* at least 10"):
        evaluate(join_frames(learning, emotion), n_splits=5, n_repeats=1)


def test_champion_is_best_cv_config_refitted_on_all_labelled(emotion_study, fast_params):
    model, feature_set = select_champion(emotion_study.results)
    best = emotion_study.results.summary.sort_values("mse_mean").iloc[0]
    assert (model, feature_set) == (best["model"], best["feature_set"])
    assert feature_set == LEARNING_EMOTION
    champion = fit_champion(emotion_study.frame, model, feature_set, model_params=fast_params)
    assert len(champion.X) == len(labelled(emotion_study.frame))
    assert list(champion.pipeline.feature_names_in_) == list(champion.X.columns)
    assert "student_id" not in champion.X.columns


def test_a_single_feature_set_runs_without_a_comparison():
    learning, emotion, _ = make_cohort(30, seed=2)
    results = evaluate(join_frames(learning, emotion), models=("xgboost",), feature_sets=("learning-only",),
                       n_splits=3, n_repeats=1, model_params={"xgboost": {"n_estimators": 10}})
    assert len(results.summary) == 1 and results.comparison.empty
    assert "p_one_sided" in results.comparison.columns
