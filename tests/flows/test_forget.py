"""`vadgrade forget`: erasure from the CLI, and an intake afterwards that keeps the student out.

No flow runs here: the CLI command and the intake tasks' plain functions (`.fn`) are
called on a tiny cohort, so these tests need no Prefect server.
"""
from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
from PIL import Image
from typer.testing import CliRunner

import warehouse
from flows.cli import app
from flows.pipeline import load_reference_task, plan_task
from tests.flows.conftest import make_settings
from warehouse.erase import ERASED_TABLES
from warehouse.intake import ERASED_REASON

TESTS = ",".join(f"test_{n:02d}" for n in range(1, 13))


@pytest.fixture(scope="module", autouse=True)
def prefect_harness():
    """Overrides the package's session harness: nothing here runs a flow."""
    yield


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """Two consenting students, one session, one image each."""
    root = tmp_path / "data"
    root.mkdir()
    (root / "roster.csv").write_text("student_id,consent,display_name\ns01,yes,Ada\ns02,yes,Bo\n")
    (root / "sessions.csv").write_text("session_id,held_on\nw1,2025-09-01\n")
    scores = ",".join(["70"] * 12)
    (root / "gradebook.csv").write_text(f"student_id,gpa,{TESTS},final_grade\ns01,3.0,{scores},71\ns02,2.5,{scores},\n")
    for shade, student in ((40, "s01"), (200, "s02")):
        folder = root / "images" / "w1" / student
        folder.mkdir(parents=True)
        Image.new("L", (48, 48), shade).save(folder / "a.png")
    return root


@pytest.fixture
def home(tmp_path: Path, data_dir: Path, monkeypatch) -> Path:
    """A store holding the cohort's reference data; the CLI is pointed at it."""
    home = tmp_path / "home"
    load_reference_task.fn(make_settings(home, data_dir))
    monkeypatch.setenv("VADGRADE_HOME", str(home))
    monkeypatch.setenv("VADGRADE_DATA_DIR", str(data_dir))
    return home


def _students(home: Path) -> list[str]:
    with duckdb.connect(str(home / "vadgrade.duckdb"), read_only=True) as con:
        return [row[0] for row in con.execute("SELECT student_id FROM students ORDER BY ALL").fetchall()]


def test_forget_asks_first_and_prints_rows_deleted(home: Path) -> None:
    result = CliRunner().invoke(app, ["forget", "s01"], input="n\n")
    assert result.exit_code == 1, result.output
    assert "test-cohort" in result.output and "nothing erased" in result.output
    assert _students(home) == ["s01", "s02"]

    result = CliRunner().invoke(app, ["forget", "s01"], input="y\n")
    assert result.exit_code == 0, result.output
    for table in ERASED_TABLES:
        assert table in result.output
    assert re.search(r"test_scores\s*│\s*12 │", result.output) and re.search(r"total\s*│\s*14 │", result.output)
    assert _students(home) == ["s02"]
    assert b"Ada" not in (home / "vadgrade.duckdb").read_bytes()     # the file was rewritten


def test_forget_errors_are_messages_not_tracebacks(home: Path) -> None:
    for argv, message in ((["forget", "s77", "--yes"], "'s77' is not stored in any cohort"),
                          (["forget", "s01", "--cohort", "other", "--yes"], "not stored in cohort 'other'")):
        result = CliRunner().invoke(app, argv)
        assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert CliRunner().invoke(app, ["forget", "s01", "--yes"]).exit_code == 0
    again = CliRunner().invoke(app, ["forget", "s01", "--yes"])
    assert again.exit_code == 2 and "already erased" in again.output and "Traceback" not in again.output
    assert _students(home) == ["s02"]


def test_forget_without_a_store_creates_none(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("VADGRADE_HOME", str(tmp_path / "empty"))
    result = CliRunner().invoke(app, ["forget", "s01", "--yes"])
    assert result.exit_code == 2 and "no store" in result.output
    assert not (tmp_path / "empty").exists()


def test_intake_after_erasure_skips_the_student_without_opening_images(home: Path, data_dir: Path) -> None:
    settings = make_settings(home, data_dir)
    assert sorted(plan_task.fn(settings).todo["student_id"]) == ["s01", "s02"]

    con = warehouse.connect(settings.db_path)
    warehouse.forget_student(con, "s01")
    con.close()

    reference = load_reference_task.fn(settings)               # roster.csv still lists s01 with consent
    assert reference["students"] == 1 and reference["students_erased_skipped"] == 1
    assert reference["graded_rows"] == 1
    assert _students(home) == ["s02"]
    plan = plan_task.fn(settings)
    assert plan.todo["student_id"].tolist() == ["s02"]
    assert [item["reason"] for item in plan.set_aside] == [ERASED_REASON]
