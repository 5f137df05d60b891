"""The CPU fast path: the weights' int8 network (the distilled student, or a quantised copy
of the network) scores like the torch network, is chosen on CPUs, and refuses damage."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

import affect
from affect.data import load_split
from affect.int8 import INT8_FILE, Int8Error, Int8Network, int8_path, quantise
from affect.network import TorchNetwork, load_network, network_version, resolve_backend
from affect.schema import STATUS_OK
from affect.weights import default_weights_dir, read_info


@pytest.fixture(scope="module")
def test_faces(ferplus_small):
    return load_split(ferplus_small, "test", keep_all=True)


@pytest.fixture
def weights_copy(tmp_path):
    """The shipped weights folder, copied so that it can be changed."""
    shutil.copytree(default_weights_dir(), tmp_path / "weights")
    return tmp_path / "weights"


def test_the_cpu_network_agrees_with_the_torch_network(test_faces):
    torch_vad, torch_probs = load_network(backend="torch").predict(test_faces.images)
    int8_vad, int8_probs = Int8Network().predict(test_faces.images)
    assert (int8_probs.argmax(1) == torch_probs.argmax(1)).mean() >= 0.85
    # The student's own V/A/D accuracy is checked against the votes in test_shipped_weights
    # (CCC 0.93-0.94); here only that it tracks its teacher (0.077 apart on these crops).
    assert np.abs(int8_vad - torch_vad).mean() < 0.1
    np.testing.assert_allclose(int8_probs.sum(1), 1, atol=1e-4)
    flipped = Int8Network().predict(test_faces.images[:8], tta_flip=True, with_fer2013=True)
    assert [a.shape for a in flipped] == [(8, 3), (8, 8), (8, 7)]


def test_auto_picks_the_int8_copy_on_a_cpu_only_when_the_weights_have_one(weights_copy):
    assert resolve_backend("auto", "cpu") == "int8" and resolve_backend("torch", "cpu") == "torch"
    assert network_version(None, "cpu") == read_info().int8["model_version"] != read_info().model_version
    assert network_version(None, "cpu", "torch") == read_info().model_version
    with pytest.raises(Int8Error, match="CPU only"):
        resolve_backend("int8", "cuda")
    int8_path(weights_copy).unlink()
    assert resolve_backend("auto", "cpu", weights_copy) == "torch"
    assert isinstance(load_network(weights_copy, "cpu"), TorchNetwork)
    with pytest.raises(Int8Error, match="quantise-extractor"):
        load_network(weights_copy, "cpu", "int8")


def test_a_damaged_int8_copy_is_refused_not_used(weights_copy):
    path = int8_path(weights_copy)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(Int8Error, match="SHA-256"):
        load_network(weights_copy, "cpu")


def test_rows_carry_the_version_of_the_network_that_scored_them(test_faces):
    crops = list(test_faces.images[:6])
    fast = affect.extract(crops)
    exact = affect.extract(crops, backend="torch")
    assert set(fast.model_version) == {read_info().int8["model_version"]}
    assert set(exact.model_version) == {read_info().model_version}
    ok = (fast.status == STATUS_OK) & (exact.status == STATUS_OK)
    assert ok.sum() >= 5
    assert (fast.expression[ok] == exact.expression[ok]).mean() >= 0.8


def test_quantise_writes_a_copy_that_loads_and_scores_like_torch(weights_copy, test_faces, ferplus_small):
    replaced = int8_path(weights_copy)                 # the shipped CPU network (the student)
    made = quantise(load_split(ferplus_small, "train").images[:64], weights_copy)
    assert made.int8["file"] == INT8_FILE and int8_path(weights_copy) == weights_copy / INT8_FILE
    assert replaced == int8_path(weights_copy) or not replaced.exists()   # no stale network left beside
    assert made.int8["model_version"].startswith(f"{made.model_version}-int8-")
    assert made.int8["calibration_crops"] == 64 and made.int8["metrics"] == {}
    assert read_info(weights_copy).int8 == made.int8
    torch_probs = load_network(weights_copy, "cpu", "torch").predict(test_faces.images)[1]
    copy = load_network(weights_copy, "cpu")
    assert copy.face_threshold is None            # a copy of the network has no face output: YuNet checks crops
    int8_probs = copy.predict(test_faces.images)[1]
    assert (int8_probs.argmax(1) == torch_probs.argmax(1)).mean() >= 0.95
