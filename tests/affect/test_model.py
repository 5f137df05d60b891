"""The network and its shipped weights."""
from __future__ import annotations

import pytest
import torch

from affect.model import build_vad_resnet18
from affect.weights import ModelInfo, export_weights, load_model


def test_heads_shapes_and_bounds():
    model = build_vad_resnet18().eval()
    vad, logits = model(torch.randn(4, 1, 64, 64) * 5)
    assert vad.shape == (4, 3) and logits.shape == (4, 8)
    assert vad.abs().max() <= 1


def test_fer2013_head_is_optional_and_survives_export(tmp_path):
    plain = build_vad_resnet18().eval()
    assert plain(torch.randn(2, 1, 64, 64), with_fer2013=True)[2] is None
    model = build_vad_resnet18(fer2013_head=True).eval()
    x = torch.randn(2, 1, 64, 64)
    with torch.inference_mode():
        vad, logits, fer = model(x, with_fer2013=True)
        assert fer.shape == (2, 7) and len(model(x)) == 2   # the product's forward is unchanged
    export_weights(model, ModelInfo(model_version="", input_size=64, small_input=False, fer2013_head=True), tmp_path)
    loaded, info = load_model(tmp_path)
    assert info.fer2013_head
    with torch.inference_mode():
        torch.testing.assert_close(loaded(x, with_fer2013=True)[2], fer, atol=0.05, rtol=0.05)


def test_warm_start_adds_a_fresh_fer2013_head_but_rejects_other_shapes(tmp_path):
    from affect.train import warm_start
    torch.save(build_vad_resnet18().state_dict(), tmp_path / "plain.pt")
    warm_start(build_vad_resnet18(fer2013_head=True), str(tmp_path / "plain.pt"))
    with pytest.raises(ValueError, match="do not fit"):
        warm_start(build_vad_resnet18(num_expressions=7), str(tmp_path / "plain.pt"))


def test_export_roundtrip_fp16(tmp_path):
    model = build_vad_resnet18().eval()
    export_weights(model, ModelInfo(model_version="", input_size=48, small_input=False), tmp_path)
    loaded, info = load_model(tmp_path)
    assert info.model_version.startswith("vad-resnet18-48px-")
    x = torch.randn(2, 1, 48, 48)
    with torch.inference_mode():
        torch.testing.assert_close(loaded(x)[1], model(x)[1], atol=0.05, rtol=0.05)


def test_shipped_weights_load_without_network():
    model, info = load_model(device="auto")      # auto: cuda when present, else cpu
    assert info.input_size > 0 and len(info.expressions) == 8
    assert info.metrics, "the shipped weights carry their evaluation figures"
