"""A probe, not the product: how accurate is a half-width student distilled on this CPU? (issue 14)

Usage: python benchmarks/distil_probe.py [--data FERPLUS_DIR] [--epochs 30] [--minutes 20]

Teacher: the shipped network's int8 copy; its V/A/D and expression probabilities for every
FERPlus train crop and its mirror are computed once. Student:
`benchmarks.student_speed.plain_student(0.5)` (3 V/A/D outputs + 8 expression logits used).
Loss: cross-entropy to the teacher's probabilities plus half of it to the annotators'
vote distribution, and MSE to the teacher's V/A/D. Augmentation: mirror (with the
mirror's teacher labels) and shifts of up to 3 px. AdamW, cosine schedule, bf16 autocast
where the CPU has it. Stops after --epochs or --minutes, whichever comes first, and
reports FERPlus test majority accuracy (no TTA) and V/A/D CCC against the votes' VAD,
beside the teacher's. Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from affect.data import load_split  # noqa: E402
from affect.evaluate import vad_block  # noqa: E402
from affect.int8 import Int8Network  # noqa: E402
from affect.predict import mixed_precision, to_input  # noqa: E402
from benchmarks.extract_speed import ferplus_split  # noqa: E402
from benchmarks.student_speed import plain_student  # noqa: E402

BATCH = 128
SHIFT = 3


def _inputs(images: np.ndarray) -> torch.Tensor:
    return to_input(torch.from_numpy(np.ascontiguousarray(images)), 48, torch.device("cpu"))


def _shifted(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    dx, dy = (int(v) for v in rng.integers(-SHIFT, SHIFT + 1, 2))
    return torch.roll(x, shifts=(dy, dx), dims=(2, 3))


def _predict(student: torch.nn.Module, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    student.eval()
    vads, probs = [], []
    with torch.inference_mode(), mixed_precision(torch.device("cpu")):
        for i in range(0, len(images), 512):
            out = student(_inputs(images[i:i + 512])).float()
            vads.append(torch.tanh(out[:, :3]).numpy())
            probs.append(out[:, 3:11].softmax(1).numpy())
    return np.concatenate(vads), np.concatenate(probs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        train = load_split(ferplus_split(args.data, Path(tmp), "FER2013Train"), "train")
        test = load_split(ferplus_split(args.data, Path(tmp), "FER2013Test"), "test", keep_all=True)
    teacher = Int8Network()
    start = time.perf_counter()
    mirrored = np.ascontiguousarray(train.images[:, :, ::-1])
    t_vad, t_probs = teacher.predict(train.images)
    m_vad, m_probs = teacher.predict(mirrored)
    label_seconds = time.perf_counter() - start

    student = plain_student(0.5).to(memory_format=torch.channels_last)
    optimiser = torch.optim.AdamW(student.parameters(), lr=2e-3, weight_decay=0.05)
    steps_per_epoch = math.ceil(len(train.images) / BATCH)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=2e-3, total_steps=args.epochs * steps_per_epoch,
                                                   pct_start=0.05)
    votes = torch.from_numpy(train.probs)
    deadline = time.perf_counter() + args.minutes * 60
    epochs_run = 0
    for _ in range(args.epochs):
        if time.perf_counter() > deadline:
            break
        student.train()
        order = rng.permutation(len(train.images))
        for i in range(0, len(order), BATCH):
            idx = order[i:i + BATCH]
            flip = rng.random() < 0.5
            images, vad_t, probs_t = ((mirrored, m_vad, m_probs) if flip else (train.images, t_vad, t_probs))
            x = _shifted(_inputs(images[idx]), rng)
            with mixed_precision(torch.device("cpu")):
                out = student(x).float()
            log_p = out[:, 3:11].log_softmax(1)
            loss = (-(torch.from_numpy(probs_t[idx]) * log_p).sum(1).mean()
                    + 0.5 * -(votes[idx] * log_p).sum(1).mean()
                    + F.mse_loss(torch.tanh(out[:, :3]), torch.from_numpy(vad_t[idx])))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
        epochs_run += 1
    train_seconds = time.perf_counter() - start - label_seconds

    labelled = test.label >= 0
    s_vad, s_probs = _predict(student, test.images)
    tt_vad, tt_probs = teacher.predict(test.images)

    def accuracy(probs: np.ndarray) -> float:
        return round(float((probs.argmax(1)[labelled] == test.label[labelled]).mean()), 4)
    print(json.dumps({
        "benchmark": "distil_probe", "student": "plain_student(0.5)", "teacher": teacher.model_version,
        "epochs_planned": args.epochs, "epochs_run": epochs_run, "minutes_limit": args.minutes,
        "teacher_label_seconds": round(label_seconds, 1), "train_seconds": round(train_seconds, 1),
        "n_test": int(labelled.sum()),
        "ferplus_test_accuracy": {"student": accuracy(s_probs), "teacher_int8": accuracy(tt_probs)},
        "vad_ccc_student": {d: round(v["ccc"], 3) for d, v in vad_block(s_vad[labelled], test.vad[labelled]).items()},
        "vad_ccc_teacher": {d: round(v["ccc"], 3) for d, v in vad_block(tt_vad[labelled], test.vad[labelled]).items()},
    }))


if __name__ == "__main__":
    main()
