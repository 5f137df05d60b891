"""Real MLflow against a throwaway SQLite store: no server, no mocks."""
import shutil
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from academic.errors import NoChampionError, UnknownVersionError
from academic.features import LEARNING, LEARNING_ATTENDANCE, LEARNING_ATTENDANCE_AFFECT, fingerprint
from academic.models import MODEL_NAMES
from academic.promotion import Promotion
from academic.tracking import (CHAMPION_ALIAS, find_champion, find_experiment, load_champion, log_analysis, promote,
                               runs_page)

REGISTERED = "vadgrade-grade-test"


@pytest.fixture(scope="module")
def logged(class_study, class_champion, tmp_path_factory):
    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    champion = class_champion
    run = log_analysis(class_study.results, champion, tracking_uri=uri, artifact_location=root / "artifacts",
                       experiment="academic-test", cohort="synthetic-7",
                       data_fingerprint=fingerprint(class_study.frame), extractor_version="vad-r18-test",
                       registered_model_name=REGISTERED, importance_repeats=2,
                       champion_checks={"interval_coverage": 0.81, "flag_recall": 0.6, "flag_precision": 0.5},
                       promotion=Promotion(False, "it scores worse on the same folds", current_version="7"))
    return root, uri, run, champion


def test_parent_and_one_child_per_configuration(logged):
    _, uri, run, champion = logged
    client = MlflowClient(tracking_uri=uri)
    parent = client.get_run(run.parent_run_id)
    assert parent.data.tags["cohort"] == "synthetic-7"
    assert parent.data.tags["extractor_version"] == "vad-r18-test"
    assert parent.data.params["champion_model"] == champion.model
    assert {"p_one_sided_affect_xgboost", "p_two_sided_attendance_ridge", "mde_mse_affect_ridge",
            "mde_rmse_attendance_adaboost", "champion_mse_mean"} <= set(parent.data.metrics)
    assert parent.data.metrics["champion_interval_coverage"] == pytest.approx(0.81)
    assert {"champion_flag_recall", "champion_flag_precision", "champion_rmse_mean"} <= set(parent.data.metrics)

    children = client.search_runs([run.experiment_id],
                                  filter_string=f"tags.mlflow.parentRunId = '{run.parent_run_id}'")
    assert len(children) == len(MODEL_NAMES) * 3
    assert {c.data.tags["model"] for c in children} >= {"ridge"}
    assert {(c.data.tags["model"], c.data.tags["feature_set"]) for c in children} == set(run.child_run_ids)
    for child in children:
        assert child.data.tags["data_fingerprint"] == parent.data.tags["data_fingerprint"]
        assert {"mse_mean", "mse_std", "rmse_mean", "mae_mean", "r2_mean"} <= set(child.data.metrics)
        assert len(client.get_metric_history(child.info.run_id, "fold_mse")) == 5
        step_metrics = {"p_one_sided", "mse_reduction", "mde_mse", "mde_rmse"}
        if child.data.tags["feature_set"] in (LEARNING_ATTENDANCE, LEARNING_ATTENDANCE_AFFECT):
            assert step_metrics <= set(child.data.metrics)
        else:
            assert child.data.tags["feature_set"] == LEARNING and not step_metrics & set(child.data.metrics)


def test_the_dashboard_opens_on_the_runs_and_says_what_was_found(logged, class_study):
    root, uri, run, champion = logged
    client = MlflowClient(tracking_uri=uri)
    assert client.get_experiment(run.experiment_id).tags["mlflow.experimentKind"] == "custom_model_development"
    assert find_experiment(uri, "academic-test", root / "artifacts") == run.experiment_id
    assert find_experiment(uri, "academic-test", root / "elsewhere") is None
    assert runs_page(run.experiment_id) == f"#/experiments/{run.experiment_id}/runs?workflowType=machine_learning"

    parent = client.get_run(run.parent_run_id)
    note = parent.data.tags["mlflow.note.content"]
    assert note.startswith("**In short.** ") and f"on {champion.feature_set} predicts the final grade best" in note
    assert "Adding attendance" in note and "Adding affect" in note and "6 in 10" in note
    assert "stayed on version 7: it scores worse on the same folds" in note
    assert parent.data.tags["promotion"] == "kept"
    best = class_study.results.summary.set_index(["model", "feature_set"]).loc[(champion.model, champion.feature_set)]
    assert parent.data.metrics["champion_rmse_mean"] == pytest.approx(best["rmse_mean"])


def test_artifacts_include_charts_and_tables(logged):
    _, uri, run, _ = logged
    names = {a.path for a in MlflowClient(tracking_uri=uri).list_artifacts(run.parent_run_id)}
    assert {"ablation_chart.png", "predicted_vs_actual.png", "feature_importances.png",
            "feature_importances.csv", "cv_table.csv", "comparison.csv", "oof_predictions.csv"} <= names


def test_model_is_registered_and_alias_moves_only_on_promote(logged, class_study):
    _, uri, run, champion = logged
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    version = client.get_model_version(REGISTERED, run.model_version)
    assert version.tags["model"] == champion.model
    assert CHAMPION_ALIAS not in client.get_registered_model(REGISTERED).aliases

    assert find_champion(REGISTERED, tracking_uri=uri) is None
    assert promote(REGISTERED, run.model_version, tracking_uri=uri) is None      # nothing held it before
    assert str(client.get_model_version_by_alias(REGISTERED, CHAMPION_ALIAS).version) == run.model_version
    assert promote(REGISTERED, run.model_version, tracking_uri=uri) == run.model_version
    with pytest.raises(UnknownVersionError, match=f"has no version '99': versions are {run.model_version}"):
        promote(REGISTERED, "99", tracking_uri=uri)

    loaded = load_champion(REGISTERED, tracking_uri=uri)
    assert (loaded.model, loaded.feature_set) == (champion.model, champion.feature_set)
    assert loaded.pipeline.predict(champion.X) == pytest.approx(champion.pipeline.predict(champion.X))
    assert loaded.checks["interval_coverage"] == pytest.approx(0.81) and "rmse_mean" in loaded.checks
    assert mlflow.get_tracking_uri() != uri  # the global URI was restored


def test_nothing_logged_names_a_student(logged, class_study):
    root, _, _, _ = logged
    files = [p for p in Path(root).rglob("*") if p.is_file()]
    blob = b"".join(p.read_bytes() for p in files)  # artifacts, model files and the SQLite store
    assert any(p.name == "oof_predictions.csv" for p in files)
    assert class_study.results.oof["pseudonym"].iloc[0].encode() in blob  # the scan does see IDs
    leaked = [sid for sid in class_study.learning["student_id"] if sid.encode() in blob]
    assert leaked == []


def test_model_artifacts_hold_the_signature_but_no_student_rows(logged):
    root, _, run, _ = logged
    model_dir = root / "artifacts" / "models" / run.model_uri.removeprefix("models:/") / "artifacts"
    names = {p.name for p in model_dir.rglob("*") if p.is_file()}
    assert "MLmodel" in names and "signature" in (model_dir / "MLmodel").read_text()
    assert not {"input_example.json", "serving_input_example.json"} & names
    assert "saved_input_example_info" not in (model_dir / "MLmodel").read_text()


def _files(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def test_a_copied_store_writes_artifacts_into_its_own_home(class_study, class_champion, tmp_path):
    """MLflow stores the experiment's artifact location as an absolute path: a copy must not write into the original."""
    def log_into(home: Path):
        return log_analysis(class_study.results, class_champion, tracking_uri=f"sqlite:///{home / 'mlflow.db'}",
                            artifact_location=home / "artifacts", experiment="academic-test", cohort="synthetic-7",
                            data_fingerprint="f", extractor_version="v", registered_model_name=REGISTERED,
                            importance_repeats=1)
    original, copy = tmp_path / "original", tmp_path / "copy"
    log_into(original)
    shutil.copytree(original, copy)
    before = _files(original)
    run = log_into(copy)
    assert _files(original) == before
    assert (copy / "artifacts" / run.parent_run_id).is_dir()
    promote(REGISTERED, run.model_version, tracking_uri=f"sqlite:///{copy / 'mlflow.db'}")
    assert load_champion(REGISTERED, tracking_uri=f"sqlite:///{copy / 'mlflow.db'}").version == run.model_version


def test_loading_an_untrained_cohort_says_so(logged):
    _, uri, _, _ = logged
    with pytest.raises(NoChampionError, match="vadgrade-grade-nobody@champion"):
        load_champion("vadgrade-grade-nobody", tracking_uri=uri)
