"""Loads: idempotent, atomic, and never storing what consent or the roster forbid."""
from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from warehouse import (
    connect,
    export_parquet,
    load_gradebook,
    load_observations,
    load_roster,
    load_sessions,
    scored_hashes,
    stored_hashes,
)
from warehouse.load import IMAGE_REJECTED, NO_CONSENT, UNKNOWN_SESSION, UNKNOWN_STUDENT
from wh_data import COHORT, count, images_of, make_observations, no_face_image

TABLES = ("students", "sessions", "gradebook", "test_scores", "images", "face_observations")


def _counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {table: count(con, table) for table in TABLES}


def _gradebook(n_students: int = 3, n_tests: int = 4) -> pd.DataFrame:
    frame = pd.DataFrame({"student_id": [f"s{i:02d}" for i in range(1, n_students + 1)], "gpa": 3.0})
    for test in range(1, n_tests + 1):
        frame[f"test_{test:02d}"] = 50.0 + test
    frame["final_grade"] = 70.0
    return frame


def test_gradebook_reload_is_idempotent_and_replaces_tests(con: duckdb.DuckDBPyConnection) -> None:
    load_gradebook(con, COHORT, _gradebook())
    before = _counts(con)
    load_gradebook(con, COHORT, _gradebook())
    assert _counts(con) == before == {**before, "gradebook": 3, "test_scores": 12}

    corrected = _gradebook(n_tests=2).assign(gpa=[3.9, 3.0, 3.0])
    load_gradebook(con, COHORT, corrected)
    assert count(con, "test_scores") == 6  # the corrected students' old tests 3-4 are gone
    assert con.execute("SELECT gpa FROM gradebook WHERE student_id = 's01'").fetchall() == [(3.9,)]


def test_gradebook_failing_midway_leaves_nothing(con: duckdb.DuckDBPyConnection) -> None:
    # The gradebook rows insert fine; the test scores then fail to cast inside the same transaction.
    broken = _gradebook().astype({"test_03": object})
    broken.loc[1, "test_03"] = "abc"
    with pytest.raises(duckdb.Error):
        load_gradebook(con, COHORT, broken)
    assert count(con, "gradebook") == 0 and count(con, "test_scores") == 0
    load_gradebook(con, COHORT, _gradebook())  # the connection is usable afterwards
    assert count(con, "gradebook") == 3


def test_pseudonyms_are_stable_salted_and_per_cohort(con: duckdb.DuckDBPyConnection) -> None:
    roster = pd.DataFrame({"student_id": ["s01", "s02"], "consent": [True, False]})
    load_roster(con, "a", roster)
    load_roster(con, "b", roster)
    first = dict(con.execute("SELECT cohort || '/' || student_id, pseudonym FROM students").fetchall())
    load_roster(con, "a", roster.assign(consent=[False, True]))
    again = dict(con.execute("SELECT cohort || '/' || student_id, pseudonym FROM students").fetchall())
    assert first == again and len(set(first.values())) == 4
    assert all(len(p) == 12 and int(p, 16) >= 0 for p in first.values())
    unsalted = hashlib.sha256(b"as01").hexdigest()[:12]
    assert unsalted not in first.values()
    assert con.execute("SELECT consent FROM students WHERE cohort = 'a' ORDER BY student_id").fetchall() == [
        (False,), (True,)
    ]


def test_observations_reload_changes_nothing(cohort_con: duckdb.DuckDBPyConnection) -> None:
    faces, images = make_observations([("s01", "w1", 3), ("s02", "w2", 2)])
    faces = pd.concat([faces, no_face_image("s01", "w3")], ignore_index=True)
    images = images_of(faces)
    first = load_observations(cohort_con, COHORT, faces, images)
    assert (first.images_loaded, first.faces_loaded, first.images_skipped) == (6, 5, 0)
    assert first.rejected.empty
    before = _counts(cohort_con)
    stored = cohort_con.execute("SELECT * FROM images ORDER BY content_hash").df()

    again = load_observations(cohort_con, COHORT, pd.concat([faces, faces]), pd.concat([images, images]))
    assert (again.images_loaded, again.faces_loaded, again.images_skipped) == (0, 0, 6)
    assert _counts(cohort_con) == before
    pd.testing.assert_frame_equal(cohort_con.execute("SELECT * FROM images ORDER BY content_hash").df(), stored)
    no_face = cohort_con.execute("SELECT n_faces, status FROM images WHERE n_faces = 0").fetchall()
    assert no_face == [(0, "no_face")]
    assert scored_hashes(cohort_con, COHORT, "m1") == set(images["content_hash"])
    assert scored_hashes(cohort_con, COHORT, "m2") == set()


def test_unknown_and_unconsented_observations_are_rejected_and_counted(
    cohort_con: duckdb.DuckDBPyConnection,
) -> None:
    good, _ = make_observations([("s01", "w1", 2)], seed=1)
    no_consent, _ = make_observations([("s04", "w1", 2)], seed=2)
    stranger, _ = make_observations([("s99", "w1", 1)], seed=3)
    wrong_session, _ = make_observations([("s02", "w9", 3)], seed=4)
    # One group photo: s01 (consents) and s04 (does not) -> the whole image is held back.
    group = make_observations([("s01", "w2", 1)], seed=5)[0]
    group = pd.concat([group, group.assign(face_idx=1, student_id="s04")], ignore_index=True)
    faces = pd.concat([good, no_consent, stranger, wrong_session, group], ignore_index=True)
    images = images_of(faces)

    result = load_observations(cohort_con, COHORT, faces, images)
    assert (result.images_loaded, result.faces_loaded) == (2, 2)
    assert result.images_rejected == 7
    assert result.rejected_counts == {NO_CONSENT: 3, UNKNOWN_STUDENT: 1, UNKNOWN_SESSION: 3, IMAGE_REJECTED: 1}
    assert len(result.rejected) == len(faces) - 2
    stored = cohort_con.execute("SELECT DISTINCT student_id, session_id FROM face_observations").fetchall()
    assert stored == [("s01", "w1")]
    assert count(cohort_con, "images") == 2
    # Rejected images are not marked as scored, so a later run retries them.
    assert scored_hashes(cohort_con, COHORT, "m1") == set(good["content_hash"])


def test_observation_load_failing_midway_leaves_nothing(cohort_con: duckdb.DuckDBPyConnection) -> None:
    faces, images = make_observations([("s01", "w1", 3)])
    broken = faces.astype({"valence": object})
    broken.loc[2, "valence"] = "not a number"  # images insert first, then the faces cast fails
    with pytest.raises(duckdb.Error):
        load_observations(cohort_con, COHORT, broken, images)
    assert count(cohort_con, "images") == 0 and count(cohort_con, "face_observations") == 0
    assert load_observations(cohort_con, COHORT, faces, images).faces_loaded == 3


def test_resume_after_partial_run_does_not_double_count(cohort_con: duckdb.DuckDBPyConnection) -> None:
    faces, images = make_observations([("s01", "w1", 4), ("s02", "w2", 4), ("s03", "w3", 4)])
    half = images["content_hash"].iloc[:5]
    load_observations(cohort_con, COHORT, faces[faces["content_hash"].isin(half)], images[images["content_hash"].isin(half)])

    done = scored_hashes(cohort_con, COHORT, "m1")
    todo = ~images["content_hash"].isin(done)
    load_observations(cohort_con, COHORT, faces[~faces["content_hash"].isin(done)], images[todo])
    assert count(cohort_con, "face_observations") == len(faces)
    assert count(cohort_con, "images") == len(images)


def test_export_parquet_round_trips(cohort_con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    faces, images = make_observations([("s01", "w1", 2), ("s02", "w2", 1)])
    load_observations(cohort_con, COHORT, faces, images)
    path = export_parquet(cohort_con, "face_observations", tmp_path / "out" / "faces.parquet")
    exported = pd.read_parquet(path).sort_values("content_hash").reset_index(drop=True)
    stored = cohort_con.execute("SELECT * FROM face_observations ORDER BY content_hash").df()
    pd.testing.assert_frame_equal(exported, stored, check_dtype=False)
    codec = cohort_con.execute("SELECT DISTINCT compression FROM parquet_metadata($p)", {"p": str(path)}).fetchall()
    assert codec == [("ZSTD",)]

    for bad in ("no_such_table", 'students"; DROP TABLE students; --'):
        with pytest.raises(ValueError, match="unknown table"):
            export_parquet(cohort_con, bad, tmp_path / "bad.parquet")
    assert count(cohort_con, "students") == 4


def test_loaded_file_opens_with_plain_read_only_duckdb(tmp_path: Path) -> None:
    path = tmp_path / "store.duckdb"
    writer = connect(path)
    load_roster(writer, COHORT, pd.DataFrame({"student_id": ["s01"], "consent": [True]}))
    load_gradebook(writer, COHORT, _gradebook(n_students=1))
    writer.close()
    reader = duckdb.connect(str(path), read_only=True)
    assert count(reader, "students") == 1 and count(reader, "test_scores") == 4
    reader.close()


def test_identical_images_in_two_cohorts_are_each_stored(cohort_con: duckdb.DuckDBPyConnection) -> None:
    """Defect: the image key lacked the cohort, so a second cohort's copy was silently skipped."""
    faces, images = make_observations([("s01", "w1", 2)])
    assert load_observations(cohort_con, COHORT, faces, images).images_loaded == 2
    load_roster(cohort_con, "chem", pd.DataFrame({"student_id": ["s01"], "consent": [True]}))
    load_sessions(cohort_con, "chem", pd.DataFrame({"session_id": ["w1"]}))
    assert scored_hashes(cohort_con, "chem", "m1") == set()
    second = load_observations(cohort_con, "chem", faces, images)
    assert (second.images_loaded, second.faces_loaded, second.images_skipped) == (2, 2, 0)
    per_cohort = cohort_con.execute("SELECT cohort, count(*) FROM face_observations GROUP BY ALL ORDER BY ALL").fetchall()
    assert per_cohort == [(COHORT, 2), ("chem", 2)]
    assert scored_hashes(cohort_con, "chem", "m1") == scored_hashes(cohort_con, COHORT, "m1")


def test_roster_is_the_truth_of_each_run(cohort_con: duckdb.DuckDBPyConnection) -> None:
    """Defect: a student removed from roster.csv kept consent and stayed in analyses."""
    from warehouse import learning_frame, load_gradebook, rebuild_aggregates, roster_state
    faces, images = make_observations([("s01", "w1", 2), ("s02", "w1", 2)])
    load_observations(cohort_con, COHORT, faces, images)
    grades = pd.DataFrame({"student_id": ["s01", "s02"], "gpa": [3.0, 2.0], "test_01": [60.0, 70.0],
                           "final_grade": [65.0, 72.0]})
    load_gradebook(cohort_con, COHORT, grades)
    load_roster(cohort_con, COHORT, pd.DataFrame({"student_id": ["s01", "s03", "s04"],
                                                  "consent": [True, True, False]}))
    state = roster_state(cohort_con, COHORT).set_index("student_id")
    assert not state.loc["s02", "on_roster"] and state.loc["s01", "on_roster"]
    rebuild_aggregates(cohort_con, COHORT)
    assert learning_frame(cohort_con, COHORT)["student_id"].tolist() == ["s01"]
    assert cohort_con.execute("SELECT DISTINCT student_id FROM agg_student").fetchall() == [("s01",)]
    assert count(cohort_con, "face_observations") == 4         # kept until erased
    # New observations of an off-roster student are not stored; listing them again restores them.
    extra, extra_images = make_observations([("s02", "w2", 1)], seed=9)
    assert load_observations(cohort_con, COHORT, extra, extra_images).rejected_counts == {"not_on_roster": 1}
    load_roster(cohort_con, COHORT, pd.DataFrame({"student_id": ["s01", "s02"], "consent": [True, True]}))
    assert roster_state(cohort_con, COHORT).set_index("student_id").loc["s02", "on_roster"]


def test_video_frames_are_keyed_by_time(cohort_con: duckdb.DuckDBPyConnection) -> None:
    faces, images = make_observations([("s01", "w1", 1)])
    video = pd.concat([faces.assign(frame_time_s=t) for t in (0.0, 2.0, 4.0)], ignore_index=True)
    result = load_observations(cohort_con, COHORT, video, images)
    assert (result.images_loaded, result.faces_loaded) == (1, 3)
    times = cohort_con.execute("SELECT frame_time_s FROM face_observations ORDER BY 1").fetchall()
    assert times == [(0.0,), (2.0,), (4.0,)]
    assert load_observations(cohort_con, COHORT, video, images).faces_loaded == 0


def test_a_frame_matched_under_a_new_enrolment_replaces_its_rows_once(cohort_con: duckdb.DuckDBPyConnection) -> None:
    """A classroom frame (no student in its path) matched to s01 under enrolment A, then to s01
    and s02 under B: B's rows replace A's in one load; a per-student image is never re-planned."""
    frame_faces, _ = make_observations([("s01", "w1", 1), ("s02", "w1", 1)])
    frame_faces = frame_faces.assign(content_hash="frame-1", source="w1/cam.png", face_idx=[0, 1])
    frame_image = images_of(frame_faces).head(1).assign(student_id=None)
    own_faces, own_images = make_observations([("s03", "w1", 1)])
    load_observations(cohort_con, COHORT, pd.concat([frame_faces.head(1), own_faces]),
                      pd.concat([frame_image.assign(enrolment_key="A"), own_images]))
    assert scored_hashes(cohort_con, COHORT, "m1", "A") == {"frame-1", *own_images["content_hash"]}
    assert stored_hashes(cohort_con, COHORT, "m1", "B")[1] == {"frame-1"}
    assert scored_hashes(cohort_con, COHORT, "m1", "B") == set(own_images["content_hash"])

    result = load_observations(cohort_con, COHORT, frame_faces, frame_image.assign(enrolment_key="B"),
                               replace={"frame-1"})
    assert (result.images_loaded, result.faces_loaded) == (1, 2)
    faces = cohort_con.execute("SELECT student_id FROM face_observations WHERE content_hash = 'frame-1' "
                               "ORDER BY ALL").fetchall()
    assert faces == [("s01",), ("s02",)]
    assert cohort_con.execute("SELECT enrolment_key FROM images WHERE content_hash = 'frame-1'").fetchall() == [("B",)]
    assert count(cohort_con, "images") == 2 and count(cohort_con, "face_observations") == 3
    assert stored_hashes(cohort_con, COHORT, "m1", "B")[1] == set()
