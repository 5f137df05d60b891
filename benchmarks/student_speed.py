"""How fast candidate student networks train and run on this CPU, beside the shipped network.

Usage: python benchmarks/student_speed.py [--batch 64] [--steps 8]

Issue 14's bar needs a network several times cheaper than the shipped ResNet-18 at
>= 87.5 % FERPlus. Before distilling one, this measures what each candidate costs:
training images/s (AdamW step, bf16 autocast where the CPU has it, channels_last,
synthetic 48x48 batches: the cost of the network, not of loading data) and inference
faces/s in torch, for the shipped network and plain conv students (affect.distil.CompactStudent:
one 3x3 conv pair per stage, stride-2 stem, widths 0.5 and 0.25 of ResNet-18's). It says nothing about their
accuracy, which only training them can tell. Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from torch import nn

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from affect.distil import CompactStudent  # noqa: E402
from affect.model import build_vad_resnet18  # noqa: E402
from affect.predict import mixed_precision  # noqa: E402

FERPLUS_TRAIN = 28_315      # images the shipped recipe trains on per epoch
RECIPE_EPOCHS = 110         # the shipped recipe


def _first(out):
    return out[1] if isinstance(out, tuple) else out


def rates(net: nn.Module, batch: int, steps: int) -> tuple[float, float]:
    """(training images/s, inference faces/s) on synthetic batches."""
    device = torch.device("cpu")
    net = net.to(memory_format=torch.channels_last)
    x = torch.randn(batch, 1, 48, 48).contiguous(memory_format=torch.channels_last)
    optimiser = torch.optim.AdamW(net.parameters(), 1e-3)

    def train_step() -> None:
        with mixed_precision(device):
            loss = _first(net(x)).float().pow(2).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()

    def timed(fn) -> float:
        fn(), fn()
        start = time.perf_counter()
        for _ in range(steps):
            fn()
        return batch * steps / (time.perf_counter() - start)

    net.train()
    train = timed(train_step)
    net.eval()
    with torch.inference_mode(), mixed_precision(device):
        infer = timed(lambda: net(x))
    return train, infer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=8)
    args = parser.parse_args()
    candidates = {"shipped_resnet18": build_vad_resnet18(small_input=True, fer2013_head=True),
                  "plain_student_w0.5": CompactStudent(0.5), "plain_student_w0.25": CompactStudent(0.25)}
    out = {"benchmark": "student_speed", "device": "cpu", "threads": torch.get_num_threads(), "batch": args.batch,
           "steps": args.steps, "networks": {}}
    for name, net in candidates.items():
        train, infer = rates(net, args.batch, args.steps)
        out["networks"][name] = {
            "parameters": sum(p.numel() for p in net.parameters()),
            "train_images_per_s": round(train, 1), "torch_inference_faces_per_s": round(infer, 1),
            "recipe_hours_of_network_compute": round(RECIPE_EPOCHS * FERPLUS_TRAIN / train / 3600, 2)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
