"""Real MLflow against a throwaway SQLite store: no server, no mocks."""
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from academic.features import LEARNING, LEARNING_ATTENDANCE, LEARNING_ATTENDANCE_AFFECT, fingerprint
from academic.models import MODEL_NAMES
from academic.tracking import CHAMPION_ALIAS, load_champion, log_analysis, promote

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
                       champion_checks={"interval_coverage": 0.81, "flag_recall": 0.6, "flag_precision": 0.5})
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
    assert {"champion_flag_recall", "champion_flag_precision"} <= set(parent.data.metrics)

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

    promote(REGISTERED, run.model_version, tracking_uri=uri)
    assert str(client.get_model_version_by_alias(REGISTERED, CHAMPION_ALIAS).version) == run.model_version

    loaded = load_champion(REGISTERED, tracking_uri=uri)
    assert (loaded.model, loaded.feature_set) == (champion.model, champion.feature_set)
    assert loaded.pipeline.predict(champion.X) == pytest.approx(champion.pipeline.predict(champion.X))
    assert mlflow.get_tracking_uri() != uri  # the global URI was restored


def test_nothing_logged_names_a_student(logged, class_study):
    root, _, _, _ = logged
    files = [p for p in Path(root).rglob("*") if p.is_file()]
    blob = b"".join(p.read_bytes() for p in files)  # artifacts, model files and the SQLite store
    assert any(p.name == "oof_predictions.csv" for p in files)
    assert class_study.results.oof["pseudonym"].iloc[0].encode() in blob  # the scan does see IDs
    leaked = [sid for sid in class_study.learning["student_id"] if sid.encode() in blob]
    assert leaked == []

