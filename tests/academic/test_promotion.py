"""The alias rule: the current champion's configuration is re-scored on today's folds, and
only a newcomer that is not worse there takes the alias."""
import numpy as np
import pytest

from academic.evaluate import evaluate, fit_champion, select_champion, split_mse
from academic.models import MODEL_NAMES
from academic.promotion import decide
from academic.tracking import LoadedChampion
from tests.academic.conftest import FAST_CV


def _holding(champion, version: str = "1") -> LoadedChampion:
    """`champion` as if it held the alias (what tracking.find_champion returns)."""
    return LoadedChampion(pipeline=champion.pipeline, model=champion.model, feature_set=champion.feature_set,
                          version=version, checks={})


def _mse(results, model: str, feature_set: str) -> float:
    return float(results.summary.set_index(["model", "feature_set"]).loc[(model, feature_set), "mse_mean"])


def test_the_current_configuration_is_re_scored_on_the_very_same_folds(class_study, class_champion):
    results = class_study.results
    again = split_mse(class_champion.pipeline, class_study.frame, results)
    folds = results.folds[(results.folds["model"] == class_champion.model)
                          & (results.folds["feature_set"] == class_champion.feature_set)].sort_values("split")
    np.testing.assert_allclose(again, folds["mse"])


def test_a_worse_newcomer_does_not_take_the_alias(class_study, class_champion, fast_params):
    """Today's grid lacks the current champion's model family, so today's best is worse than it."""
    others = [m for m in MODEL_NAMES if m != class_champion.model]
    today = evaluate(class_study.frame, models=others, seed=class_study.results.seed, model_params=fast_params,
                     n_splits=FAST_CV["n_splits"], n_repeats=class_study.results.n_repeats)
    newcomer = fit_champion(class_study.frame, *select_champion(today), model_params=fast_params)

    decision = decide(today, newcomer, class_study.frame, _holding(class_champion, version="3"))
    assert not decision.promote
    assert decision.mse_current == pytest.approx(_mse(class_study.results, class_champion.model,
                                                      class_champion.feature_set))
    assert decision.mse_new == pytest.approx(_mse(today, newcomer.model, newcomer.feature_set))
    assert decision.mse_current < decision.mse_new
    summary = decision.summary(new_version="4")
    assert summary["action"] == "kept" and summary["champion_version"] == "3"
    assert summary["message"].startswith("kept version 3 because on the same 5 folds")


def test_a_better_newcomer_takes_the_alias(class_study, class_champion, fast_params):
    worst = class_study.results.summary.sort_values("mse_mean").iloc[-1]
    incumbent = fit_champion(class_study.frame, worst["model"], worst["feature_set"], model_params=fast_params)
    decision = decide(class_study.results, class_champion, class_study.frame, _holding(incumbent))
    assert decision.promote and decision.mse_new < decision.mse_current
    assert 0.0 <= decision.p_one_sided <= 1.0
    assert "beats the current champion (version 1" in decision.reason
    assert decision.summary("2") == {"action": "promoted", "champion_version": "2",
                                     "message": f"promoted version 2: {decision.reason}"}


def test_the_same_configuration_takes_it_as_a_refit_on_today_s_students(class_study, class_champion):
    decision = decide(class_study.results, class_champion, class_study.frame, _holding(class_champion))
    assert decision.promote and decision.mse_new == pytest.approx(decision.mse_current)
    assert "refitted on today's" in decision.reason


def test_first_champion_and_a_champion_that_cannot_be_scored_today(class_study, class_champion):
    assert decide(class_study.results, class_champion, class_study.frame, None).promote
    needed = class_champion.pipeline.feature_names_in_[-1]
    decision = decide(class_study.results, class_champion, class_study.frame.drop(columns=[needed]),
                      _holding(class_champion))
    assert decision.promote and needed in decision.reason and np.isnan(decision.mse_current)
