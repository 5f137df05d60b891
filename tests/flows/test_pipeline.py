"""The classroom pipeline end to end on a small generated cohort, re-runs and resume after a kill."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import mlflow

from affect.weights import read_info
from flows.pipeline import classroom_pipeline, ingest_images
from tests.flows.conftest import make_settings
from warehouse import read_roster
from warehouse.intake import apply_consent, discover

REPO = Path(__file__).resolve().parents[2]


def _count(db: Path, sql: str) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()[0][0]


def _expected_images(data_dir: Path) -> int:
    """Every consenting student's image and every frame: what must end up stored exactly once."""
    return len(apply_consent(discover(data_dir / "images"), read_roster(data_dir / "roster.csv")).images)


def test_pipeline_end_to_end_and_rerun_adds_nothing(small_cohort, tmp_path):
    settings = make_settings(tmp_path / "home", small_cohort)
    summary = classroom_pipeline(settings)
    images = summary["images"]
    reasons = {item["reason"] for item in images["set_aside"]}
    assert "no consent (not opened)" in reasons
    assert any(r.startswith("corrupt or truncated") for r in reasons)
    assert images["images_scored"] == _expected_images(small_cohort)
    assert images["faces_stored"] > 0.8 * images["images_scored"]
    db = settings.db_path
    # On this CPU the int8 network scored them, and the rows say so.
    assert images["extractor_version"] == read_info().int8["model_version"]
    assert _count(db, f"SELECT count(*) FROM images WHERE model_version <> '{images['extractor_version']}'") == 0
    stored = _count(db, "SELECT count(*) FROM face_observations")
    refused = read_roster(small_cohort / "roster.csv").query("not consent")["student_id"].tolist()
    assert _count(db, f"SELECT count(*) FROM images WHERE student_id = '{refused[0]}'") == 0
    assert _count(db, f"SELECT count(*) FROM face_observations WHERE student_id = '{refused[0]}'") == 0

    assert Path(summary["report"]["paths"]["html"]).is_file()
    runs = mlflow.MlflowClient(settings.mlflow_uri).search_runs(
        [mlflow.MlflowClient(settings.mlflow_uri).get_experiment_by_name("vadgrade-grades").experiment_id])
    assert len(runs) == 1 + 12       # parent + 4 models x 3 feature sets
    analysis = summary["analysis"]
    assert {(row["model"], row["added"]) for row in analysis["steps"]} == {
        (m, step) for m in ("ridge", "adaboost", "random_forest", "xgboost") for step in ("attendance", "affect")}
    assert all(row["mde_mse"] >= 0 for row in analysis["steps"])
    assert {"flag_recall", "flag_precision", "interval_coverage"} <= set(analysis["champion_checks"])
    assert analysis["promotion"] == {"action": "promoted", "champion_version": "1",
                                     "message": "promoted version 1: no version held the alias yet"}

    again = ingest_images(settings)
    assert again["images_scored"] == 0 and again["faces_stored"] == 0
    assert _count(db, "SELECT count(*) FROM face_observations") == stored
    # Every file is still found and counted, not only new ones (it used to read as none found).
    assert again["images_found"] == images["images_found"]
    assert again["images_already_stored"] >= images["images_scored"]


def test_killed_ingest_resumes_without_loss_or_double_counting(cohort_copy, tmp_path):
    env = {**os.environ, "VADGRADE_HOME": str(tmp_path / "home"), "VADGRADE_DATA_DIR": str(cohort_copy),
           "VADGRADE_COHORT": "test-cohort", "VADGRADE_FLOWS__IMAGES_PER_TASK": "6",
           "VADGRADE_AFFECT__NUM_WORKERS": "0", "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    proc = subprocess.Popen([sys.executable, "-m", "flows.cli", "ingest"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if "stored chunk" in line:
            os.killpg(proc.pid, signal.SIGKILL)          # mid-run: later chunks are not stored yet
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "".join(seen[-20:])
    settings = make_settings(tmp_path / "home", cohort_copy, images_per_task=6)
    partial = _count(settings.db_path, "SELECT count(*) FROM images")
    expected = _expected_images(cohort_copy)
    assert 0 < partial < expected
    resumed = ingest_images(settings)
    assert resumed["images_scored"] == expected - partial
    assert _count(settings.db_path, "SELECT count(*) FROM images") == expected
    assert _count(settings.db_path, "SELECT count(DISTINCT content_hash) FROM images") == expected


def test_two_cohorts_with_identical_images_are_each_stored(small_cohort, tmp_path):
    """Defect: the second cohort's copy of an image was skipped (0 faces, no reason given)."""
    from flows.pipeline import load_reference_data
    first = make_settings(tmp_path / "home", small_cohort)
    second = first.model_copy(update={"cohort": "second-cohort"})
    counts = []
    for settings in (first, second):
        load_reference_data(settings)
        counts.append(ingest_images(settings))
    assert counts[1]["images_scored"] == counts[0]["images_scored"] > 0
    assert counts[1]["faces_stored"] == counts[0]["faces_stored"]
    per_cohort = _count(first.db_path, "SELECT count(DISTINCT cohort) FROM face_observations")
    assert per_cohort == 2


def test_video_sessions_store_timed_faces_once(cohort_copy, tmp_path):
    """A student's own clip and a classroom camera's video, beside the photos of both layouts."""
    import cv2
    from tests.affect.media import clip, write_video
    roster = read_roster(cohort_copy / "roster.csv")
    student = roster.loc[roster["consent"], "student_id"].iloc[0]
    own = clip(cohort_copy / "images" / "session-01" / student / "webcam.mp4", seconds_with_face=4.0, seconds=6.0)
    frame_dir = sorted(p.parent for p in (cohort_copy / "images").rglob("cam1.jpg"))[0]
    still = cv2.imread(str(frame_dir / "cam1.jpg"))
    write_video(frame_dir / "cam1_0930.mp4", [still] * 25, fps=5.0)          # 5 s of the same class
    settings = make_settings(tmp_path / "home", cohort_copy)
    from flows.pipeline import load_reference_data
    load_reference_data(settings)
    summary = ingest_images(settings)
    assert not [p for p in summary["set_aside"] if p["path"].endswith(".mp4")], summary["set_aside"]
    with duckdb.connect(str(settings.db_path), read_only=True) as con:
        times = dict(con.execute(
            "SELECT i.source, list(DISTINCT f.frame_time_s ORDER BY f.frame_time_s) FROM face_observations f "
            "JOIN images i USING (cohort, content_hash, model_version) WHERE i.source LIKE '%.mp4' GROUP BY ALL"
        ).fetchall())
    assert times[str(own)] == [0.0, 2.0]                     # the face shows for 4 s, sampled every 2 s
    assert times[str(frame_dir / "cam1_0930.mp4")] == [0.0, 2.0, 4.0]
    stored = _count(settings.db_path, "SELECT count(*) FROM face_observations")
    again = ingest_images(settings)
    assert again["images_scored"] == 0 and _count(settings.db_path, "SELECT count(*) FROM face_observations") == stored
