"""The three nested feature sets of the study and the join that builds them.

Huo & Ge compare a predictor trained on learning data only (GPA + class tests) with
one that also sees VAD emotion features. But the per-student emotion frame also says
how often a student was seen at all (faces observed, sessions seen, never seen), and
"emotion helps" may only mean "being there helps". So the sets are nested in three
steps: learning; + attendance (`emo_n_faces`, `emo_n_sessions`, and whether the
student was never seen); + affect (V/A/D and expression aggregates). Each step is
tested on its own, and all sets are built from the same joined frame, so they differ
in the columns only, never in the students.
"""
from __future__ import annotations

import hashlib
import re

import numpy as np
import pandas as pd

from academic.errors import LeakageError

LEARNING = "learning"
LEARNING_ATTENDANCE = "learning+attendance"
LEARNING_ATTENDANCE_AFFECT = "learning+attendance+affect"
FEATURE_SETS: tuple[str, ...] = (LEARNING, LEARNING_ATTENDANCE, LEARNING_ATTENDANCE_AFFECT)
# Column blocks per feature set; a block is preprocessed the same way in every set.
LEARNING_BLOCK, ATTENDANCE_BLOCK, AFFECT_BLOCK = "learning", "attendance", "affect"
_SET_BLOCKS: dict[str, tuple[str, ...]] = {
    LEARNING: (LEARNING_BLOCK,),
    LEARNING_ATTENDANCE: (LEARNING_BLOCK, ATTENDANCE_BLOCK),
    LEARNING_ATTENDANCE_AFFECT: (LEARNING_BLOCK, ATTENDANCE_BLOCK, AFFECT_BLOCK),
}
# The two tested steps: (block added, feature set before, feature set after).
STEPS: tuple[tuple[str, str, str], ...] = (
    (ATTENDANCE_BLOCK, LEARNING, LEARNING_ATTENDANCE),
    (AFFECT_BLOCK, LEARNING_ATTENDANCE, LEARNING_ATTENDANCE_AFFECT),
)

ID_COLUMNS: tuple[str, ...] = ("student_id", "pseudonym")
TARGET = "final_grade"
EMOTION_PREFIX = "emo_"
# Counts, not affect: how much of the student the cameras saw (warehouse agg_student).
ATTENDANCE_COLUMNS: tuple[str, ...] = ("emo_n_faces", "emo_n_sessions")
_TEST_COLUMN = re.compile(r"^test_\d+$")


def class_test_columns(frame: pd.DataFrame) -> list[str]:
    """Class-test columns (`test_01` ...) in numeric order."""
    return sorted((c for c in frame.columns if _TEST_COLUMN.match(c)), key=lambda c: int(c[5:]))


def learning_columns(frame: pd.DataFrame) -> list[str]:
    return ["gpa", *class_test_columns(frame)]


def emotion_columns(frame: pd.DataFrame) -> list[str]:
    """Every per-student `emo_` column: attendance counts and affect aggregates."""
    return [c for c in frame.columns if c.startswith(EMOTION_PREFIX)]


def attendance_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in emotion_columns(frame) if c in ATTENDANCE_COLUMNS]


def affect_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in emotion_columns(frame) if c not in ATTENDANCE_COLUMNS]


def feature_blocks(frame: pd.DataFrame, feature_set: str) -> dict[str, list[str]]:
    """Input columns of `feature_set` present in `frame`, by block (learning, attendance, affect)."""
    if feature_set not in _SET_BLOCKS:
        raise ValueError(f"unknown feature set {feature_set!r}; expected one of {FEATURE_SETS}")
    columns = {LEARNING_BLOCK: learning_columns, ATTENDANCE_BLOCK: attendance_columns, AFFECT_BLOCK: affect_columns}
    return {block: columns[block](frame) for block in _SET_BLOCKS[feature_set]}


def feature_columns(frame: pd.DataFrame, feature_set: str) -> list[str]:
    """Input columns of `feature_set` present in `frame`."""
    return [c for columns in feature_blocks(frame, feature_set).values() for c in columns]


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
