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
