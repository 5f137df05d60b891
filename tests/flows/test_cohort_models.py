"""Each cohort trains, promotes and reports with its own registered model (issue 12, defect 2)."""
from __future__ import annotations

from mlflow.tracking import MlflowClient

from academic.tracking import CHAMPION_ALIAS
from flows.pipeline import build_aggregates, load_reference_data, train_and_evaluate, write_report
from flows.settings import AcademicSettings, Settings
from tests.flows.conftest import make_settings


def test_registered_model_name_is_per_cohort_and_valid_for_mlflow(tmp_path):
    def name(cohort: str) -> str:
        return Settings(home=tmp_path, cohort=cohort).registered_model_name
    assert name("demo") == "vadgrade-grade-demo"
    assert name("math/101:a") != name("math:101/a")            # sanitised, yet still apart
    assert not set("/:") & set(name("math/101:a"))


def test_two_cohorts_in_one_store_never_share_a_model(small_cohort, tmp_path):
    first = make_settings(tmp_path / "home", small_cohort).model_copy(
        update={"cohort": "class-a", "academic": AcademicSettings(n_splits=3, n_repeats=1)})
    second = first.model_copy(update={"cohort": "class-b"})
    for settings in (first, second):
        load_reference_data(settings)
        build_aggregates(settings)
    trained = [train_and_evaluate(settings) for settings in (first, second)]

    client = MlflowClient(tracking_uri=first.mlflow_uri, registry_uri=first.mlflow_uri)
    for settings, result in zip((first, second), trained):
        champion = client.get_model_version_by_alias(settings.registered_model_name, CHAMPION_ALIAS)
        assert str(champion.version) == result["registered_version"] == "1"   # class-b did not move class-a's alias
        assert client.get_run(champion.run_id).data.tags["cohort"] == settings.cohort
    html = open(write_report(first)["paths"]["html"], encoding="utf-8").read()
    assert f"{first.registered_model_name} v1 " in html


def test_a_worse_model_does_not_take_the_alias_until_promoted_by_hand(small_cohort, tmp_path, monkeypatch):
    """Issue 13: the alias moves only when the new champion beats the current one on the same
    folds, or on `vadgrade promote VERSION`."""
    from functools import partial

    from typer.testing import CliRunner

    import flows.pipeline
    from academic.evaluate import evaluate
    from academic.models import MODEL_NAMES
    from flows.cli import app

    settings = make_settings(tmp_path / "home", small_cohort).model_copy(
        update={"academic": AcademicSettings(n_splits=3, n_repeats=1)})
    load_reference_data(settings)
    build_aggregates(settings)
    first = train_and_evaluate(settings)
    assert first["promotion"]["action"] == "promoted"
    # Same data and folds, but without the champion's model family: today's best is worse.
    others = [m for m in MODEL_NAMES if f"{m} /" not in first["champion"]]
    monkeypatch.setattr(flows.pipeline, "evaluate", partial(evaluate, models=others))
    second = train_and_evaluate(settings)

    client = MlflowClient(tracking_uri=settings.mlflow_uri, registry_uri=settings.mlflow_uri)
    name = settings.registered_model_name
    assert second["registered_version"] == "2"
    assert str(client.get_model_version_by_alias(name, CHAMPION_ALIAS).version) == "1"
    assert second["promotion"]["action"] == "kept" and second["promotion"]["champion_version"] == "1"
    assert second["promotion"]["message"].startswith("kept version 1 because on the same 3 folds")
    assert client.get_run(second["parent_run_id"]).data.tags["promotion"] == "kept"

    monkeypatch.setenv("VADGRADE_HOME", str(settings.home))
    moved = CliRunner().invoke(app, ["promote", "2", "--cohort", settings.cohort])
    assert moved.exit_code == 0, moved.output
    assert "version 1 -> 2" in moved.output
    assert str(client.get_model_version_by_alias(name, CHAMPION_ALIAS).version) == "2"
    missing = CliRunner().invoke(app, ["promote", "9", "--cohort", settings.cohort])
    assert missing.exit_code == 2 and "has no version '9'" in missing.output and "Traceback" not in missing.output
