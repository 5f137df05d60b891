import re

import numpy as np
import pytest

from academic.evaluate import champion_residuals, fit_champion
from academic.features import LEARNING_EMOTION
from academic.report import AT_RISK, BORDERLINE, NO_FACES, ON_TRACK, build_report, write_report


@pytest.fixture(scope="module")
def champion(class_champion):
    return class_champion


def _report(study, champion, **kwargs):
    residuals = champion_residuals(study.results, champion.model, champion.feature_set)
    return build_report(study.learning, study.emotion, champion.pipeline, residuals=residuals, **kwargs)


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


def test_interval_comes_from_residual_quantiles(class_study, champion):
    residuals = np.linspace(-10, 10, 101)
    frame = build_report(class_study.learning, class_study.emotion, champion.pipeline,
                         residuals=residuals, interval=(0.1, 0.9))
    inside = frame[(frame["interval_low"] > 0) & (frame["interval_high"] < 100)]
    assert (inside["interval_high"] - inside["predicted_grade"]).round(0).eq(8).all()
    assert (inside["predicted_grade"] - inside["interval_low"]).round(0).eq(8).all()


def test_factors_come_only_from_what_was_observed(class_study, champion, fast_params):
    """A student without faces gets no emotion factor (it would describe imputed medians)."""
    pipeline = fit_champion(class_study.frame, champion.model, LEARNING_EMOTION, model_params=fast_params).pipeline
    residuals = champion_residuals(class_study.results, champion.model, LEARNING_EMOTION)
    frame = build_report(class_study.learning, class_study.emotion, pipeline, residuals=residuals, top_k=8)
    faceless = ~frame["student_id"].isin(class_study.emotion["student_id"])
    assert faceless.any() and (~faceless).any()
    emotion = ("valence", "arousal", "dominance", "expressions")
    for factors in frame.loc[faceless, "top_factors"]:
        assert factors.endswith(NO_FACES) and not any(name in factors for name in emotion), factors
    assert frame.loc[faceless, [f"contrib_{name}" for name in emotion]].isna().all().all()
    assert frame.loc[~faceless, "top_factors"].str.contains("valence").all()
    assert not frame.loc[~faceless, "top_factors"].str.contains(NO_FACES).any()
