"""Which network scores the crops: torch (any device) or the int8 network (CPU fast path: the distilled student, or a quantised copy).

Both answer `predict(images, tta_flip=..., with_fer2013=...)` with numpy arrays and carry
the `model_version` their rows are stored under, so extraction, evaluation and the
pipeline never need to know which one they hold.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import torch

from affect.int8 import Int8Error, Int8Network, has_int8
from affect.model import VadExpressionNet
from affect.predict import predict_arrays, resolve_device
from affect.weights import ModelInfo, load_model, read_info

Backend = Literal["auto", "torch", "int8"]
BACKENDS: tuple[str, ...] = ("auto", "torch", "int8")


class Network(Protocol):
    model_version: str
    input_size: int
    info: ModelInfo
    # The lowest face probability of a face, when the network has a face output (the
    # distilled student, affect.distil): then it, not YuNet, judges whether a crop is a face.
    face_threshold: float | None

    def predict(self, images: np.ndarray, *, tta_flip: bool = False, with_fer2013: bool = False,
                with_face: bool = False) -> tuple[np.ndarray, ...]: ...


@dataclass
class TorchNetwork:
    """The torch network on `device` (bf16 autocast on CPUs that have it, fp16 on CUDA)."""

    net: VadExpressionNet
    info: ModelInfo
    device: torch.device
    face_threshold: float | None = None   # no face output: YuNet checks crops

    @property
    def model_version(self) -> str:
        return self.info.model_version

    @property
    def input_size(self) -> int:
        return self.info.input_size

    def predict(self, images: np.ndarray, *, tta_flip: bool = False, with_fer2013: bool = False,
                with_face: bool = False) -> tuple[np.ndarray, ...]:
        if with_face:
            raise ValueError("the torch network has no face output")
        return predict_arrays(self.net, images, input_size=self.info.input_size, device=self.device,
                              tta_flip=tta_flip, with_fer2013=with_fer2013)


def resolve_backend(backend: str, device: str | torch.device | None, weights_dir: str | Path | None = None) -> str:
    """'auto' -> 'int8' on a CPU when the weights have an int8 network, else 'torch'."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    if backend != "auto":
        if backend == "int8" and resolve_device(device).type != "cpu":
            raise Int8Error(f"the int8 network runs on the CPU only, not on {resolve_device(device)}")
        return backend
    return "int8" if resolve_device(device).type == "cpu" and has_int8(weights_dir) else "torch"


def network_version(weights_dir: str | Path | None, device: str | None, backend: str = "auto") -> str:
    """The model version rows scored by this backend are stored under (cheap: nothing is loaded)."""
    info = read_info(weights_dir)
    return info.int8["model_version"] if resolve_backend(backend, device, weights_dir) == "int8" else info.model_version


def load_network(weights_dir: str | Path | None = None, device: str | None = "cpu",
                 backend: str = "auto") -> Network:
    """The network that scores crops for this device and backend (see resolve_backend)."""
    if resolve_backend(backend, device, weights_dir) == "int8":
        return Int8Network(weights_dir)
    net, info = load_model(weights_dir, device)
    return TorchNetwork(net, info, resolve_device(device))


def as_network(model: Network | tuple[VadExpressionNet, ModelInfo], device: str | None) -> Network:
    """A loaded network, also from the `(net, info)` pair `load_model` returns."""
    if isinstance(model, tuple):
        net, info = model
        return TorchNetwork(net.to(resolve_device(device)).eval(), info, resolve_device(device))
    return model
