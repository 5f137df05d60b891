"""The network and its shipped weights."""
from __future__ import annotations

import torch

from affect.model import build_vad_resnet18
from affect.weights import ModelInfo, export_weights, load_model


def test_heads_shapes_and_bounds():
    model = build_vad_resnet18().eval()
    vad, logits = model(torch.randn(4, 1, 64, 64) * 5)
    assert vad.shape == (4, 3) and logits.shape == (4, 8)
    assert vad.abs().max() <= 1


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
