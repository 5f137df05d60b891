"""Plain words for the run description and the report: rounded, sourced, and honest about gaps."""
import math

import numpy as np

from academic.plots import ablation_chart
from academic.wording import coverage_sentence, describe_analysis, flag_sentence, in_ten, trust_sentences


def test_flag_and_coverage_in_words():
    assert in_ten(0.622) == "6 in 10" and in_ten(1.0) == "10 in 10"
    checks = {"flag_recall": 0.622, "flag_precision": 0.4, "pass_mark": 55.0}
    assert flag_sentence(checks) == ("Of the students who scored below the pass mark (55), the at-risk flag caught "
                                     "6 in 10 in cross-validation; of the students it flagged, 4 in 10 did score "
                                     "below it.")
    assert "is unknown" in flag_sentence({"flag_recall": math.nan, "flag_precision": math.nan})
    recall_only = flag_sentence({"flag_recall": 0.5, "flag_precision": math.nan})
    assert recall_only.endswith("caught 5 in 10 in cross-validation.")
    assert "could not be measured" in coverage_sentence({"interval_coverage": math.nan})
    assert trust_sentences({}) == []


def test_description_names_each_step_and_the_models_where_it_helped(affect_study, fast_params):
    from academic.evaluate import fit_champion, select_champion
    champion = fit_champion(affect_study.frame, *select_champion(affect_study.results), model_params=fast_params)
    note = describe_analysis(affect_study.results, champion, {"flag_recall": 0.7})
    helped = affect_study.results.comparison.query("added == 'affect' and detected")
    assert len(helped) > 0
    assert f"adding affect lowered the error beyond chance for {len(helped)} of 4 models" in note
    assert "5 x 2 cross-validation folds of 150 students" in note and "**Promotion.**" not in note


def test_ablation_chart_is_drawn_in_grade_points(class_study):
    summary = class_study.results.summary
    fig = ablation_chart(summary, class_study.results.comparison)
    heights = sorted(p.get_height() for p in fig.axes[0].patches)
    np.testing.assert_allclose(heights, sorted(summary["rmse_mean"]))
    assert "grade points" in fig.axes[0].get_ylabel()
