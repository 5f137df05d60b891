"""Aggregates agree with the same statistics computed in pandas, and rebuild cleanly."""
from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from affect.schema import EXPRESSIONS, PROB_COLUMNS, VAD
from warehouse import (
    load_observations,
    load_roster,
    load_sessions,
    rebuild_aggregates,
    student_aggregates,
    student_session_aggregates,
)
from wh_data import COHORT, make_observations

# Cohort order of SESSIONS by held_on, then the undated one.
SESSION_NO = {"w2": 1, "w3": 2, "w1": 3, "w4": 4}
PAIRS = [
    ("s01", "w1", 5), ("s01", "w2", 3), ("s01", "w3", 4), ("s01", "w4", 2),
    ("s02", "w1", 4), ("s02", "w3", 6),  # missed two sessions: spacing must follow the calendar
    ("s03", "w4", 3),                    # one session: no slope
]


def _stats(group: pd.DataFrame) -> pd.Series:
    row = {"n_faces": len(group)}
    for dimension in VAD:
        values = group[dimension]
        row |= {f"{dimension}_mean": values.mean(), f"{dimension}_std": values.std(),
                f"{dimension}_min": values.min(), f"{dimension}_max": values.max()}
    for expression, column in zip(EXPRESSIONS, PROB_COLUMNS):
        row[f"{column}_mean"] = group[column].mean()
        row[f"share_{expression}"] = (group["expression"] == expression).mean()
    return pd.Series(row)


def _slope(means: pd.DataFrame, dimension: str) -> float:
    if len(means) < 2:
        return np.nan
    return float(np.polyfit(means["session_no"], means[dimension], 1)[0])


def _expected(faces: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    per_session = faces.groupby(["student_id", "session_id"]).apply(_stats, include_groups=False).reset_index()
    per_student = faces.groupby("student_id").apply(_stats, include_groups=False)
    means = faces.groupby(["student_id", "session_id"])[list(VAD)].mean().reset_index()
    means["session_no"] = means["session_id"].map(SESSION_NO)
    for dimension in VAD:
        per_student[f"{dimension}_slope"] = means.groupby("student_id").apply(
            lambda m, d=dimension: _slope(m, d), include_groups=False
        )
    per_student["n_sessions"] = means.groupby("student_id").size()
    return per_session, per_student.reset_index()


def _table(con: duckdb.DuckDBPyConnection, table: str, keys: list[str]) -> pd.DataFrame:
    return con.execute(f"SELECT * FROM {table} ORDER BY {', '.join(keys)}").df()


def _compare(actual: pd.DataFrame, expected: pd.DataFrame, keys: list[str]) -> None:
    assert len(actual) == len(expected)
    actual = actual.sort_values(keys).reset_index(drop=True)
    expected = expected.sort_values(keys).reset_index(drop=True)
    for column in expected.columns:
        if column in keys:
            assert actual[column].tolist() == expected[column].tolist()
        else:
            np.testing.assert_allclose(
                actual[column].astype(float), expected[column].astype(float), rtol=1e-9, atol=1e-12, err_msg=column
            )


@pytest.fixture
def faces(cohort_con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    frame, images = make_observations(PAIRS, seed=7)
    load_observations(cohort_con, COHORT, frame, images)
    return frame


def test_aggregates_match_pandas(cohort_con: duckdb.DuckDBPyConnection, faces: pd.DataFrame) -> None:
    written = rebuild_aggregates(cohort_con, COHORT)
    assert written == {"agg_student_session": len(PAIRS), "agg_student": 3}
    per_session, per_student = _expected(faces)

    table = _table(cohort_con, "agg_student_session", ["student_id", "session_id"])
    assert set(table["cohort"]) == {COHORT} and set(table["model_version"]) == {"m1"}
    _compare(table, per_session, ["student_id", "session_id"])
    _compare(_table(cohort_con, "agg_student", ["student_id"]), per_student, ["student_id"])
    assert _table(cohort_con, "agg_student", ["student_id"])["valence_slope"].isna().tolist() == [False, False, True]

    # The queries behind the tables give the same frames on demand.
    pd.testing.assert_frame_equal(student_session_aggregates(cohort_con, COHORT), table, check_dtype=False)
    _compare(student_aggregates(cohort_con), per_student, ["student_id"])


def test_rebuild_is_idempotent_and_scoped_to_cohort(
    cohort_con: duckdb.DuckDBPyConnection, faces: pd.DataFrame
) -> None:
    load_roster(cohort_con, "chem", pd.DataFrame({"student_id": ["c1"], "consent": [True]}))
    load_sessions(cohort_con, "chem", pd.DataFrame({"session_id": ["w1"]}))
    chem_faces, chem_images = make_observations([("c1", "w1", 2)], seed=8)
    load_observations(cohort_con, "chem", chem_faces, chem_images)

    rebuild_aggregates(cohort_con)
    first = _table(cohort_con, "agg_student_session", ["cohort", "student_id", "session_id"])
    rebuild_aggregates(cohort_con)
    rebuild_aggregates(cohort_con, "chem")
    pd.testing.assert_frame_equal(_table(cohort_con, "agg_student_session", ["cohort", "student_id", "session_id"]), first)

    # Withdrawn consent drops the student at the next rebuild of that cohort only.
    load_roster(cohort_con, COHORT, pd.DataFrame({"student_id": ["s03"], "consent": [False]}), complete=False)
    rebuild_aggregates(cohort_con, COHORT)
    students = cohort_con.execute("SELECT cohort, student_id FROM agg_student ORDER BY ALL").fetchall()
    assert students == [(COHORT, "s01"), (COHORT, "s02"), ("chem", "c1")]


def test_model_versions_are_never_mixed(cohort_con: duckdb.DuckDBPyConnection, faces: pd.DataFrame) -> None:
    rescored, images = make_observations([("s01", "w1", 2)], model_version="m2", seed=9)
    load_observations(cohort_con, COHORT, rescored, images)
    rebuild_aggregates(cohort_con, COHORT)
    rows = cohort_con.execute(
        "SELECT model_version, n_faces FROM agg_student WHERE student_id = 's01' ORDER BY model_version"
    ).fetchall()
    assert rows == [("m1", 14), ("m2", 2)]
