"""Batched inference on in-memory face crops: the one forward pass evaluation and extraction share."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from affect.model import VadExpressionNet, normalise


def resolve_device(device: str | torch.device | None) -> torch.device:
    """'auto'/None -> cuda when present, else cpu."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def reduced_precision(device: torch.device) -> torch.dtype | None:
    """The autocast dtype where the hardware has a fast one, else None (stay in fp32).

    fp16 on CUDA; bf16 on CPUs with native bf16 (AVX-512 BF16 / AMX), where it runs the
    network ~1.8x faster (training ~1.35x). Elsewhere bf16 is emulated and slower.
    """
    if device.type == "cuda":
        return torch.float16
    if device.type == "cpu" and torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return torch.bfloat16
    return None


def mixed_precision(device: torch.device, enabled: bool = True) -> torch.autocast:
    """Autocast to `reduced_precision(device)`; a no-op where there is none or when disabled."""
    dtype = reduced_precision(device)
    return torch.autocast(device.type, dtype=dtype or torch.float32, enabled=enabled and dtype is not None)


def to_input(batch: torch.Tensor, input_size: int, device: torch.device) -> torch.Tensor:
    """uint8 [N, H, W] or [N, 1, H, W] -> normalised float [N, 1, S, S] on device, channels_last."""
    if batch.ndim == 3:
        batch = batch[:, None]
    x = normalise(batch.to(device, non_blocking=True))
    if x.shape[-1] != input_size or x.shape[-2] != input_size:
        x = F.interpolate(x, size=(input_size, input_size), mode="bilinear",
                          align_corners=False, antialias=True)
    return x.contiguous(memory_format=torch.channels_last)


@torch.inference_mode()
def forward_batch(model: VadExpressionNet, faces: torch.Tensor, input_size: int, device: torch.device,
                  tta_flip: bool = True, with_fer2013: bool = False) -> tuple[torch.Tensor, ...]:
    """(vad [N, 3], probs [N, K]) for uint8 crops, plus FER2013 probs [N, 7] when `with_fer2013`.

    Averages with the mirrored face when tta_flip.
    """
    x = to_input(faces, input_size, device)
    views = [x, torch.flip(x, dims=[3])] if tta_flip else [x]
    sums: list[torch.Tensor] | None = None
    with mixed_precision(device):
        for view in views:
            vad, *logits = model(view, with_fer2013=with_fer2013)
            outs = [vad.float()] + [lg.float().softmax(1) for lg in logits if lg is not None]
            sums = outs if sums is None else [a + b for a, b in zip(sums, outs)]
    return tuple(t / len(views) for t in sums)


def predict_arrays(model: VadExpressionNet, images: np.ndarray, *, input_size: int,
                   batch_size: int = 256, device: str | torch.device | None = None,
                   tta_flip: bool = True, with_fer2013: bool = False) -> tuple[np.ndarray, ...]:
    """(vad [N, 3], probs [N, K]) as numpy for uint8 gray faces [N, H, W].

    With `with_fer2013` and a model that has the FER2013 head, a third array [N, 7] follows.
    """
    device = resolve_device(device)
    model = model.to(device).eval()
    parts: list[list[np.ndarray]] = []
    for start in range(0, len(images), batch_size):
        batch = torch.from_numpy(np.ascontiguousarray(images[start:start + batch_size]))
        outs = forward_batch(model, batch, input_size, device, tta_flip, with_fer2013)
        parts = parts or [[] for _ in outs]
        for acc, t in zip(parts, outs):
            acc.append(t.cpu().numpy())
    return tuple(np.concatenate(acc) for acc in parts)
