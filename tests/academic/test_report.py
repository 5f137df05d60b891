import re

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline

from academic.conformal import cv_plus_intervals
from academic.evaluate import fit_champion
from academic.explain import ATTENDANCE_GROUP, feature_groups, permutation_importances
from academic.features import ATTENDANCE_COLUMNS, LEARNING_ATTENDANCE_AFFECT, TARGET, labelled
from academic.report import AT_RISK, BORDERLINE, NO_FACES, ON_TRACK, build_report, contribution_column, write_report

CHECKS = {"flag_recall": 0.622, "flag_precision": 0.596, "pass_mark": 50.0, "interval_coverage": 0.851,
          "interval_level": 0.8, "interval_n": 47.0, "rmse_mean": 7.52}


@pytest.fixture(scope="module")
def champion(class_study, fast_params):
    """A configuration that sees every block, so factors of each kind appear (the cohort's
    own champion may use learning alone)."""
    return fit_champion(class_study.frame, "xgboost", LEARNING_ATTENDANCE_AFFECT, model_params=fast_params)


def _report(study, champion, **kwargs):
    return build_report(study.learning, study.emotion, champion.pipeline, n_splits=study.results.n_splits,
                        seed=study.results.seed, **kwargs)


@pytest.mark.parametrize("pass_mark", [50.0, 65.0])
def test_flags_and_bands_follow_the_pass_mark(class_study, champion, pass_mark):
    frame = _report(class_study, champion, pass_mark=pass_mark)
    assert len(frame) == len(class_study.learning)
    assert (frame["at_risk"] == (frame["predicted_grade"] < pass_mark)).all()
    assert frame.loc[frame["at_risk"], "band"].eq(AT_RISK).all()
    borderline = ~frame["at_risk"] & (frame["interval_low"] < pass_mark)
    assert frame.loc[borderline, "band"].eq(BORDERLINE).all()
    assert frame.loc[~frame["at_risk"] & ~borderline, "band"].eq(ON_TRACK).all()
    assert (frame["interval_low"] <= frame["predicted_grade"]).all()
    assert (frame["predicted_grade"] <= frame["interval_high"]).all()
    assert frame["at_risk"].any() and not frame["at_risk"].all()


def test_factors_are_occlusion_contributions_of_named_groups(class_study, champion):
    frame = _report(class_study, champion, top_k=2)
    assert {"contrib_GPA", "contrib_class_tests", "contrib_valence"} <= set(frame.columns)
    first = frame.iloc[0]
    contribs = first[[c for c in frame.columns if c.startswith("contrib_")]].astype(float)
    top = contribs.abs().sort_values(ascending=False).index[0].removeprefix("contrib_").replace("_", " ")
    assert first["top_factors"].startswith(top)
    assert first["top_factors"].count(";") == 1


def test_written_files(class_study, champion, tmp_path):
    names = {sid: f"Pupil {i}" for i, sid in enumerate(class_study.learning["student_id"])}
    frame = _report(class_study, champion, display_names=names)
    paths = write_report(frame, class_study.trends, out_dir=tmp_path, cohort="Synthetic class 7",
                         model_label=f"{champion.model} / {champion.feature_set}")
    csv = paths["csv"].read_text()
    header = csv.splitlines()[0].split(",")
    assert {"pseudonym", "display_name", "predicted_grade", "interval_low", "interval_high",
            "at_risk", "band", "top_factors", "final_grade", "pass_mark"} <= set(header)
    assert "student_id" not in header

    html = paths["html"].read_text()
    assert "Support signal, not a verdict" in html and "Sensitive data" in html
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)\s*=", html, re.I)
    assert not re.search(r"https?://", html) and "@import" not in html
    assert html.count("<svg") >= 2 * len(frame) - (~frame["student_id"].isin(class_study.trends["student_id"])).sum()
    assert "<script>" in html and "aria-sort" in html
    assert "Pupil 3" in html
    assert not any(sid in html or sid in csv for sid in class_study.learning["student_id"])


def test_intervals_are_per_student_cv_plus_holding_the_prediction(class_study, champion):
    frame = _report(class_study, champion, level=0.8).set_index("pseudonym")
    assert frame["interval_level"].eq("80%").all()
    width = frame["interval_high"] - frame["interval_low"]
    assert width.nunique() > len(frame) // 2     # per student, not one pooled width

    known = labelled(class_study.frame)
    X = class_study.frame.set_index("pseudonym")[list(champion.pipeline.feature_names_in_)]
    low, high = cv_plus_intervals(champion.pipeline, known[list(X.columns)], known[TARGET], X,
                                  n_splits=class_study.results.n_splits, seed=class_study.results.seed)
    predicted = frame.loc[X.index, "predicted_grade"].to_numpy()
    expected_low = np.clip(np.minimum(low, predicted), 0, 100)
    np.testing.assert_allclose(frame.loc[X.index, "interval_low"], expected_low, atol=0.11)
    np.testing.assert_allclose(frame.loc[X.index, "interval_high"],
                               np.clip(np.maximum(high, predicted), 0, 100), atol=0.11)

    wider = _report(class_study, champion, level=0.95).set_index("pseudonym")
    assert ((wider["interval_high"] - wider["interval_low"]) >= width.reindex(wider.index) - 0.2).all()


def test_factors_come_only_from_what_was_observed(class_study, champion, fast_params):
    """A student without faces gets no emotion factor (it would describe imputed medians)."""
    pipeline = fit_champion(class_study.frame, champion.model, LEARNING_ATTENDANCE_AFFECT,
                            model_params=fast_params).pipeline
    frame = build_report(class_study.learning, class_study.emotion, pipeline, top_k=8)
    faceless = ~frame["student_id"].isin(class_study.emotion["student_id"])
    assert faceless.any() and (~faceless).any()
    emotion = ("valence", "arousal", "dominance", "expressions")
    for factors in frame.loc[faceless, "top_factors"]:
        assert factors.endswith(NO_FACES) and not any(name in factors for name in emotion), factors
    assert frame.loc[faceless, [f"contrib_{name}" for name in emotion]].isna().all().all()
    # Never being seen is observed: the model reads 0 faces and a "never seen" indicator.
    assert frame.loc[faceless, contribution_column(ATTENDANCE_GROUP)].notna().all()
    assert frame.loc[~faceless, "top_factors"].str.contains("valence").all()
    assert not frame.loc[~faceless, "top_factors"].str.contains(NO_FACES).any()


def test_attendance_is_its_own_factor_group_named_plainly():
    groups = feature_groups(["gpa", "test_01", *ATTENDANCE_COLUMNS, "emo_valence_mean", "emo_p_anger_mean",
                             "emo_share_anger", "emo_new_measure"])
    assert groups[ATTENDANCE_GROUP] == list(ATTENDANCE_COLUMNS)
    assert ATTENDANCE_GROUP == "attendance (faces seen, sessions seen)"
    assert groups["expressions"] == ["emo_p_anger_mean", "emo_share_anger"]
    assert groups["other face measures"] == ["emo_new_measure"] and "other emotion" not in groups


def test_students_to_be_graded_come_first_and_trained_on_ones_are_marked(class_study, champion, tmp_path):
    frame = _report(class_study, champion)
    assert frame["in_sample"].tolist() == sorted(frame["in_sample"])          # False (to be graded) first
    assert frame["in_sample"].sum() == len(labelled(class_study.frame))
    html = write_report(frame, class_study.trends, out_dir=tmp_path, cohort="c", model_label="m")["html"].read_text()
    assert html.count('class="insample" title=') == frame["in_sample"].sum()
    assert f"{(~frame['in_sample']).sum()} students have no final grade yet and are listed first" in html
    assert html.count("of them still to be graded") == 3                      # one per band card


def test_first_screen_says_how_far_to_trust_it_and_explains_the_words(class_study, champion, tmp_path):
    frame = _report(class_study, champion)
    html = write_report(frame, class_study.trends, out_dir=tmp_path, cohort="c", model_label="m",
                        checks=CHECKS)["html"].read_text()
    first_screen = html[:html.index('<table id="report">')]
    assert "typically 8 grade points off" in first_screen
    assert "Of the students who scored below the pass mark (50), the at-risk flag caught 6 in 10" in first_screen
    assert "About 85 in 100 students ended inside their 80% interval" in first_screen
    assert "how much in control the face looked" in first_screen                     # dominance
    assert "<dt>attendance (faces seen, sessions seen)</dt>" in first_screen
    assert "<dt>expressions</dt>" in first_screen and "other emotion" not in html
    # Sparklines carry their scale: 0 and 100 beside the tests, and the student's range on hover.
    assert html.count(">100</text>") == len(frame) and "lowest" in html
    without = write_report(frame, class_study.trends, out_dir=tmp_path / "plain", cohort="c",
                           model_label="m")["html"].read_text()
    assert "How far to trust" not in without


def test_importances_are_in_grade_points_of_rmse():
    """A model reading only `a` (grade = 10 a): shuffling `a` costs about 10·√2 ≈ 14 points of
    RMSE (it would be about 200 in squared points); shuffling the unused `b` costs nothing."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400)})
    y = pd.Series(10 * X["a"])
    importances = permutation_importances(make_pipeline(LinearRegression()).fit(X, y), X, y).set_index("feature")
    assert 12 < importances.loc["a", "importance_mean"] < 16
    assert importances.loc["b", "importance_mean"] == pytest.approx(0, abs=1e-6)
