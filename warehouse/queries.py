"""Read-side frames for the academic package: grades, emotion features, trends.

Everything returned is keyed by student_id for local joins and carries no display
names; `pseudonym` is the key to use once data leaves the machine.
"""
from __future__ import annotations

import duckdb
import pandas as pd

from warehouse.inputs import test_columns
from warehouse.migrate import load_sql

EMOTION_PREFIX = "emo_"


def cohorts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per cohort: n_students, n_consented, n_graded, n_sessions, n_faces."""
    return con.execute(load_sql("cohorts")).df()


def learning_frame(con: duckdb.DuckDBPyConnection, cohort: str) -> pd.DataFrame:
    """One row per graded student: student_id, pseudonym, gpa, test_01…test_NN, final_grade.

    NN is the highest test number stored for the cohort; a missing score is NaN.
    """
    params = {"cohort": cohort}
    grades = con.execute(load_sql("learning_frame"), params).df()
    scores = con.execute(load_sql("test_scores"), params).df()
    n_tests = int(scores["test_no"].max()) if len(scores) else 0
    columns = test_columns(n_tests) if n_tests else []
    wide = (
        scores.pivot(index="student_id", columns="test_no", values="score")
        .reindex(columns=range(1, n_tests + 1))
        .set_axis(columns, axis=1)
    )
    frame = grades.merge(wide, how="left", left_on="student_id", right_index=True)
    return frame[["student_id", "pseudonym", "gpa", *columns, "final_grade"]]


def model_versions(con: duckdb.DuckDBPyConnection, cohort: str) -> list[str]:
    """Model versions with aggregates for the cohort."""
    return [row[0] for row in con.execute(load_sql("model_versions"), {"cohort": cohort}).fetchall()]


def _resolve_model_version(con: duckdb.DuckDBPyConnection, cohort: str, model_version: str | None) -> str | None:
    """The caller's version, or the only one present; several without a choice is an error."""
    if model_version is not None:
        return model_version
    versions = model_versions(con, cohort)
    if len(versions) > 1:
        raise ValueError(f"cohort {cohort!r} has aggregates for several model versions {versions}; pick one")
    return versions[0] if versions else None


def emotion_features(
    con: duckdb.DuckDBPyConnection, cohort: str, model_version: str | None = None
) -> pd.DataFrame:
    """One row per student from agg_student: student_id plus emo_* columns.

    Run rebuild_aggregates first. model_version may be left out when only one model
    has scored the cohort, so features from two models are never mixed.
    """
    params = {"cohort": cohort, "model_version": _resolve_model_version(con, cohort, model_version)}
    frame = con.execute(load_sql("emotion_features"), params).df()
    return frame.rename(columns=lambda name: name if name == "student_id" else f"{EMOTION_PREFIX}{name}")


def session_trends(
    con: duckdb.DuckDBPyConnection, cohort: str, model_version: str | None = None
) -> pd.DataFrame:
    """Per student x session mean V/A/D, in session order (held_on, then session_id)."""
    params = {"cohort": cohort, "model_version": _resolve_model_version(con, cohort, model_version)}
    return con.execute(load_sql("session_trends"), params).df()
