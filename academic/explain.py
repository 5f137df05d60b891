"""What drives the champion's predictions: cohort-level importances and per-student factors.

Both work on the whole pipeline with the raw input columns, so they apply to every
model family alike and speak in the columns an educator recognises.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance
from sklearn.pipeline import Pipeline

from affect.schema import EXPRESSIONS, VAD
from academic.features import EMOTION_PREFIX, class_test_columns


def permutation_importances(pipeline: Pipeline, X: pd.DataFrame, y: pd.Series, *,
                            n_repeats: int = 10, seed: int = 0) -> pd.DataFrame:
    """Increase in MSE when one input column is shuffled, per column, largest first.

    Computed on the students the champion was fitted on, so it says what the model
    relies on, not how well it generalises (the CV table answers that).
    """
    result = permutation_importance(pipeline, X, y, scoring="neg_mean_squared_error",
                                    n_repeats=n_repeats, random_state=seed, n_jobs=1)
    frame = pd.DataFrame({"feature": X.columns, "importance_mean": result.importances_mean,
                          "importance_std": result.importances_std})
    return frame.sort_values("importance_mean", ascending=False, ignore_index=True)


def feature_groups(columns: list[str]) -> dict[str, list[str]]:
    """Readable groups of input columns: GPA, class tests, each VAD dimension, expressions.

    Correlated columns (twelve tests, mean/std/slope of one dimension) only make sense
    together; occluding one of them alone would understate what the group does.
    """
    groups: dict[str, list[str]] = {
        "GPA": [c for c in columns if c == "gpa"],
        "class tests": class_test_columns(pd.DataFrame(columns=columns)),
    }
    for dim in VAD:
        groups[dim] = [c for c in columns if c.startswith(f"{EMOTION_PREFIX}{dim}_")]
    groups["expressions"] = [c for c in columns if c in {f"{EMOTION_PREFIX}share_{e}" for e in EXPRESSIONS}]
    grouped = {c for cols in groups.values() for c in cols}
    groups["other emotion"] = [c for c in columns if c.startswith(EMOTION_PREFIX) and c not in grouped]
    return {name: cols for name, cols in groups.items() if cols}


def observed_groups(X: pd.DataFrame) -> pd.DataFrame:
    """Per student and group: whether any input of the group was observed (is not NaN).

    A group with nothing observed is filled in by the imputer, so its effect on the
    prediction describes the cohort's medians, not the student.
    """
    return pd.DataFrame({name: X[cols].notna().any(axis=1) for name, cols in feature_groups(list(X.columns)).items()},
                        index=X.index)


def occlusion_contributions(pipeline: Pipeline, X: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """Per student and group: prediction minus the prediction with that group set to the
    `reference` cohort's medians; NaN where the student has nothing observed in the group.

    A positive value means the student's own values in that group raise the predicted
    grade compared with a typical student. Groups interact, so contributions need not
    add up to the distance from the cohort's typical prediction.
    """
    medians = reference[X.columns].median()
    base = pipeline.predict(X)
    out = {}
    for name, cols in feature_groups(list(X.columns)).items():
        occluded = X.copy()
        occluded[cols] = np.broadcast_to(medians[cols].to_numpy(), occluded[cols].shape)
        out[name] = base - pipeline.predict(occluded)
    return pd.DataFrame(out, index=X.index).where(observed_groups(X))
