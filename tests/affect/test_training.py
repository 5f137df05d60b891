"""A tiny real training run: losses fall, checkpoints resume, weights export, MLflow logs."""
from __future__ import annotations

import mlflow
import torch

from affect.evaluate import evaluate_extractor
from affect.train import TrainConfig, main
from affect.weights import read_info
from tests.conftest import shared_file


def test_train_resume_export_and_evaluate(ferplus_small, tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    labels = shared_file("fer2013_original_labels.csv")
    cfg = TrainConfig(data=str(ferplus_small), out_dir=str(tmp_path / "run"), input_size=32, epochs=1,
                      batch_size=32, num_workers=0, max_train_images=128, mlflow_tracking_uri=uri,
                      export_dir=str(tmp_path / "export"), warmup_epochs=0.5, fer2013_labels=str(labels))
    first = main(cfg)
    assert first["finished"] and first["epoch"] == 0
    cfg.epochs = 2                                   # same run, one more epoch: resumes at epoch 1
    second = main(cfg)
    assert [h["epoch"] for h in second["history"]] == [0, 1]
    assert second["mlflow_run_id"] == first["mlflow_run_id"]
    ckpt = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=False)
    assert set(ckpt) >= {"model", "optimizer", "lr_scheduler", "state", "config"}
    run = mlflow.MlflowClient(uri).get_run(first["mlflow_run_id"])
    assert {"val_accuracy", "val_fer2013_accuracy", "fer2013_loss"} <= set(run.data.metrics)
    assert run.data.params["consistency_weight"] == "0.1"
    logged = {a.path for a in mlflow.MlflowClient(uri).list_artifacts(first["mlflow_run_id"])}
    assert {"validation_best.json", "validation_confusion.png"} <= logged
    report = evaluate_extractor(ferplus_small, weights_dir=tmp_path / "export", fer2013_labels_csv=labels,
                                out_json=tmp_path / "eval.json")
    assert report["ferplus_majority"]["n"] > 200 and report["fer2013_original"]["n"] >= 295
    # the exported model carries the FER2013 head; the FERPlus head's 7-class view is scored beside it
    assert read_info(tmp_path / "export").fer2013_head
    assert report["fer2013_original_ferplus_head"]["n"] == report["fer2013_original"]["n"]
    assert len(report["ferplus_majority"]["confusion_matrix"]) == 8
    assert (tmp_path / "eval.json").is_file()


def test_training_without_mlflow_keeps_figures_in_checkpoint_and_export(ferplus_small, tmp_path):
    """--no-mlflow (a training box without MLflow): nothing is tracked, nothing is lost."""
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    cfg = TrainConfig(data=str(ferplus_small), out_dir=str(tmp_path / "run"), input_size=32, epochs=1,
                      batch_size=32, num_workers=0, max_train_images=64, mlflow_tracking_uri=uri,
                      export_dir=str(tmp_path / "export"), track_mlflow=False)
    result = main(cfg)
    assert result["finished"] and result["mlflow_run_id"] is None
    assert not (tmp_path / "mlflow.db").exists()
    assert "val_accuracy" in result["history"][0]
    assert read_info(tmp_path / "export").metrics["valid"]["accuracy"] >= 0
