import numpy as np
import pandas as pd
import pytest
from scipy import stats

from academic.errors import InsufficientDataError
from academic.evaluate import (
    corrected_resampled_ttest,
    evaluate,
    fit_champion,
    flag_metrics,
    holm,
    minimum_detectable_difference,
    select_champion,
)
from academic.features import FEATURE_SETS, LEARNING, LEARNING_ATTENDANCE_AFFECT, join_frames, labelled
from academic.models import MODEL_NAMES
from academic.synthetic import make_cohort


def test_affect_lowers_mse_when_it_carries_signal(affect_study):
    comparison = affect_study.results.comparison
    affect = comparison[comparison["added"] == "affect"].set_index("model")
    assert set(affect.index) == set(MODEL_NAMES)
    for model, row in affect.iterrows():
        assert row["mse_extended"] < row["mse_baseline"], model
        assert row["p_holm"] < 0.05 and row["detected"], (model, row["p_holm"])
        assert row["p_two_sided"] == pytest.approx(2 * row["p_one_sided"])
        assert row["mse_reduction"] > row["mde_mse"] > 0


def test_holm_adjusts_the_models_of_one_step_together():
    # sorted 0.01, 0.02, 0.03, 0.04 -> x4, x3, x2, x1, never below an earlier step, at most 1
    np.testing.assert_allclose(holm([0.03, 0.01, 0.04, 0.02]), [0.06, 0.04, 0.06, 0.06])
    np.testing.assert_allclose(holm([0.5, 0.9]), [1.0, 1.0])
    assert holm([0.2]).tolist() == [0.2]


def test_a_step_is_detected_only_when_it_survives_holm(null_study):
    comparison = null_study.results.comparison
    for added, rows in comparison.groupby("added"):
        np.testing.assert_allclose(rows["p_holm"], holm(rows["p_one_sided"]))
        assert (rows["detected"] == (rows["p_holm"] < 0.05)).all()
        assert (rows["p_holm"] >= rows["p_one_sided"]).all()


def test_no_effect_is_claimed_when_attendance_and_affect_are_noise(null_study):
    comparison = null_study.results.comparison
    assert sorted(comparison["added"].unique()) == ["affect", "attendance"]
    for row in comparison.itertuples():
        assert row.p_one_sided >= 0.05 and not row.detected, (row.model, row.added, row.p_one_sided)


def test_both_steps_are_tested_on_their_own_rows(null_study):
    comparison = null_study.results.comparison
    assert len(comparison) == 2 * len(MODEL_NAMES)
    steps = set(zip(comparison["added"], comparison["baseline"], comparison["extended"]))
    assert steps == {("attendance", "learning", "learning+attendance"),
                     ("affect", "learning+attendance", "learning+attendance+affect")}
    summary = null_study.results.summary.set_index(["model", "feature_set"])
    for row in comparison.itertuples():
        assert row.mse_baseline == pytest.approx(summary.loc[(row.model, row.baseline), "mse_mean"])
        assert row.mse_reduction == pytest.approx(row.mse_baseline - row.mse_extended)
        assert row.rmse_baseline == pytest.approx(np.sqrt(row.mse_baseline))
        assert 0 < row.mde_rmse < row.rmse_baseline


def test_every_configuration_sees_the_same_folds(affect_study):
    results = affect_study.results
    n_labelled = len(labelled(affect_study.frame))
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


def test_summary_holds_all_metrics(affect_study):
    summary = affect_study.results.summary
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


def test_minimum_detectable_difference_is_detected_80_percent_of_the_time():
    """Per-split differences that share one training-set overlap term are equicorrelated with
    rho = n_test / (n_train + n_test); for them the corrected test is exact. Plant the MDE
    computed from the within-sample spread and count how often the test rejects."""
    rng = np.random.default_rng(0)
    n_splits, n_train, n_test, within_sd = 25, 40, 10, 4.0
    spread = rng.normal(size=n_splits)
    spread = within_sd * (spread - spread.mean()) / spread.std(ddof=1)  # sample sd exactly 4
    mde = minimum_detectable_difference(spread, n_train, n_test)
    rho = n_test / (n_train + n_test)
    sigma = within_sd / np.sqrt(1 - rho)
    shared = rng.normal(size=(4000, 1)) * np.sqrt(rho) * sigma
    diffs = mde + shared + rng.normal(size=(4000, n_splits)) * np.sqrt(1 - rho) * sigma
    rejected = [corrected_resampled_ttest(d, n_train, n_test)[2] < 0.05 for d in diffs]
    assert np.mean(rejected) == pytest.approx(0.80, abs=0.025)
    # The MDE depends on the spread only, never on the observed mean.
    assert minimum_detectable_difference(spread + 7.0, n_train, n_test) == pytest.approx(mde)
    assert minimum_detectable_difference(2 * spread, n_train, n_test) == pytest.approx(2 * mde)
    assert minimum_detectable_difference(spread, n_train, n_test, power=0.9) > mde


def test_flag_metrics_read_the_at_risk_flag_as_a_classifier(affect_study):
    results = affect_study.results
    oof = results.oof[(results.oof["model"] == "ridge") & (results.oof["feature_set"] == LEARNING)]
    pass_mark = float(np.quantile(oof["actual"], 0.2))
    metrics = flag_metrics(results, "ridge", LEARNING, pass_mark)
    below, flagged = oof["actual"] < pass_mark, oof["predicted"] < pass_mark
    assert metrics["flag_recall"] == pytest.approx((below & flagged).sum() / below.sum())
    assert metrics["flag_precision"] == pytest.approx((below & flagged).sum() / flagged.sum())
    assert metrics["n_below_pass"] == pytest.approx(below.sum() / 2)
    nobody = flag_metrics(results, "ridge", LEARNING, -1.0)
    assert np.isnan(nobody["flag_recall"]) and np.isnan(nobody["flag_precision"])


def test_too_few_labelled_students_raise_a_clear_error():
    learning, emotion, _ = make_cohort(12, seed=1)
    learning.loc[learning.index[7:], "final_grade"] = np.nan
    with pytest.raises(InsufficientDataError, match=r"7 labelled students .* at least 10"):
        evaluate(join_frames(learning, emotion), n_splits=5, n_repeats=1)


def test_champion_is_best_cv_config_refitted_on_all_labelled(affect_study, fast_params):
    model, feature_set = select_champion(affect_study.results)
    best = affect_study.results.summary.sort_values("mse_mean").iloc[0]
    assert (model, feature_set) == (best["model"], best["feature_set"])
    assert feature_set == LEARNING_ATTENDANCE_AFFECT
    champion = fit_champion(affect_study.frame, model, feature_set, model_params=fast_params)
    assert len(champion.X) == len(labelled(affect_study.frame))
    assert list(champion.pipeline.feature_names_in_) == list(champion.X.columns)
    assert "student_id" not in champion.X.columns


def test_a_single_feature_set_runs_without_a_comparison():
    learning, emotion, _ = make_cohort(30, seed=2)
    results = evaluate(join_frames(learning, emotion), models=("xgboost",), feature_sets=(LEARNING,),
                       n_splits=3, n_repeats=1, model_params={"xgboost": {"n_estimators": 10}})
    assert len(results.summary) == 1 and results.comparison.empty
    assert {"p_one_sided", "mde_mse", "added"} <= set(results.comparison.columns)


def test_cells_scored_in_parallel_processes_give_the_same_results(null_study, fast_params):
    parallel = evaluate(null_study.frame, seed=null_study.results.seed, model_params=fast_params,
                        n_splits=null_study.results.n_splits, n_repeats=null_study.results.n_repeats, n_jobs=2)
    pd.testing.assert_frame_equal(parallel.folds, null_study.results.folds)
    pd.testing.assert_frame_equal(parallel.oof, null_study.results.oof)
    pd.testing.assert_frame_equal(parallel.comparison, null_study.results.comparison)
