"""Right to erasure (GDPR Art. 17): delete everything the store holds about one student.

Withdrawn consent only hides a student from analyses; `forget_student` removes their
rows from every table that holds them, in one transaction, and records a salted hash
of (cohort, student_id) in `erased_students` so that loading the same roster or
gradebook again skips them instead of bringing them back. The store keeps no other
trace of them. Rows deleted from a DuckDB file can stay readable in its free blocks
until the file is rewritten: `warehouse.db.compact` does that.

What lies outside the store (MLflow runs, which only ever carry pseudonyms; exported
reports and Parquet files; stored face crops; the teacher's CSVs and images) is the
caller's to handle; `student_traces`, read before the rows go, tells it what to look for.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import duckdb
import pandas as pd

from warehouse.errors import InputError
from warehouse.migrate import load_sql
from warehouse.tx import registered, transaction

log = logging.getLogger(__name__)

# Every table with rows about a student, each keyed by (cohort, student_id); deleted in
# this order (biometric templates and observations first, the roster row with the
# pseudonym last). A test checks that every table with a student_id column is listed.
# enrolment_templates: face embeddings (identity = "enrolment"). images: only images tied to the
# student (per-student layout); classroom frames keep their row, minus this student's faces.
ERASED_TABLES: tuple[str, ...] = (
    "enrolment_templates",
    "face_observations",
    "images",
    "agg_student_session",
    "agg_student",
    "test_scores",
    "gradebook",
    "students",
)

SOURCE = "erasure"  # InputError source for the errors below


def _clean_id(student_id: str) -> str:
    """Ids are stored stripped (see inputs.validate_roster); a blank id is an error."""
    cleaned = str(student_id).strip()
    if not cleaned:
        raise InputError(SOURCE, ["student_id is blank"])
    return cleaned


def student_cohorts(con: duckdb.DuckDBPyConnection, student_id: str, cohort: str | None = None) -> list[str]:
    """Cohorts (only `cohort` when given) in which the store holds any row about `student_id`.

    Raises InputError naming the id when there is none: either it was erased before
    (the message says from which cohort and when) or it was never stored.
    """
    student_id = _clean_id(student_id)
    params = {"student_id": student_id, "cohort": cohort}
    found: set[str] = set()
    for table in ERASED_TABLES:
        # `table` comes from ERASED_TABLES, never from a caller; values are parameters.
        sql = (f"SELECT DISTINCT cohort FROM {table}"
               " WHERE student_id = $student_id AND ($cohort IS NULL OR cohort = $cohort)")
        rows = con.execute(sql, params).fetchall()
        found.update(row[0] for row in rows)
    if found:
        return sorted(found)
    where = f"cohort {cohort!r}" if cohort is not None else "any cohort"
    previous = con.execute(load_sql("erase_previous"), params).fetchall()
    if previous:
        when = ", ".join(f"from cohort {name!r} on {at:%Y-%m-%d %H:%M}" for name, at in previous)
        raise InputError(SOURCE, [f"student_id {student_id!r} was already erased ({when}); nothing is stored about it"])
    raise InputError(SOURCE, [f"student_id {student_id!r} is not stored in {where}"])


@dataclass(frozen=True)
class StudentTraces:
    """What files outside the store may hold about a student: read before their rows are deleted."""

    pseudonyms: tuple[str, ...]                     # how local reports and exports name them
    faces: tuple[tuple[str, float | None, int | None], ...]   # (source, frame_time_s, face_idx); None: every face


def student_traces(con: duckdb.DuckDBPyConnection, student_id: str, cohort: str | None = None) -> StudentTraces:
    """The pseudonyms of `student_id` and the stored images showing them (in `cohort`, or in all)."""
    params = {"student_id": _clean_id(student_id), "cohort": cohort}
    pseudonyms = tuple(row[0] for row in con.execute(load_sql("erase_pseudonyms"), params).fetchall())
    faces = tuple((source, time, None if face_idx is None else int(face_idx))
                  for source, time, face_idx in con.execute(load_sql("erase_faces"), params).fetchall())
    return StudentTraces(pseudonyms=pseudonyms, faces=faces)


def forget_student(con: duckdb.DuckDBPyConnection, student_id: str, cohort: str | None = None) -> dict[str, int]:
    """Delete every row about `student_id` (in `cohort`, or in every cohort holding it).

    One transaction: face observations, the images tied to the student, both aggregate
    tables, test scores, gradebook row, and the roster row with consent, display name
    and pseudonym; the enrolment fingerprints of the cohort's frames go too (they were
    made from the student's templates); then the erasure is recorded (hash only) so
    later loads skip the student. Returns rows deleted per table (every table of ERASED_TABLES, 0 included).
    An id with nothing stored, including one already erased, raises InputError.
    """
    student_id = _clean_id(student_id)
    deleted = dict.fromkeys(ERASED_TABLES, 0)
    with transaction(con):
        cohorts = student_cohorts(con, student_id, cohort)
        for name in cohorts:
            params = {"cohort": name, "student_id": student_id}
            for table in ERASED_TABLES:
                # `table` comes from ERASED_TABLES, never from a caller.
                rows = con.execute(f"DELETE FROM {table} WHERE cohort = $cohort AND student_id = $student_id", params)
                deleted[table] += rows.fetchall()[0][0]
            con.execute(load_sql("erase_enrolment_keys"), {"cohort": name})
            con.execute(load_sql("erase_record"), params)
    # Log counts and cohorts only: the id is what was asked to be forgotten.
    log.info("erased a student from cohort(s) %s: %s", ", ".join(cohorts), deleted)
    return deleted


def erased_students(con: duckdb.DuckDBPyConnection, cohort: str, student_ids: Iterable[str]) -> set[str]:
    """Which of `student_ids` were erased from `cohort`: loads skip these, the intake never opens their images."""
    ids = pd.DataFrame({"student_id": pd.Series([str(s) for s in student_ids], dtype="string")})
    if ids.empty:
        return set()
    with registered(con, _ids_in=ids):
        return {row[0] for row in con.execute(load_sql("erased_among"), {"cohort": cohort}).fetchall()}
