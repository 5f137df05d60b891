"""Shipped weights: save a trained network as fp16 + metadata, load it back with no network."""
from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import torch

from affect.model import VadExpressionNet, build_vad_resnet18
from affect.predict import resolve_device
from affect.schema import EXPRESSIONS

WEIGHTS_FILE = "vad_resnet18.pt"
META_FILE = "vad_resnet18.json"


@dataclass
class ModelInfo:
    """What a weights file needs to be rebuilt and reported."""

    model_version: str
    input_size: int
    small_input: bool
    fer2013_head: bool = False    # a third head scores the 7 original FER2013 labels
    expressions: list[str] = field(default_factory=lambda: list(EXPRESSIONS))
    metrics: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    int8: dict = field(default_factory=dict)   # the int8 CPU network (affect.int8, affect.distil): file, sha256, model_version, metrics


def default_weights_dir() -> Path:
    return Path(str(resources.files("affect") / "weights"))


def export_weights(model: VadExpressionNet, info: ModelInfo, out_dir: str | Path) -> Path:
    """Write fp16 weights (halves the size; accuracy unchanged at fp32 inference) + JSON.

    The model version ends in the hash of the weights, so observations scored by
    different weights never share a key in the warehouse.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().half() if v.is_floating_point() else v.detach().cpu()
             for k, v in model.state_dict().items()}
    buf = io.BytesIO()
    torch.save(state, buf)
    digest = hashlib.sha256(buf.getvalue()).hexdigest()[:10]
    info.model_version = f"vad-resnet18-{info.input_size}px-{digest}"
    (out_dir / WEIGHTS_FILE).write_bytes(buf.getvalue())
    write_info(out_dir, info)
    return out_dir / WEIGHTS_FILE


def write_info(weights_dir: Path, info: ModelInfo) -> None:
    (weights_dir / META_FILE).write_text(json.dumps(info.__dict__, indent=2) + "\n")


def read_info(weights_dir: str | Path | None = None) -> ModelInfo:
    """The metadata of a weights folder (cheap: no tensors are read)."""
    weights_dir = Path(weights_dir) if weights_dir else default_weights_dir()
    meta_path, weights_path = weights_dir / META_FILE, weights_dir / WEIGHTS_FILE
    if not meta_path.is_file() or not weights_path.is_file():
        raise FileNotFoundError(f"no extractor weights in {weights_dir} "
                                f"(expected {WEIGHTS_FILE} and {META_FILE})")
    return ModelInfo(**json.loads(meta_path.read_text()))


def record_metrics(weights_dir: str | Path | None, split: str, figures: dict, *, int8: bool = False) -> None:
    """Store measured figures in a weights folder's metadata (the weights and version are unchanged);
    `int8`: figures of the int8 CPU network, kept apart from the torch network's."""
    weights_dir = Path(weights_dir) if weights_dir else default_weights_dir()
    info = read_info(weights_dir)
    (info.int8.setdefault("metrics", {}) if int8 else info.metrics)[split] = figures
    write_info(weights_dir, info)


def load_model(weights_dir: str | Path | None = None, device: str | torch.device | None = "cpu"
               ) -> tuple[VadExpressionNet, ModelInfo]:
    """Rebuild the network from a weights folder (the shipped one by default), in eval mode."""
    weights_dir = Path(weights_dir) if weights_dir else default_weights_dir()
    info = read_info(weights_dir)
    weights_path = weights_dir / WEIGHTS_FILE
    model = build_vad_resnet18(num_expressions=len(info.expressions), small_input=info.small_input,
                               fer2013_head=info.fer2013_head)
    state = torch.load(weights_path, map_location="cpu", weights_only=True)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    return model.to(resolve_device(device)).eval(), info
