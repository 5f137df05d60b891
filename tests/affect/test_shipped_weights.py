"""The shipped weights, and their int8 CPU network, reproduce on FERPlus test the figures their metadata and model card state."""
from __future__ import annotations

import pytest

from affect.evaluate import evaluate_extractor, flat_metrics
from affect.weights import read_info
from tests.conftest import extract_ferplus_subset, shared_file


@pytest.fixture(scope="module")
def ferplus_test(tmp_path_factory):
    return extract_ferplus_subset(tmp_path_factory.mktemp("ferplus_test"), None, splits=("FER2013Test",))


def test_shipped_weights_reproduce_their_recorded_test_figures(ferplus_test):
    recorded = read_info().metrics.get("test")
    assert recorded, "record the test figures with `vadgrade evaluate-extractor --record`"
    report = evaluate_extractor(ferplus_test, fer2013_labels_csv=shared_file("fer2013_original_labels.csv"),
                                tta_flip=recorded["tta_flip"])
    measured = flat_metrics(report)
    assert report["ferplus_majority"]["n"] == recorded["n"] == 3137    # the official majority-label images
    # bf16 and fp32 inference may flip a handful of borderline faces, not more
    for key in ("accuracy", "fer2013_accuracy", "valence_ccc", "arousal_ccc", "dominance_ccc"):
        assert measured[key] == pytest.approx(recorded[key], abs=0.004), key


def test_shipped_int8_copy_reproduces_its_recorded_figures_on_the_product_path(ferplus_test):
    recorded = read_info().int8.get("metrics", {}).get("test")
    assert recorded, "record them with `vadgrade evaluate-extractor --backend int8 --no-tta-flip --record`"
    report = evaluate_extractor(ferplus_test, fer2013_labels_csv=shared_file("fer2013_original_labels.csv"),
                                tta_flip=recorded["tta_flip"], backend="int8")
    measured = flat_metrics(report)
    assert report["model_version"] == read_info().int8["model_version"]
    assert not recorded["tta_flip"] and measured["accuracy"] >= 0.875    # the fast path keeps the product's bar
    for key in ("accuracy", "fer2013_accuracy", "valence_ccc", "arousal_ccc", "dominance_ccc"):
        assert measured[key] == pytest.approx(recorded[key], abs=0.002), key
