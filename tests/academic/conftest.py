"""Shared, session-scoped cohorts and evaluations: each costs seconds, so compute once."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pytest

from academic.evaluate import Champion, CVResults, evaluate, fit_champion, select_champion
from academic.features import join_frames
from academic.models import LINEAR_BASELINE, MODEL_NAMES
from academic.synthetic import make_cohort

# Few trees and 5 splits x 2 repeats keep the whole module well under a minute and a half.
FAST_PARAMS = {name: {"n_estimators": 50} for name in MODEL_NAMES if name != LINEAR_BASELINE}
FAST_CV = {"n_splits": 5, "n_repeats": 2}


@dataclass(frozen=True)
class Study:
    learning: pd.DataFrame
    emotion: pd.DataFrame
    trends: pd.DataFrame
    frame: pd.DataFrame
    results: CVResults


def _study(n_students: int, affect_effect: float, seed: int, unlabelled_fraction: float = 0.0,
           n_repeats: int = FAST_CV["n_repeats"]) -> Study:
    learning, emotion, trends = make_cohort(n_students, affect_effect=affect_effect, seed=seed,
                                            unlabelled_fraction=unlabelled_fraction)
    frame = join_frames(learning, emotion)
    results = evaluate(frame, seed=seed, model_params=FAST_PARAMS, n_splits=FAST_CV["n_splits"], n_repeats=n_repeats)
    return Study(learning, emotion, trends, frame, results)


@pytest.fixture(scope="session")
def fast_params() -> dict:
    return FAST_PARAMS


@pytest.fixture(scope="session")
def affect_study() -> Study:
    """Affect carries strong signal (8 grade points per SD of engagement; the demo plants 3)."""
    return _study(150, affect_effect=8.0, seed=0)


@pytest.fixture(scope="session")
def null_study() -> Study:
    """Affect (and attendance) features are pure noise with respect to the final grade."""
    return _study(150, affect_effect=0.0, seed=0)


@pytest.fixture(scope="session")
def class_study() -> Study:
    """A class-sized cohort with students still to be graded (for tracking and the report).

    One repeat is enough here: these tests check plumbing, not significance.
    """
    return _study(60, affect_effect=3.0, seed=7, unlabelled_fraction=0.25, n_repeats=1)


@pytest.fixture(scope="session")
def class_champion(class_study) -> Champion:
    return fit_champion(class_study.frame, *select_champion(class_study.results), model_params=FAST_PARAMS)
