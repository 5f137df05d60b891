"""The compact student: resumable distillation, export as the CPU network, and its face output
deciding which crops are faces (affect.distil)."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

import affect
from affect.data import background_patches, load_split, read_wider, wider_halves
from affect.distil import CHECKPOINT, DistilConfig, distil, export_student
from affect.int8 import Int8Network
from affect.network import load_network
from affect.schema import STATUS_NO_FACE, STATUS_OK
from affect.weights import default_weights_dir, read_info
from tests.conftest import SHARED_DATA, shared_file


@pytest.fixture(scope="module")
def wider_patches():
    shared_file("wider_dev/wider_dev_bbx_gt.txt")
    root = SHARED_DATA / "wider_dev"
    photos = read_wider(root)
    train_half, held_out = wider_halves(photos)
    assert not set(train_half) & set(held_out) and len(train_half) + len(held_out) == len(photos)
    return {"train": background_patches(root, photos, train_half[:6], 64, np.random.default_rng(0)),
            "held_out": background_patches(root, photos, held_out[:6], 64, np.random.default_rng(0))}


def test_distillation_resumes_and_exports_a_cpu_network_with_a_face_output(ferplus_small, wider_patches, tmp_path):
    train, valid = load_split(ferplus_small, "train"), load_split(ferplus_small, "valid")
    teacher = load_network(backend="torch")
    cfg = DistilConfig(epochs=2, batch_size=64, negatives_per_batch=16, time_limit_min=1e-6)
    paused = distil(teacher, train, wider_patches["train"], valid, tmp_path / "run", cfg)
    assert not paused["finished"] and paused["epochs_run"] == 1 and (tmp_path / "run" / CHECKPOINT).is_file()
    done = distil(teacher, train, wider_patches["train"], valid, tmp_path / "run",
                  DistilConfig(**{**cfg.__dict__, "time_limit_min": None}))
    assert done["finished"] and [h["epoch"] for h in done["history"]] == [1, 2]

    weights = tmp_path / "weights"
    shutil.copytree(default_weights_dir(), weights)
    info = export_student(tmp_path / "run" / "student.pt", train.images[:64], valid.images, weights)
    assert info.int8["model_version"].startswith(f"{info.model_version}-student-int8-")
    assert read_info(weights).int8 == info.int8 and info.int8["metrics"] == {}
    network = load_network(weights, "cpu")
    assert isinstance(network, Int8Network) and network.face_threshold == info.int8["face_threshold"]
    vad, probs, fer, face = network.predict(valid.images[:8], with_fer2013=True, with_face=True)
    assert [a.shape for a in (vad, probs, fer, face)] == [(8, 3), (8, 8), (8, 7), (8,)]
    np.testing.assert_allclose(probs.sum(1), 1, atol=1e-4)

    # The threshold lets through all but FACE_PASS_QUANTILE of the validation faces it was set on,
    # and each crop's row follows its own face probability.
    rows = affect.extract(list(valid.images), model=network, batch_size=64)
    face = network.predict(valid.images, with_face=True)[-1]
    assert (rows.status == STATUS_OK).tolist() == (face >= network.face_threshold).tolist()
    assert (rows.status == STATUS_OK).mean() >= 0.99
    assert np.allclose(rows.det_score[rows.status == STATUS_OK], face[face >= network.face_threshold], atol=1e-6)


def test_the_shipped_student_turns_away_background_and_keeps_faces(test_faces_small, wider_patches, tmp_path):
    network = load_network(None, "cpu")
    if network.face_threshold is None:
        pytest.skip("the shipped CPU network has no face output")
    patches = list(wider_patches["held_out"])
    rows = affect.extract(list(test_faces_small.images) + patches, model=network, crops_dir=tmp_path / "crops")
    faces, background = rows.iloc[:len(test_faces_small.images)], rows.iloc[len(test_faces_small.images):]
    assert (faces.status == STATUS_OK).mean() >= 0.99
    assert (background.status == STATUS_NO_FACE).mean() >= 0.75
    rejected = background[background.status == STATUS_NO_FACE]
    assert rejected.reason.str.contains("face score|flat|noise").all() and rejected.valence.isna().all()
    assert rejected.reason.str.contains("face score").mean() > 0.5        # most are turned away by the face output
    assert (rejected.face_idx == -1).all() and rejected.box_x.isna().all()
    # only the faces' crops are kept when crops are kept
    assert len(list((tmp_path / "crops").glob("*.png"))) == int((rows.status == STATUS_OK).sum())


@pytest.fixture(scope="module")
def test_faces_small(ferplus_small):
    return load_split(ferplus_small, "test")
