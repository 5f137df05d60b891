"""identity = "enrolment" end to end on real faces (Yale photos from ../shared, skipped when absent).

A classroom frame holds a consenting student, a student who refused and a stranger:
only the first is stored; the other two are counted. The refusing student's enrolment
photos are never opened, templates live only in DuckDB, and `vadgrade forget` erases them.
"""
from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from prefect.settings import PREFECT_API_DATABASE_CONNECTION_URL, PREFECT_LOCAL_STORAGE_PATH
from typer.testing import CliRunner

import affect.identity
import warehouse.intake
from flows.cli import app
from flows.pipeline import ingest_images, load_reference_data
from tests.flows.conftest import files_naming, make_settings
from tests.yale import identity_cohort


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    return identity_cohort(tmp_path_factory.mktemp("identity") / "cohort")


def _settings(home: Path, data: Path):
    settings = make_settings(home, data)
    return settings.model_copy(update={"identity": "enrolment",
                                       "affect": settings.affect.model_copy(update={"store_crops": True})})


def _templates(db: Path) -> dict[str, list[bytes]]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("SELECT student_id, template FROM enrolment_templates ORDER BY ALL").fetchall()
    out: dict[str, list[bytes]] = {}
    for student, template in rows:
        out.setdefault(student, []).append(bytes(template))
    return out


@pytest.fixture(scope="module")
def ingested(cohort, tmp_path_factory):
    """The cohort ingested once with identity on, recording every file the run opened."""
    home = tmp_path_factory.mktemp("home")
    settings = _settings(home, cohort)
    opened: list[str] = []
    with pytest.MonkeyPatch.context() as mp:
        for module, name in ((warehouse.intake, "content_hash"), (affect.identity, "decode_image")):
            real = getattr(module, name)
            mp.setattr(module, name, lambda path, *a, _real=real, **k: opened.append(str(path)) or _real(path, *a, **k))
        load_reference_data(settings)
        summary = ingest_images(settings)
    return settings, summary, opened


def test_only_the_consenting_students_face_is_stored_the_others_are_counted(ingested):
    settings, summary, opened = ingested
    assert summary["faces_stored"] == 1 and summary["faces_unmatched"] == 2
    assert summary["students_enrolled"] == 3 and summary["enrolment_photos_used"] == 6
    assert summary["enrolment_photos_found"] == 8
    with duckdb.connect(str(settings.db_path), read_only=True) as con:
        assert con.execute("SELECT student_id FROM face_observations").fetchall() == [("s01",)]
        assert con.execute("SELECT status, n_faces, student_id FROM images").fetchall() == [("ok", 1, None)]
    assert len(list(settings.stored_crops_dir.glob("*.png"))) == 1      # no crop of the other two faces
    refused = [item for item in summary["set_aside"] if "/enrolment/s04/" in item["path"]]
    assert {item["reason"] for item in refused} == {"no consent (not opened)"} and len(refused) == 2
    assert not [path for path in opened if "/s04/" in path]                # never opened, only counted
    assert sorted(_templates(settings.db_path)) == ["s01", "s02", "s03"]


def test_templates_reach_no_summary_log_or_prefect_file(ingested):
    settings, summary, _ = ingested
    templates = [t for ts in _templates(settings.db_path).values() for t in ts]
    text = json.dumps(summary, default=str)
    assert "Enrolment(" not in text and "template" not in text
    prefect_db = Path(PREFECT_API_DATABASE_CONNECTION_URL.value().split(":///", 1)[1])
    roots = [p for p in (prefect_db.parent, Path(PREFECT_LOCAL_STORAGE_PATH.value())) if p.exists()]
    assert roots
    for template in templates[:2]:
        assert files_naming(roots, template[:64]) == []


def test_a_rerun_reuses_the_stored_templates_and_scores_nothing_again(ingested, monkeypatch):
    settings, _, _ = ingested
    before = _templates(settings.db_path)
    monkeypatch.setattr(affect.identity, "embed", lambda *a: pytest.fail("embedded again"))
    again = ingest_images(settings)
    assert again["images_scored"] == 0 and again["students_enrolled"] == 3
    assert _templates(settings.db_path) == before


def test_withdrawn_consent_drops_the_templates(cohort, tmp_path):
    data = Path(__import__("shutil").copytree(cohort, tmp_path / "cohort"))
    settings = _settings(tmp_path / "home", data)
    load_reference_data(settings)
    ingest_images(settings)
    roster = pd.read_csv(data / "roster.csv", dtype=str)
    roster.loc[roster["student_id"] == "s02", "consent"] = "no"
    roster.to_csv(data / "roster.csv", index=False)
    load_reference_data(settings)
    summary = ingest_images(settings)
    assert sorted(_templates(settings.db_path)) == ["s01", "s03"] and summary["students_enrolled"] == 2


def test_forget_erases_the_templates_from_the_file(ingested, tmp_path, monkeypatch):
    import shutil
    settings, _, _ = ingested
    home = Path(shutil.copytree(settings.home, tmp_path / "home"))
    db = home / "vadgrade.duckdb"
    mine, theirs = _templates(db)["s01"], _templates(db)["s02"]
    raw = db.read_bytes()
    assert all(t in raw for t in mine + theirs)          # the check can see a template in the file
    keyed = "SELECT count(*) FROM images WHERE enrolment_key IS NOT NULL"
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute(keyed).fetchall() == [(1,)]    # the frame, matched under s01's enrolment
    monkeypatch.setenv("VADGRADE_HOME", str(home))
    monkeypatch.setenv("VADGRADE_COHORT", settings.cohort)
    result = CliRunner().invoke(app, ["forget", "s01", "--yes"])
    assert result.exit_code == 0, result.output
    assert "enrolment_templates" in result.output
    raw = db.read_bytes()
    assert not any(t in raw for t in mine)               # forget + compact: no byte of them left
    assert all(t in raw for t in theirs)
    with duckdb.connect(str(db), read_only=True) as con:  # nor the frames' fingerprint made from them
        assert con.execute(keyed).fetchall() == [(0,)]


def test_identify_prints_the_students_and_writes_extracts_rows(cohort, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")                   # rich: one line per message
    out = tmp_path / "faces.csv"
    result = CliRunner().invoke(app, ["identify", "--enrolment", str(cohort / "enrolment"), "--roster",
                                      str(cohort / "roster.csv"), "--out", str(out), "--num-workers", "0",
                                      str(cohort / "images")])
    assert result.exit_code == 0, result.output
    assert "no consent (not opened)" in result.output and "1 matched to 1 of 3 students" in result.output
    faces = pd.read_csv(out, dtype={"student_id": str})
    assert faces["student_id"].fillna("").sort_values().tolist() == ["", "", "s01"]
    assert faces["match_distance"].notna().all() and faces["valence"].notna().all()


def test_identify_says_why_it_cannot_match(cohort, tmp_path):
    result = CliRunner().invoke(app, ["identify", "--enrolment", str(cohort / "enrolment" / "s01"),
                                      "--out", str(tmp_path / "f.csv"), str(cohort / "images")])
    assert result.exit_code == 2 and "cannot match faces" in result.output and "Traceback" not in result.output


def test_a_dask_cluster_matches_and_stores_what_local_threads_store(cohort, ingested, tmp_path):
    """The enrolment travels to the workers; matching there gives the same students and counts."""
    local_settings, local, _ = ingested
    settings = _settings(tmp_path / "dask", cohort)
    settings = settings.model_copy(update={"flows": settings.flows.model_copy(
        update={"task_runner": "dask", "dask_workers": 1})})
    load_reference_data(settings)
    on_dask = ingest_images(settings)
    assert {k: on_dask[k] for k in ("faces_stored", "faces_unmatched", "images_scored")} == \
           {k: local[k] for k in ("faces_stored", "faces_unmatched", "images_scored")}
    query = "SELECT student_id, face_idx, frame_time_s FROM face_observations ORDER BY ALL"
    with duckdb.connect(str(settings.db_path), read_only=True) as dask_con, \
            duckdb.connect(str(local_settings.db_path), read_only=True) as local_con:
        assert dask_con.execute(query).fetchall() == local_con.execute(query).fetchall()


def test_a_student_enrolled_late_is_found_in_the_frames_stored_before(cohort, tmp_path):
    """Frames stored under one enrolment are matched again under the next: nothing of the late
    student's earlier sessions is lost, nothing is stored twice, and a third run does nothing."""
    import shutil
    data = Path(shutil.copytree(cohort, tmp_path / "cohort"))
    shutil.move(data / "enrolment" / "s01", tmp_path / "s01-photos")        # s01 has not enrolled yet
    settings = _settings(tmp_path / "home", data)
    load_reference_data(settings)
    before = ingest_images(settings)
    assert before["faces_stored"] == 0 and before["faces_unmatched"] == 3 and before["frames_matched_again"] == 0

    shutil.move(tmp_path / "s01-photos", data / "enrolment" / "s01")        # ... and now has
    after = ingest_images(settings)
    assert after["frames_matched_again"] == 1 and after["images_scored"] == 1
    assert after["faces_stored"] == 1 and after["faces_unmatched"] == 2
    with duckdb.connect(str(settings.db_path), read_only=True) as con:
        assert con.execute("SELECT student_id FROM face_observations").fetchall() == [("s01",)]
        assert con.execute("SELECT count(*) FROM images").fetchall() == [(1,)]

    again = ingest_images(settings)
    assert again["images_scored"] == 0 and again["frames_matched_again"] == 0 and again["images_already_stored"] == 1
