"""The two feature sets of the study and the join that builds them.

Huo & Ge compare a predictor trained on learning data only (GPA + class tests) with
one that also sees VAD emotion features. Both sets are built from the same joined
frame, so the comparison differs in the columns only, never in the students.
"""
from __future__ import annotations

import hashlib
import re

import numpy as np
import pandas as pd

from academic.errors import LeakageError

LEARNING_ONLY = "learning-only"
LEARNING_EMOTION = "learning+emotion"
FEATURE_SETS: tuple[str, ...] = (LEARNING_ONLY, LEARNING_EMOTION)

ID_COLUMNS: tuple[str, ...] = ("student_id", "pseudonym")
TARGET = "final_grade"
EMOTION_PREFIX = "emo_"
_TEST_COLUMN = re.compile(r"^test_\d+$")


def class_test_columns(frame: pd.DataFrame) -> list[str]:
    """Class-test columns (`test_01` ...) in numeric order."""
    return sorted((c for c in frame.columns if _TEST_COLUMN.match(c)), key=lambda c: int(c[5:]))


def learning_columns(frame: pd.DataFrame) -> list[str]:
    return ["gpa", *class_test_columns(frame)]


def emotion_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c.startswith(EMOTION_PREFIX)]


def feature_columns(frame: pd.DataFrame, feature_set: str) -> list[str]:
    """Input columns of `feature_set` present in `frame`."""
    if feature_set == LEARNING_ONLY:
        return learning_columns(frame)
    if feature_set == LEARNING_EMOTION:
        return learning_columns(frame) + emotion_columns(frame)
    raise ValueError(f"unknown feature set {feature_set!r}; expected one of {FEATURE_SETS}")


def join_frames(learning: pd.DataFrame, emotion: pd.DataFrame) -> pd.DataFrame:
    """Left-join per-student emotion features onto the learning frame.

    The emotion frame may hold only `student_id` and numeric `emo_` columns: anything
    else (a stray `final_grade`, a name) is refused rather than silently becoming a
    feature. Students without emotion rows keep NaN, imputed inside each CV fold.
    """
    missing = {*ID_COLUMNS, "gpa", TARGET} - set(learning.columns)
    if missing or not class_test_columns(learning):
        raise ValueError(f"learning frame lacks {sorted(missing) or 'test_NN columns'}")
    extra = [c for c in emotion.columns if c != "student_id" and not c.startswith(EMOTION_PREFIX)]
    if extra:
        raise LeakageError(f"emotion frame may only hold student_id and emo_* columns; got {extra}")
    non_numeric = [c for c in emotion_columns(emotion) if not pd.api.types.is_numeric_dtype(emotion[c])]
    if non_numeric:
        raise ValueError(f"emotion columns must be numeric: {non_numeric}")
    for name, frame in (("learning", learning), ("emotion", emotion)):
        if frame["student_id"].duplicated().any():
            raise ValueError(f"{name} frame has more than one row per student_id")
    joined = learning.merge(emotion, on="student_id", how="left", validate="one_to_one")
    return joined.reset_index(drop=True)


def labelled(frame: pd.DataFrame) -> pd.DataFrame:
    """Students with a known final grade, in a stable order (the CV folds depend on it)."""
    return frame[frame[TARGET].notna()].sort_values("student_id").reset_index(drop=True)


def check_target_leak(X: pd.DataFrame, y: pd.Series, *, max_abs_corr: float = 0.98) -> None:
    """Refuse features that all but equal the target.

    No honest classroom signal predicts a final exam almost perfectly; a feature that
    does was almost certainly derived from the grade upstream (a join on the wrong
    table, a grade-dependent aggregate) and would make every comparison meaningless.
    """
    target = y.to_numpy(dtype=float)
    for column in X.columns:
        values = X[column].to_numpy(dtype=float)
        keep = ~np.isnan(values)
        if keep.sum() < 3 or np.std(values[keep]) == 0 or np.std(target[keep]) == 0:
            continue
        corr = float(np.corrcoef(values[keep], target[keep])[0, 1])
        if abs(corr) >= max_abs_corr:
            raise LeakageError(
                f"feature {column!r} correlates {corr:+.3f} with {TARGET}; it looks derived from "
                "the target. Remove it upstream (raise max_abs_corr only if you are sure)."
            )


def fingerprint(frame: pd.DataFrame) -> str:
    """A short content hash of a joined frame, so a tracked run names the data it saw."""
    ordered = frame.sort_values("student_id")[sorted(frame.columns)].reset_index(drop=True)
    digest = hashlib.sha256(pd.util.hash_pandas_object(ordered, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]


def labelled_xy(frame: pd.DataFrame, feature_set: str) -> tuple[pd.DataFrame, pd.Series]:
    """`X` (float features of `feature_set`) and `y` for the labelled students of `frame`."""
    rows = labelled(frame)
    X = rows[feature_columns(rows, feature_set)].astype(float)
    y = rows[TARGET].astype(float)
    check_target_leak(X, y)
    return X, y
