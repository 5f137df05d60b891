"""A compact student of the shipped network, with a face output: the CPU fast path (issue 14).

On a 2-core CPU the shipped ResNet-18 scores about 1,160 crops/s in int8, and the face
check in front of it (YuNet on each crop upscaled) costs about 1.1 ms a crop. The student
does both jobs in one pass, several times cheaper:
- a plain conv trunk (stride-2 stem, one pair of 3x3 convs per stage) at half ResNet-18's
  widths, whose one linear layer gives V/A/D, the 8 FERPlus logits, the 7 FER2013 logits
  and a face logit;
- it learns the teacher's V/A/D and probabilities (with mirror TTA, computed once), half
  as much the annotators' votes, and face vs not-face from background patches of photos
  (affect.data.background_patches) that the face-check benchmark never measures on.

Training is resumable: each epoch ends in OUT_DIR/checkpoint.pt, and the teacher's labels
are kept in OUT_DIR/teacher_labels.npz, so a rerun goes on where it stopped.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from affect.data import FaceSet
from affect.int8 import OPSET, Int8Network, record_int8, write_int8
from affect.predict import mixed_precision, to_input
from affect.schema import EXPRESSIONS, FER2013_TO_FERPLUS
from affect.weights import ModelInfo, default_weights_dir, read_info, write_info

log = logging.getLogger(__name__)

N_VAD, N_EXPRESSIONS, N_FER2013 = 3, len(EXPRESSIONS), len(FER2013_TO_FERPLUS)
OUTPUTS = N_VAD + N_EXPRESSIONS + N_FER2013 + 1     # the last one is the face logit
CHECKPOINT = "checkpoint.pt"
TEACHER_LABELS = "teacher_labels.npz"
STUDENT_FILE = "vad_student.int8.onnx"
FACE_PASS_QUANTILE = 0.001   # the face threshold turns away this share of validation faces


class CompactStudent(nn.Module):
    """Plain conv trunk at `width` x ResNet-18's channels -> one linear layer of OUTPUTS raw outputs."""

    def __init__(self, width: float = 0.5):
        super().__init__()
        channels = [int(c * width) for c in (64, 128, 256, 512)]

        def pair(cin: int, cout: int, stride: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                    nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
        layers: list[nn.Module] = [nn.Conv2d(1, channels[0], 3, 2, 1, bias=False), nn.BatchNorm2d(channels[0]),
                                   nn.ReLU(inplace=True)]
        for i, c in enumerate(channels):
            layers += pair(channels[max(i - 1, 0)], c, 1 if i == 0 else 2)
        self.trunk = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(channels[-1], OUTPUTS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x))


class StudentOutputs(nn.Module):
    """The student as the product uses it: vad, probs, FER2013 probs, face probability."""

    def __init__(self, student: CompactStudent):
        super().__init__()
        self.student = student

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.student(x)
        e = N_VAD + N_EXPRESSIONS
        return (torch.tanh(out[:, :N_VAD]), out[:, N_VAD:e].softmax(1), out[:, e:e + N_FER2013].softmax(1),
                torch.sigmoid(out[:, -1]))


@dataclass
class DistilConfig:
    epochs: int = 100
    batch_size: int = 128
    negatives_per_batch: int = 32
    lr: float = 2e-3
    weight_decay: float = 0.05
    width: float = 0.5
    vote_weight: float = 0.5        # cross-entropy to the annotators' votes, beside the teacher's
    fer2013_weight: float = 0.5
    face_weight: float = 1.0
    shift_px: float = 3.0
    scale_jitter: float = 0.1       # zoom in [1 - j, 1 + j]: other crops are framed a little differently
    seed: int = 0
    time_limit_min: float | None = None


def teacher_labels(teacher, images: np.ndarray, out_dir: Path) -> dict[str, np.ndarray]:
    """The teacher's (mirror-averaged) vad, probs and FER2013 probs for `images`, cached in out_dir."""
    path = out_dir / TEACHER_LABELS
    if path.is_file():
        cached = dict(np.load(path))
        if len(cached["vad"]) == len(images) and str(cached["teacher"]) == teacher.model_version:
            return cached
    vad, probs, fer = teacher.predict(images, tta_flip=True, with_fer2013=True)
    labels = {"vad": vad.astype(np.float32), "probs": probs.astype(np.float32), "fer2013": fer.astype(np.float32),
              "teacher": np.array(teacher.model_version)}
    np.savez(path, **labels)
    return labels


def _augmented(x: torch.Tensor, cfg: DistilConfig, gen: torch.Generator) -> torch.Tensor:
    """Random mirror, zoom and shift per image (the teacher's labels are mirror-averaged)."""
    n, size = len(x), x.shape[-1]
    scale = 1 + (torch.rand(n, generator=gen) * 2 - 1) * cfg.scale_jitter
    mirror = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0)
    shift = (torch.rand(n, 2, generator=gen) * 2 - 1) * cfg.shift_px * 2 / size
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 1, 1] = mirror / scale, 1 / scale
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def _loss(out: torch.Tensor, n_faces: int, target: dict[str, torch.Tensor], cfg: DistilConfig) -> torch.Tensor:
    e = N_VAD + N_EXPRESSIONS
    faces = out[:n_faces]
    log_p = faces[:, N_VAD:e].log_softmax(1)
    is_face = torch.zeros(len(out))
    is_face[:n_faces] = 1
    return (-(target["probs"] * log_p).sum(1).mean()
            + cfg.vote_weight * -(target["votes"] * log_p).sum(1).mean()
            + cfg.fer2013_weight * -(target["fer2013"] * faces[:, e:e + N_FER2013].log_softmax(1)).sum(1).mean()
            + F.mse_loss(torch.tanh(faces[:, :N_VAD]), target["vad"])
            + cfg.face_weight * F.binary_cross_entropy_with_logits(out[:, -1], is_face))


@torch.inference_mode()
def student_outputs(student: CompactStudent, images: np.ndarray, batch: int = 512) -> tuple[np.ndarray, ...]:
    """(vad, probs, FER2013 probs, face probability) for uint8 crops, in torch (for training reports)."""
    student.eval()
    wrapped = StudentOutputs(student)
    parts: list[list[np.ndarray]] = [[], [], [], []]
    for i in range(0, len(images), batch):
        x = to_input(torch.from_numpy(np.ascontiguousarray(images[i:i + batch])), 48, torch.device("cpu"))
        for acc, t in zip(parts, wrapped(x)):
            acc.append(t.float().numpy())
    return tuple(np.concatenate(p) for p in parts)


def distil(teacher, train: FaceSet, negatives: np.ndarray, valid: FaceSet, out_dir: str | Path,
           cfg: DistilConfig = DistilConfig()) -> dict:
    """Train (or resume) the student; returns {"finished", "epochs_run", "history"} and leaves
    OUT_DIR/student.pt when finished. `negatives`: uint8 [M, 48, 48] crops that show no face."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    labels = teacher_labels(teacher, train.images, out_dir)
    torch.manual_seed(cfg.seed)
    student = CompactStudent(cfg.width).to(memory_format=torch.channels_last)
    optimiser = torch.optim.AdamW(student.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = math.ceil(len(train.images) / cfg.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=cfg.lr, total_steps=cfg.epochs * steps,
                                                   pct_start=0.05)
    gen = torch.Generator().manual_seed(cfg.seed)
    state = {"epoch": 0, "history": []}
    if (out_dir / CHECKPOINT).is_file():
        saved = torch.load(out_dir / CHECKPOINT, weights_only=False)
        student.load_state_dict(saved["student"])
        optimiser.load_state_dict(saved["optimiser"])
        schedule.load_state_dict(saved["schedule"])
        gen.set_state(saved["generator"])
        state = saved["state"]
        log.info("resuming the student at epoch %d", state["epoch"])
    target_all = {k: torch.from_numpy(labels[k]) for k in ("vad", "probs", "fer2013")}
    target_all["votes"] = torch.from_numpy(train.probs)
    images, neg = torch.from_numpy(train.images), torch.from_numpy(negatives)
    deadline = time.monotonic() + cfg.time_limit_min * 60 if cfg.time_limit_min else math.inf
    device = torch.device("cpu")
    while state["epoch"] < cfg.epochs and time.monotonic() < deadline:
        started = time.monotonic()
        student.train()
        order = torch.randperm(len(images), generator=gen)
        for i in range(0, len(order), cfg.batch_size):
            idx = order[i:i + cfg.batch_size]
            nidx = torch.randint(len(neg), (cfg.negatives_per_batch,), generator=gen)
            x = to_input(torch.cat([images[idx], neg[nidx]]), 48, device)
            x = _augmented(x, cfg, gen).contiguous(memory_format=torch.channels_last)
            with mixed_precision(device):
                out = student(x).float()
            loss = _loss(out, len(idx), {k: v[idx] for k, v in target_all.items()}, cfg)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
        _, probs, _, face = student_outputs(student, valid.images)
        labelled = valid.label >= 0
        record = {"epoch": state["epoch"] + 1, "loss": round(float(loss.detach()), 4),
                  "valid_accuracy": round(float((probs.argmax(1) == valid.label)[labelled].mean()), 4),
                  "valid_face_threshold": round(float(np.quantile(face, FACE_PASS_QUANTILE)), 4),
                  "seconds": round(time.monotonic() - started, 1)}
        state["epoch"] += 1
        state["history"].append(record)
        log.info("student epoch %s", record)
        torch.save({"student": student.state_dict(), "optimiser": optimiser.state_dict(),
                    "schedule": schedule.state_dict(), "generator": gen.get_state(), "state": state,
                    "config": asdict(cfg), "teacher": str(labels["teacher"])}, out_dir / CHECKPOINT)
    finished = state["epoch"] >= cfg.epochs
    if finished:
        torch.save({"student": student.state_dict(), "config": asdict(cfg), "teacher": str(labels["teacher"]),
                    "history": state["history"]}, out_dir / "student.pt")
    return {"finished": finished, "epochs_run": state["epoch"], "history": state["history"]}


def export_student(student_file: str | Path, calibration: np.ndarray, valid_faces: np.ndarray,
                   weights_dir: str | Path | None = None) -> ModelInfo:
    """Quantise a trained student (OUT_DIR/student.pt) into `weights_dir` as its CPU network.

    The face threshold is the FACE_PASS_QUANTILE of the int8 student's face probability on
    `valid_faces` (validation crops, never test ones): the share of real faces it may turn
    away. Figures measured on an earlier CPU network are dropped.
    """
    weights_dir = Path(weights_dir) if weights_dir else default_weights_dir()
    saved = torch.load(student_file, map_location="cpu", weights_only=False)
    student = CompactStudent(saved["config"]["width"])
    student.load_state_dict(saved["student"])
    info = read_info(weights_dir)
    digest = write_int8(StudentOutputs(student), ["vad", "probs", "fer2013_probs", "face"], "/student/trunk/",
                        calibration, info.input_size, weights_dir / STUDENT_FILE)
    record_int8(weights_dir, info, {"file": STUDENT_FILE, "sha256": digest, "kind": "distilled student (affect.distil)",
                                    "model_version": f"{info.model_version}-student-int8-{digest[:10]}",
                                    "teacher": saved["teacher"], "distil": saved["config"],
                                    "epochs": len(saved["history"]), "calibration_crops": len(calibration),
                                    "opset": OPSET, "metrics": {}})
    face = Int8Network(weights_dir).predict(valid_faces, with_face=True)[-1]
    info.int8["face_threshold"] = round(float(np.quantile(face, FACE_PASS_QUANTILE)), 4)
    write_info(weights_dir, info)
    return info
