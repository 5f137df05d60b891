"""`vadgrade forget` leaves no trace of the student in any file under the home or PREFECT_HOME.

The end-to-end test runs the real CLI in subprocesses with a PREFECT_HOME of its own, so
Prefect's database and result storage are the ones a user would have (the package's test
harness would keep them elsewhere). The unit tests pin down the file cleaners one by one.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from affect.extraction import crop_name, crop_stem
import warehouse
from flows.cli import app
from flows.erasure import (ERASED_ASIDE_KEY, REMOVED_KEY, delete_crops, delete_input_examples, delete_reports,
                           id_pattern, scrub_exports, scrub_run_summaries, without_erased)
from flows.pipeline import load_reference_task
from flows.settings import WarehouseSettings
from tests.flows.conftest import files_naming, make_settings
from warehouse.intake import ERASED_REASON

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", autouse=True)
def prefect_harness():
    """Overrides the package's session harness: flows run in subprocesses with their own PREFECT_HOME."""
    yield


def _victim(data: Path) -> str:
    """The student whose image the generator truncated (in the demo: S000-00000)."""
    for path in sorted((data / "images").glob("*/*/*.png")):
        try:
            Image.open(path).load()
        except OSError:
            return path.parent.name
    raise AssertionError("the generated cohort has no corrupt image")


def _vadgrade(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flows.cli", *args], cwd=REPO, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)


def _stored(db: Path, sql: str, *params: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def test_forget_leaves_no_trace_under_the_home_or_prefect_home(cohort_copy, tmp_path, monkeypatch):
    victim = _victim(cohort_copy)
    folder = next((cohort_copy / "images").glob(f"*/{victim}"))
    (folder / "notes.txt").write_text("seat by the window\n")            # set aside by name, path and all
    home, prefect_home = tmp_path / "home", tmp_path / "prefect"
    settings = {"VADGRADE_HOME": str(home), "VADGRADE_DATA_DIR": str(cohort_copy), "VADGRADE_COHORT": "test-cohort",
                "VADGRADE_AFFECT__STORE_CROPS": "true"}
    env = {**os.environ, **settings, "PYTHONPATH": str(REPO), "PREFECT_HOME": str(prefect_home),
           "VADGRADE_AFFECT__NUM_WORKERS": "0", "VADGRADE_ACADEMIC__N_SPLITS": "3",
           "VADGRADE_ACADEMIC__N_REPEATS": "1", "COLUMNS": "200"}
    assert (done := _vadgrade("run", env=env)).returncode == 0, done.stdout[-3000:]
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    for table in ("face_observations", "images"):             # no flow: in this process
        assert (done := CliRunner().invoke(app, ["export", table])).exit_code == 0, done.output
    db = home / "vadgrade.duckdb"
    [(pseudonym, name)] = _stored(db, "SELECT pseudonym, display_name FROM students WHERE student_id = ?", victim)
    sources = [row[0] for row in _stored(db, "SELECT source FROM images WHERE student_id = ?", victim)]
    crops = [p for s in sources for p in (home / "crops").glob(f"{crop_stem(s)}_*.png")]
    assert crops and files_naming([home], victim) and files_naming([home], pseudonym)   # the scans see them

    done = CliRunner().invoke(app, ["forget", victim, "--yes"])
    assert done.exit_code == 0, done.output
    assert "run summaries" in done.output and "face crops" in done.output and "Not cleaned" in done.output

    assert files_naming([home, prefect_home], victim) == []
    outside_mlflow = [p for p in home.iterdir() if p.name not in ("mlflow.db", "mlartifacts")]
    assert files_naming(outside_mlflow, pseudonym) == [] and files_naming([home], name) == []
    assert not any(p.exists() for p in crops) and any((home / "crops").iterdir())
    assert not list(home.rglob("*input_example.json"))


def test_later_run_summaries_count_erased_students_instead_of_naming_them(tmp_path):
    data = tmp_path / "data"
    (data / "images" / "w1" / "s01").mkdir(parents=True)
    (data / "roster.csv").write_text("student_id,consent\ns01,yes\ns02,yes\n")
    (data / "sessions.csv").write_text("session_id,held_on\nw1,2025-09-01\n")
    (data / "gradebook.csv").write_text("student_id,gpa,test_01,final_grade\ns01,3.0,70,71\ns02,2.5,60,\n")
    settings = make_settings(tmp_path / "home", data).model_copy(update={"warehouse": WarehouseSettings(n_tests=1)})
    load_reference_task.fn(settings)
    con = warehouse.connect(settings.db_path)
    warehouse.forget_student(con, "s01")
    con.close()
    aside = [{"path": "images/w1/s01/1.png", "reason": ERASED_REASON},
             {"path": "images/w1/s01/notes.txt", "reason": "not an image file (by name)"},
             {"path": "images/w1/s02/1.png", "reason": "same content as images/w1/s01/2.png"},
             {"path": "images/w1/s02/2.png", "reason": "corrupt"}]
    summary = without_erased({"reference": {}, "images": {"images_scored": 1, "set_aside": aside}}, settings)
    assert summary["images"]["set_aside"] == aside[3:] and summary["images"][ERASED_ASIDE_KEY] == 3
    assert without_erased({"images": {"set_aside": aside[3:]}}, settings) == {"images": {"set_aside": aside[3:]}}
    storeless = without_erased({"images": {"set_aside": aside}}, make_settings(tmp_path / "no-store", data))
    assert storeless["images"]["set_aside"] == aside[1:] and storeless["images"][ERASED_ASIDE_KEY] == 1


# --- the cleaners one by one ------------------------------------------------------------

def test_the_id_matches_as_a_whole_token_only():
    pattern = id_pattern("S01")
    assert pattern.search("images/w1/S01/1.png") and pattern.search("S01.png") and pattern.search("'S01'")
    assert not pattern.search("images/w1/S010/1.png") and not pattern.search("XS01-2")


def test_run_summaries_lose_the_entries_naming_the_student(tmp_path):
    summary = {"images": {"images_scored": 3, "set_aside": [
        {"path": "images/w1/S01/1.png", "reason": "corrupt"}, {"path": "images/w1/S010/1.png", "reason": "corrupt"},
        {"path": "images/w1/S02/1.png", "reason": "same content as images/w1/S01/2.png"}]}}
    path = tmp_path / "run-20250101T000000Z.json"
    path.write_text(json.dumps(summary))
    (tmp_path / "run-20250102T000000Z.json").write_text(json.dumps({"images": {"set_aside": []}}))
    assert scrub_run_summaries(tmp_path, "S01") == 2
    after = json.loads(path.read_text())
    assert after["images"]["set_aside"] == [{"path": "images/w1/S010/1.png", "reason": "corrupt"}]
    assert after[REMOVED_KEY] == 2 and after["images"]["images_scored"] == 3
    assert json.loads((tmp_path / "run-20250102T000000Z.json").read_text()) == {"images": {"set_aside": []}}


def test_reports_naming_the_student_are_deleted(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "at_risk_report.csv").write_text("pseudonym,display_name\npz-1,Ada\npz-2,Bo\n")
    (tmp_path / "b" / "at_risk_report.csv").write_text("pseudonym,display_name\npz-3,Cy\n")
    assert delete_reports(tmp_path, "S01", ["pz-1"]) == [tmp_path / "a" / "at_risk_report.csv"]
    assert (tmp_path / "b" / "at_risk_report.csv").is_file()


def test_exports_are_rewritten_without_the_students_rows(tmp_path):
    frame = pd.DataFrame({"cohort": ["c1", "c1", "c2", "c1"], "student_id": ["S01", "S02", "S01", None],
                          "source": ["x/S01/1.png", "x/S02/1.png", "y/S01/1.png", "x/S01/frame-note.png"]})
    frame.to_parquet(tmp_path / "images.parquet")
    pd.DataFrame({"pseudonym": ["pz-1", "pz-2"]}).to_parquet(tmp_path / "pseudonyms.parquet")
    assert scrub_exports(tmp_path, "S01", ["pz-1"], ["c1"]) == 3
    assert pd.read_parquet(tmp_path / "images.parquet")["source"].tolist() == ["x/S02/1.png", "y/S01/1.png"]
    assert pd.read_parquet(tmp_path / "pseudonyms.parquet")["pseudonym"].tolist() == ["pz-2"]


def test_crops_of_the_students_faces_are_deleted(tmp_path):
    crops = [("own.png", 0.0, 0), ("own.png", 0.0, 1), ("frame.jpg", 0.0, 0), ("frame.jpg", 0.0, 1),
             ("class.mp4", 2.0, 0), ("class.mp4", 4.0, 0), ("own.mp4", 6.0, 1)]
    for source, t, k in crops:
        (tmp_path / crop_name(source, k, t)).write_bytes(b"png")
    gone = [("own.png", None, None), ("frame.jpg", 0.0, 1), ("class.mp4", 4.0, 0), ("own.mp4", None, None)]
    assert delete_crops(tmp_path, gone) == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([crop_name("frame.jpg", 0, 0.0),
                                                               crop_name("class.mp4", 0, 2.0)])
    assert delete_crops(tmp_path / "absent", [("own.png", None, None)]) == 0


def test_input_examples_of_earlier_models_are_deleted(tmp_path):
    model = tmp_path / "models" / "m-1" / "artifacts"
    model.mkdir(parents=True)
    for name in ("input_example.json", "serving_input_example.json", "MLmodel", "model.skops"):
        (model / name).write_text("{}")
    assert delete_input_examples(tmp_path) == 2
    assert sorted(p.name for p in model.iterdir()) == ["MLmodel", "model.skops"]


def test_forgetting_in_one_cohort_leaves_the_other_cohorts_summaries(tmp_path):
    entry = {"path": "images/w1/S01/1.png", "reason": "corrupt"}
    summaries = {"run-bio.json": {"cohort": "bio"}, "run-chem.json": {"cohort": "chem"}, "run-older.json": {}}
    for name, head in summaries.items():
        (tmp_path / name).write_text(json.dumps({**head, "images": {"set_aside": [entry]}}))
    assert scrub_run_summaries(tmp_path, "S01", ["bio"]) == 2          # bio's, and the one without a cohort
    kept = {p.name: json.loads(p.read_text())["images"]["set_aside"] for p in tmp_path.glob("run-*.json")}
    assert kept == {"run-bio.json": [], "run-chem.json": [entry], "run-older.json": []}
