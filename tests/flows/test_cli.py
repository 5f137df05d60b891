"""CLI: bad input ends in one clear message and exit code 2; the deployment's schedule."""
from __future__ import annotations

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from flows.cli import app
from flows.deployments import pipeline_deployment
from flows.settings import FlowSettings, Settings


def test_bad_gradebook_lists_rows_without_traceback(cohort_copy, tmp_path, monkeypatch):
    book = cohort_copy / "gradebook.csv"
    lines = book.read_text().splitlines()
    cells = lines[2].split(",")
    cells[1] = "lots"                       # gpa not a number
    lines[2] = ",".join(cells)
    lines.append(lines[3])                  # duplicate student
    book.write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("VADGRADE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("VADGRADE_DATA_DIR", str(cohort_copy))
    result = CliRunner().invoke(app, ["ingest"])
    assert result.exit_code == 2, result.output
    assert "line 3" in result.output and "duplicate" in result.output.lower()
    assert "Traceback" not in result.output
    assert not (tmp_path / "home" / "vadgrade.duckdb").exists()     # validation precedes any write


def test_extract_command_writes_rows_for_every_file(small_cohort, tmp_path):
    files = sorted((small_cohort / "images").rglob("*.png"))[:5]
    out = tmp_path / "faces.parquet"
    result = CliRunner().invoke(app, ["extract", *map(str, files), "--out", str(out)])
    assert result.exit_code == 0, result.output
    import pandas as pd
    assert pd.read_parquet(out)["source"].nunique() == 5


def test_extract_command_gives_timed_rows_for_a_video_found_in_a_folder(tmp_path):
    import pandas as pd

    from tests.affect.media import clip
    (tmp_path / "clips").mkdir()
    clip(tmp_path / "clips" / "lesson.mp4", seconds=5)                  # a face for the first 4 s
    out = tmp_path / "faces.csv"
    result = CliRunner().invoke(app, ["extract", str(tmp_path / "clips"), "--out", str(out), "--num-workers", "0",
                                      "--frame-interval-s", "2"])
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out)
    assert rows["frame_time_s"].tolist() == [0.0, 2.0, 4.0] and set(rows["status"]) == {"ok", "no_face"}


def test_extract_refuses_an_unknown_output_suffix_before_scoring(tmp_path, monkeypatch):
    import affect
    monkeypatch.setattr(affect, "extract", lambda *a, **k: pytest.fail("scored before checking --out"), raising=False)
    result = CliRunner().invoke(app, ["extract", str(tmp_path), "--out", str(tmp_path / "faces.txt")])
    assert result.exit_code == 2 and ".csv or .parquet" in result.output


def test_deployment_uses_configured_cron():
    deployment = pipeline_deployment(Settings(flows=FlowSettings(cron="30 7 * * 2")))
    assert deployment.schedules[0].schedule.cron == "30 7 * * 2"
    assert deployment.name == "vadgrade-weekly"
    with pytest.raises(ValidationError, match="5 fields"):
        FlowSettings(cron="weekly")


def test_settings_from_toml_and_env(tmp_path, monkeypatch):
    toml = tmp_path / "vadgrade.toml"
    toml.write_text('cohort = "from-file"\n[academic]\npass_mark = 40\n')
    monkeypatch.setenv("VADGRADE_CONFIG", str(toml))
    monkeypatch.setenv("VADGRADE_ACADEMIC__PASS_MARK", "55")
    settings = Settings()
    assert settings.cohort == "from-file" and settings.academic.pass_mark == 55


def test_vadgrade_turns_mlflow_telemetry_off_before_mlflow_starts(tmp_path):
    """MLflow starts its telemetry client when first imported; `vadgrade ui`'s server inherits the setting."""
    import os
    import subprocess
    import sys
    from pathlib import Path
    repo = Path(__file__).resolve().parents[2]
    # As outside pytest and CI, where MLflow would otherwise send usage data.
    env = {k: v for k, v in os.environ.items()
           if k not in {"MLFLOW_DISABLE_TELEMETRY", "DO_NOT_TRACK", "PYTEST_CURRENT_TEST", "CI", "GITHUB_ACTIONS"}}
    code = ("import os, flows.cli, mlflow; from mlflow.telemetry import get_telemetry_client; "
            "print(os.environ['MLFLOW_DISABLE_TELEMETRY'], get_telemetry_client())")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env={**env, "PYTHONPATH": str(repo)},
                         capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["true", "None"], out.stderr
