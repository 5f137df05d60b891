"""Right to erasure: every row about one student goes, nobody else's, and they stay gone."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

import warehouse.erase
from warehouse import (
    InputError,
    compact,
    connect,
    erased_students,
    forget_student,
    load_gradebook,
    load_observations,
    load_roster,
    load_sessions,
    rebuild_aggregates,
    student_cohorts,
    replace_templates,
    student_traces,
)
from warehouse.erase import ERASED_TABLES
from warehouse.intake import ERASED_REASON, IntakePlan, apply_consent
from warehouse.load import UNKNOWN_STUDENT
from wh_data import COHORT, SESSIONS, STUDENTS, content_hash, images_of, make_observations

OTHER = "chem-2025"  # a second cohort that also has an s01


def _gradebook(students: list[str], n_tests: int = 3) -> pd.DataFrame:
    frame = pd.DataFrame({"student_id": students, "gpa": 3.0})
    for test in range(1, n_tests + 1):
        frame[f"test_{test:02d}"] = 60.0 + test
    frame["final_grade"] = 70.0
    return frame


def _frame_observations(students: list[str], session: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One classroom frame (image not tied to a student) with one face per student."""
    faces, _ = make_observations([(student, session, 1) for student in students], seed=7)
    faces = faces.assign(content_hash=content_hash("frame", session), face_idx=range(len(students)),
                         source=f"{session}/cam1.jpg")
    return faces, images_of(faces).assign(student_id=None)


def _templates(students: list[str]) -> pd.DataFrame:
    """Two enrolment templates per student (made-up bytes)."""
    return pd.DataFrame([(s, f"{s}-photo{k}", bytes([k]) * 512) for s in students for k in (1, 2)],
                        columns=["student_id", "content_hash", "template"])


def _fill(con: duckdb.DuckDBPyConnection) -> None:
    """COHORT: s01-s03 graded and enrolled, s01/s02 with per-student images and a shared frame; OTHER: its own s01."""
    load_gradebook(con, COHORT, _gradebook(["s01", "s02", "s03"]))
    replace_templates(con, COHORT, "model-1", _templates(["s01", "s02", "s03"]))
    faces, images = make_observations([("s01", "w1", 3), ("s01", "w2", 2), ("s02", "w1", 2), ("s03", "w3", 1)])
    load_observations(con, COHORT, faces, images)
    load_observations(con, COHORT, *_frame_observations(["s01", "s02"], "w2"))
    load_roster(con, OTHER, pd.DataFrame({"student_id": ["s01", "s09"], "consent": [True, True]}))
    load_sessions(con, OTHER, SESSIONS)
    load_gradebook(con, OTHER, _gradebook(["s01", "s09"]))
    replace_templates(con, OTHER, "model-1", _templates(["s01"]))
    faces, _ = make_observations([("s01", "w1", 2), ("s09", "w1", 1)], seed=3)
    faces = faces.assign(content_hash=faces["content_hash"] + "-chem")   # images are keyed across cohorts
    load_observations(con, OTHER, faces, images_of(faces))
    rebuild_aggregates(con)


def _rows(con: duckdb.DuckDBPyConnection, table: str, where: str) -> list[tuple]:
    """Rows as text, so NaN aggregates compare equal; frames' images rows have a NULL student_id."""
    rows = con.execute(f"SELECT * FROM {table} WHERE {where} ORDER BY ALL").fetchall()
    return [tuple(map(str, row)) for row in rows]


def _about(con: duckdb.DuckDBPyConnection, cohort: str, student: str) -> dict[str, int]:
    return {table: len(_rows(con, table, f"cohort = '{cohort}' AND student_id = '{student}'"))
            for table in ERASED_TABLES}


def _everyone_else(con: duckdb.DuckDBPyConnection, cohort: str, student: str) -> dict[str, list[tuple]]:
    where = f"NOT (cohort = '{cohort}' AND coalesce(student_id, '') = '{student}')"
    return {table: _rows(con, table, where) for table in ERASED_TABLES}


@pytest.fixture
def filled(cohort_con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    _fill(cohort_con)
    return cohort_con


def test_every_table_with_a_student_id_is_erased(con: duckdb.DuckDBPyConnection) -> None:
    # A future migration adding a per-student table must add it to ERASED_TABLES too.
    tables = {row[0] for row in con.execute(
        "SELECT DISTINCT table_name FROM duckdb_columns() WHERE column_name = 'student_id' AND NOT internal"
    ).fetchall()}
    assert tables == set(ERASED_TABLES)


def test_forget_deletes_every_row_about_the_student_and_nothing_else(filled: duckdb.DuckDBPyConnection) -> None:
    before = _about(filled, COHORT, "s01")
    assert all(before[table] > 0 for table in ERASED_TABLES if table != "images") and before["images"] == 5
    others = _everyone_else(filled, COHORT, "s01")
    frame_faces = _rows(filled, "face_observations", f"content_hash = '{content_hash('frame', 'w2')}'")
    assert len(frame_faces) == 2

    deleted = forget_student(filled, "s01", COHORT)

    assert deleted == before
    assert list(deleted) == list(ERASED_TABLES)
    assert _about(filled, COHORT, "s01") == dict.fromkeys(ERASED_TABLES, 0)
    assert _everyone_else(filled, COHORT, "s01") == others        # incl. OTHER's s01 and the frame's row
    remaining = _rows(filled, "face_observations", f"content_hash = '{content_hash('frame', 'w2')}'")
    assert [row for row in frame_faces if "s01" not in row] == remaining
    assert student_cohorts(filled, "s01") == [OTHER]


def test_traces_give_pseudonyms_and_the_images_showing_the_student(filled: duckdb.DuckDBPyConnection) -> None:
    def pseudonyms(cohort: str | None) -> tuple[str, ...]:
        return tuple(sorted(row[0] for row in filled.execute(
            "SELECT pseudonym FROM students WHERE student_id = 's01' AND coalesce(cohort = $c, true)",
            {"c": cohort}).fetchall()))
    here = student_traces(filled, "s01", COHORT)
    assert here.pseudonyms == pseudonyms(COHORT) and len(here.pseudonyms) == 1
    own = [(f"s01/{session}/{k}.jpg", None, None) for session, n in (("w1", 3), ("w2", 2)) for k in range(n)]
    assert sorted(here.faces, key=str) == sorted([*own, ("w2/cam1.jpg", 0.0, 0)], key=str)   # in the frame, only their face
    everywhere = student_traces(filled, "s01")
    assert everywhere.pseudonyms == pseudonyms(None) and len(everywhere.pseudonyms) == 2
    assert student_traces(filled, "s77") == warehouse.erase.StudentTraces((), ())


def test_forget_without_cohort_erases_the_id_from_every_cohort(filled: duckdb.DuckDBPyConnection) -> None:
    here, there = _about(filled, COHORT, "s01"), _about(filled, OTHER, "s01")
    assert student_cohorts(filled, " s01 ") == sorted([COHORT, OTHER])
    deleted = forget_student(filled, "s01")
    assert deleted == {table: here[table] + there[table] for table in ERASED_TABLES}
    for cohort in (COHORT, OTHER):
        assert _about(filled, cohort, "s01") == dict.fromkeys(ERASED_TABLES, 0)
    assert _about(filled, OTHER, "s09")["face_observations"] == 1


def test_a_student_with_only_a_roster_row_is_erased(cohort_con: duckdb.DuckDBPyConnection) -> None:
    assert forget_student(cohort_con, "s04", COHORT) == {**dict.fromkeys(ERASED_TABLES, 0), "students": 1}


def test_unknown_or_blank_id_is_a_clear_error_and_changes_nothing(filled: duckdb.DuckDBPyConnection) -> None:
    others = _everyone_else(filled, COHORT, "nobody")
    with pytest.raises(InputError, match="'s77' is not stored in any cohort"):
        forget_student(filled, "s77")
    with pytest.raises(InputError, match=f"'s09' is not stored in cohort '{COHORT}'"):
        forget_student(filled, "s09", COHORT)     # s09 exists, but only in OTHER
    with pytest.raises(InputError, match="blank"):
        forget_student(filled, "  ")
    assert _everyone_else(filled, COHORT, "nobody") == others
    assert filled.execute("SELECT count(*) FROM erased_students").fetchall() == [(0,)]


def test_second_erasure_is_a_clear_error(filled: duckdb.DuckDBPyConnection) -> None:
    forget_student(filled, "s01", COHORT)
    after = _everyone_else(filled, COHORT, "s01")
    with pytest.raises(InputError, match=rf"'s01' was already erased \(from cohort '{COHORT}' on \d{{4}}-"):
        forget_student(filled, "s01", COHORT)
    with pytest.raises(InputError, match="already erased"):
        student_cohorts(filled, "s01", COHORT)
    assert _everyone_else(filled, COHORT, "s01") == after
    forget_student(filled, "s01")                 # without a cohort: OTHER still holds an s01
    with pytest.raises(InputError, match=f"from cohort '{COHORT}' on .*from cohort '{OTHER}' on"):
        forget_student(filled, "s01")


def test_a_failure_midway_deletes_nothing(filled: duckdb.DuckDBPyConnection, monkeypatch) -> None:
    before = _everyone_else(filled, COHORT, "nobody")
    real = warehouse.erase.load_sql
    monkeypatch.setattr(warehouse.erase, "load_sql",
                        lambda name: "SELECT * FROM no_such_table" if name == "erase_record" else real(name))
    with pytest.raises(duckdb.Error):
        forget_student(filled, "s01", COHORT)     # fails after every DELETE ran
    assert _everyone_else(filled, COHORT, "nobody") == before


def test_reloading_the_same_files_does_not_bring_the_student_back(filled: duckdb.DuckDBPyConnection) -> None:
    forget_student(filled, "s01", COHORT)
    roster = pd.DataFrame({"student_id": list(STUDENTS), "consent": [True, True, True, False]})
    assert erased_students(filled, COHORT, roster["student_id"]) == {"s01"}
    assert erased_students(filled, OTHER, roster["student_id"]) == set()

    assert load_roster(filled, COHORT, roster) == 3
    load_gradebook(filled, COHORT, _gradebook(["s01", "s02", "s03"]))
    faces, images = make_observations([("s01", "w4", 1)], seed=11)
    result = load_observations(filled, COHORT, faces, images)
    assert result.images_loaded == 0 and result.rejected_counts == {UNKNOWN_STUDENT: 1}
    rebuild_aggregates(filled, COHORT)
    assert _about(filled, COHORT, "s01") == dict.fromkeys(ERASED_TABLES, 0)
    assert _about(filled, COHORT, "s02")["gradebook"] == 1

    # The same id in another cohort is another enrolment and loads as usual.
    load_roster(filled, OTHER, pd.DataFrame({"student_id": ["s01"], "consent": [True]}))
    assert _about(filled, OTHER, "s01")["students"] == 1


def test_the_erasure_record_keeps_no_id_or_pseudonym(cohort_con: duckdb.DuckDBPyConnection) -> None:
    pseudonym = cohort_con.execute("SELECT pseudonym FROM students WHERE student_id = 's02'").fetchall()[0][0]
    forget_student(cohort_con, "s02", COHORT)
    [(cohort, id_hash, erased_at)] = cohort_con.execute("SELECT * FROM erased_students").fetchall()
    assert cohort == COHORT and erased_at is not None
    assert "s02" not in id_hash and not id_hash.startswith(pseudonym) and len(id_hash) == 64


def test_intake_sets_erased_students_images_aside_unopened() -> None:
    images = pd.DataFrame({"path": ["w1/s1/a.jpg", "w1/s2/a.jpg", "w1/s3/a.jpg", "w1/cam1.jpg"],
                           "session_id": "w1", "student_id": ["s1", "s2", "s3", None],
                           "camera": [None, None, None, "cam1"],
                           "layout": ["per_student"] * 3 + ["frame"]})
    roster = pd.DataFrame({"student_id": ["s1", "s2", "s3"], "consent": [True, False, True]})
    plan = apply_consent(IntakePlan(images), roster, erased={"s1", "s2"})
    assert plan.images["path"].tolist() == ["w1/s3/a.jpg", "w1/cam1.jpg"]
    assert plan.counts() == {ERASED_REASON: 2}


def test_compact_leaves_no_deleted_bytes_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "store.duckdb"
    needle = "NEEDLE-STUDENT-4711"
    con = connect(path)
    load_roster(con, COHORT, pd.DataFrame({"student_id": [needle, "s02"], "consent": [True, True],
                                           "display_name": ["Needle Name", "Bo"]}))
    load_gradebook(con, COHORT, _gradebook([needle, "s02"]))
    con.execute("CHECKPOINT")
    forget_student(con, needle, COHORT)
    con.close()
    assert needle.encode() in path.read_bytes()   # DuckDB keeps deleted bytes until the file is rewritten

    assert compact(path) == path
    assert needle.encode() not in path.read_bytes() and b"Needle Name" not in path.read_bytes()
    assert not Path(f"{path}.compact").exists()
    again = connect(path)
    assert again.execute("SELECT student_id FROM students").fetchall() == [("s02",)]
    assert again.execute("SELECT count(*) FROM test_scores").fetchall() == [(3,)]
    assert erased_students(again, COHORT, [needle, "s02"]) == {needle}
    with pytest.raises(InputError, match="already erased"):
        forget_student(again, needle)
    again.close()
