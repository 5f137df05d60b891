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
from academic.features import ATTENDANCE_COLUMNS, EMOTION_PREFIX, class_test_columns


def permutation_importances(pipeline: Pipeline, X: pd.DataFrame, y: pd.Series, *,
                            n_repeats: int = 10, seed: int = 0) -> pd.DataFrame:
    """Increase in RMSE (grade points) when one input column is shuffled, per column, largest first.

    Computed on the students the champion was fitted on, so it says what the model
    relies on, not how well it generalises (the CV table answers that). RMSE, like the
    ablation chart: "2 points further off" reads as a grade, squared points do not.
    """
    result = permutation_importance(pipeline, X, y, scoring="neg_root_mean_squared_error",
                                    n_repeats=n_repeats, random_state=seed, n_jobs=1)
    frame = pd.DataFrame({"feature": X.columns, "importance_mean": result.importances_mean,
                          "importance_std": result.importances_std})
    return frame.sort_values("importance_mean", ascending=False, ignore_index=True)


ATTENDANCE_GROUP = "attendance (faces seen, sessions seen)"
EXPRESSIONS_GROUP = "expressions"
OTHER_GROUP = "other face measures"
# What each group means, in words a teacher can check against the classroom.
GROUP_DESCRIPTIONS: dict[str, str] = {
    "GPA": "grade point average, as in the gradebook",
    "class tests": "the class-test scores of this course",
    ATTENDANCE_GROUP: "how often the cameras saw the student: faces seen and sessions seen",
    "valence": "how pleasant the face looked, from −1 (unhappy, displeased) to +1 (happy, pleased)",
    "arousal": "how activated the face looked, from −1 (calm, sleepy) to +1 (alert, excited, tense)",
    "dominance": "how much in control the face looked, from −1 (unsure, overwhelmed) to +1 (confident, in charge)",
    EXPRESSIONS_GROUP: "how often each facial expression was seen (neutral, happy, surprised, sad, angry, "
                       "disgusted, afraid, contemptuous) and how likely the network found each",
    OTHER_GROUP: "any other number computed from the student's faces",
}


def feature_groups(columns: list[str]) -> dict[str, list[str]]:
    """Readable groups of input columns: GPA, class tests, attendance, each VAD dimension,
    expressions (see GROUP_DESCRIPTIONS).

    Correlated columns (twelve tests, mean/std/slope of one dimension, an expression's
    share and probability) only make sense together; occluding one of them alone would
    understate what the group does. Attendance is its own group, as it is its own
    feature set: being there is not an emotion.
    """
    groups: dict[str, list[str]] = {
        "GPA": [c for c in columns if c == "gpa"],
        "class tests": class_test_columns(pd.DataFrame(columns=columns)),
        ATTENDANCE_GROUP: [c for c in columns if c in ATTENDANCE_COLUMNS],
    }
    for dim in VAD:
        groups[dim] = [c for c in columns if c.startswith(f"{EMOTION_PREFIX}{dim}_")]
    expressions = {f"{EMOTION_PREFIX}{kind}" for e in EXPRESSIONS for kind in (f"share_{e}", f"p_{e}_mean")}
    groups[EXPRESSIONS_GROUP] = [c for c in columns if c in expressions]
    grouped = {c for cols in groups.values() for c in cols}
    groups[OTHER_GROUP] = [c for c in columns if c.startswith(EMOTION_PREFIX) and c not in grouped]
    return {name: cols for name, cols in groups.items() if cols}


def observed_groups(X: pd.DataFrame) -> pd.DataFrame:
    """Per student and group: whether any input of the group was observed (is not NaN).

    A group with nothing observed is filled in by the imputer, so its effect on the
    prediction describes the cohort's medians, not the student. Attendance is the
    exception: a student the cameras never saw has no counts, and that absence is what
    the model reads (0 faces and a "never seen" indicator, see `models`).
    """
    return pd.DataFrame({name: X[cols].notna().any(axis=1) | (name == ATTENDANCE_GROUP)
                         for name, cols in feature_groups(list(X.columns)).items()}, index=X.index)


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
