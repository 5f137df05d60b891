"""Train the VAD + expression network (shape of torchvision's reference train.py).

`main(cfg)` reads top to bottom: load data, build model, loop `train_one_epoch` /
`evaluate`, checkpoint every epoch, stop early on the validation split, export the
best weights. Resuming reloads the same checkpoint keys and continues.
"""
from __future__ import annotations

import contextlib
import json
import logging
import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2

from affect.data import FaceSet, fer2013_labels, load_split, read_vad_anchors
from affect.evaluate import flat_metrics, metrics
from affect.losses import ConsistencyLoss, soft_cross_entropy, vad_loss
from affect.model import VadExpressionNet, build_vad_resnet18
from affect.plots import confusion_figure
from affect.predict import mixed_precision, predict_arrays, resolve_device, to_input
from affect.schema import EXPRESSIONS
from affect.weights import ModelInfo, export_weights, load_model

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Every knob of a training run; saved inside each checkpoint and logged to MLflow."""

    data: str
    out_dir: str = ".vadgrade/extractor"
    input_size: int = 48                    # FER faces are 48x48: no upsampling
    small_input: bool = True                # no stem max-pool: 24x24 maps in the first stage
    epochs: int = 110                       # the shipped run (an H100, ~12 s/epoch; ~205 s/epoch on 2 CPU cores)
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.05
    warmup_epochs: float = 1.0
    dropout: float = 0.2
    expression_loss: str = "soft_ce"        # or "mse" on the vote distribution (Duan et al.)
    vad_weight: float = 1.0
    ccc_weight: float = 1.0
    consistency_weight: float = 0.1         # lambda; 0 turns the consistency term off
    consistency_table: str | None = None    # CSV like consistency_huo2024.csv; None = shipped preset
    consistency_margin: float = 0.05
    vad_anchors: str | None = None          # CSV like vad_anchors.csv; None = shipped NRC anchors
    fer2013_labels: str | None = None       # fer2013_original_labels.csv: adds and trains the FER2013 head
    fer2013_weight: float = 1.0             # weight of that head's cross-entropy
    max_unknown_votes: int = 3
    rotation: float = 15.0
    patience: int = 30                      # validation accuracy plateaus up to ~28 epochs mid-schedule
    seed: int = 0
    device: str = "auto"
    amp: bool = True                        # fp16 + GradScaler on CUDA, bf16 on CPUs with native bf16
    num_workers: int = 2
    max_train_images: int | None = None     # a quick run on a subset
    init_weights: str | None = None         # warm start: a state dict (best.pt) or an exported weights folder
    time_limit_min: float | None = None     # stop after the epoch that crosses it; resume later
    export_dir: str | None = None           # where the best weights are exported (fp16)
    mlflow_tracking_uri: str | None = None
    track_mlflow: bool = True               # False on a training box without MLflow: figures stay in the checkpoint
    mlflow_experiment: str = "vadgrade-extractor"
    extra: dict = field(default_factory=dict)


class AugmentedFaces(Dataset):
    """Faces as uint8 [1, S, S] tensors with their targets; augmentation when training.

    The last target is the original FER2013 code, -1 where there is none.
    """

    def __init__(self, faces: FaceSet, transform: v2.Transform | None, fer2013: np.ndarray | None = None):
        self.faces, self.transform = faces, transform
        self.fer2013 = np.full(len(faces), -1, np.int64) if fer2013 is None else fer2013

    def __len__(self) -> int:
        return len(self.faces)

    def __getitem__(self, i: int):
        img = torch.from_numpy(self.faces.images[i])[None]
        if self.transform is not None:
            img = self.transform(img)
        return (img, torch.from_numpy(self.faces.probs[i]), torch.from_numpy(self.faces.vad[i]),
                int(self.fer2013[i]))


def train_transform(cfg: TrainConfig) -> v2.Transform:
    """Flip, rotation, scale/shift, perspective, contrast jitter, blur, random erasing (CAGE, Duan).

    Scale/shift and blur stand in for faces framed by another detector or filmed at a
    lower resolution than FER2013's crops.
    """
    return v2.Compose([
        v2.Resize(cfg.input_size, antialias=True),
        v2.RandomHorizontalFlip(),
        v2.RandomAffine(degrees=cfg.rotation, translate=(0.1, 0.1), scale=(0.85, 1.15)),
        v2.RandomPerspective(distortion_scale=0.15, p=0.3),
        v2.ColorJitter(brightness=0.3, contrast=0.3),
        v2.RandomApply([v2.GaussianBlur(5, sigma=(0.1, 1.5))], p=0.2),
        v2.RandomErasing(p=0.25, scale=(0.02, 0.12), value=0),
    ])


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def train_one_epoch(model: VadExpressionNet, loader: DataLoader, optimizer, scheduler, cfg: TrainConfig,
                    device: torch.device, consistency: ConsistencyLoss, scaler) -> dict:
    """One pass over the training data; returns sample-weighted mean losses."""
    model.train()
    sums: dict[str, float] = {}
    seen = 0
    for img, probs, vad_t, fer_t in loader:
        x = to_input(img, cfg.input_size, device)
        probs, vad_t, fer_t = probs.to(device), vad_t.to(device), fer_t.to(device)
        with mixed_precision(device, enabled=cfg.amp):
            vad, logits, fer_logits = model(x, with_fer2013=True)
        vad, logits = vad.float(), logits.float()
        if cfg.expression_loss == "mse":
            expr = ((logits.softmax(1) - probs) ** 2).sum(1).mean()
        else:
            expr = soft_cross_entropy(logits, probs)
        reg = vad_loss(vad, vad_t, cfg.ccc_weight)
        cons = consistency(vad, logits)
        loss = expr + cfg.vad_weight * reg + cfg.consistency_weight * cons
        fer = torch.zeros((), device=device)
        if fer_logits is not None and bool((fer_t >= 0).any()):
            fer = F.cross_entropy(fer_logits.float(), fer_t, ignore_index=-1)
            loss = loss + cfg.fer2013_weight * fer
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
        scheduler.step()
        n = len(img)
        seen += n
        for k, v in (("loss", loss), ("expression_loss", expr), ("vad_loss", reg), ("consistency_loss", cons),
                     ("fer2013_loss", fer)):
            sums[k] = sums.get(k, 0.0) + float(v.detach()) * n
    return {k: v / max(seen, 1) for k, v in sums.items()}


def evaluate(model: VadExpressionNet, faces: FaceSet, cfg: TrainConfig, device: torch.device,
             consistency: ConsistencyLoss, fer2013: np.ndarray | None = None) -> dict:
    """Validation figures (no flip TTA, so epochs compare like for like)."""
    vad, probs, *fer_probs = predict_arrays(model, faces.images, input_size=cfg.input_size, batch_size=256,
                                            device=device, tta_flip=False, with_fer2013=fer2013 is not None)
    return metrics(probs, vad, majority=faces.label, vad_target=faces.vad, fer2013=fer2013,
                   consistency=consistency, fer2013_probs=fer_probs[0] if fer_probs else None)


def cosine_with_warmup(optimizer, warmup_steps: int, total_steps: int):
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / max(warmup_steps, 1)
        progress = (step - warmup_steps) / max(total_steps - warmup_steps, 1)
        return 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _initial_state(path: str) -> dict:
    """A state dict from `best.pt`/`checkpoint.pt` or from an exported (fp16) weights folder."""
    if Path(path).is_dir():
        return load_model(path)[0].state_dict()
    state = torch.load(path, map_location="cpu", weights_only=False)
    return state.get("model", state)


def warm_start(model: VadExpressionNet, path: str) -> None:
    """Load earlier weights; only a FER2013 head the earlier model lacked may stay fresh."""
    try:
        missing, unexpected = model.load_state_dict(_initial_state(path), strict=False)
    except RuntimeError as exc:      # a tensor of another shape
        raise ValueError(f"{path}: weights do not fit this model ({exc})") from exc
    fresh = [k for k in missing if not k.startswith("fer2013_head.")]
    if fresh or unexpected:
        raise ValueError(f"{path}: weights do not fit this model (missing {fresh}, unexpected {unexpected})")
    log.info("warm start from %s%s", path, " (FER2013 head starts fresh)" if missing else "")


def _mlflow_run(cfg: TrainConfig, run_id: str | None):
    """(mlflow module, run context), or (None, a do-nothing context) when tracking is off."""
    if not cfg.track_mlflow:
        return None, contextlib.nullcontext()
    import mlflow
    if cfg.mlflow_tracking_uri:
        mlflow.set_tracking_uri(cfg.mlflow_tracking_uri)
    mlflow.set_experiment(cfg.mlflow_experiment)
    return mlflow, mlflow.start_run(run_id=run_id, run_name=None if run_id else "train-extractor")


def main(cfg: TrainConfig) -> dict:
    """Train (or resume) and export the best weights; returns the best validation figures."""
    started = time.monotonic()
    set_seed(cfg.seed)
    device = resolve_device(cfg.device)
    out_dir = Path(cfg.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    anchors = read_vad_anchors(cfg.vad_anchors)
    train = load_split(cfg.data, "train", anchors=anchors, max_unknown=cfg.max_unknown_votes)
    valid = load_split(cfg.data, "valid", anchors=anchors, max_unknown=cfg.max_unknown_votes)
    if cfg.max_train_images and cfg.max_train_images < len(train):
        pick = np.random.default_rng(cfg.seed).choice(len(train), cfg.max_train_images, replace=False)
        train = train.subset(np.sort(pick))
    log.info("training on %d faces, validating on %d, device %s", len(train), len(valid), device)
    train_fer = valid_fer = None
    if cfg.fer2013_labels:
        train_fer = fer2013_labels(cfg.fer2013_labels, train.names)
        valid_fer = fer2013_labels(cfg.fer2013_labels, valid.names)
        log.info("FER2013 head: %d training faces carry an original label", int((train_fer >= 0).sum()))

    loader = DataLoader(AugmentedFaces(train, train_transform(cfg), train_fer), batch_size=cfg.batch_size,
                        shuffle=True, drop_last=True, num_workers=cfg.num_workers,
                        persistent_workers=cfg.num_workers > 0, pin_memory=device.type == "cuda",
                        generator=torch.Generator().manual_seed(cfg.seed))
    model = build_vad_resnet18(small_input=cfg.small_input, dropout=cfg.dropout,
                               fer2013_head=cfg.fer2013_labels is not None)
    if cfg.init_weights:
        warm_start(model, cfg.init_weights)
    model = model.to(device, memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = len(loader)
    scheduler = cosine_with_warmup(optimizer, int(cfg.warmup_epochs * steps), cfg.epochs * steps)
    scaler = torch.amp.GradScaler("cuda") if cfg.amp and device.type == "cuda" else None
    consistency = ConsistencyLoss.from_table(cfg.consistency_table, cfg.consistency_margin).to(device)

    state = {"epoch": -1, "best_accuracy": -1.0, "best_epoch": -1, "mlflow_run_id": None, "history": []}
    ckpt_path = out_dir / "checkpoint.pt"
    if ckpt_path.is_file():
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["lr_scheduler"])
        state = ckpt["state"]
        torch.set_rng_state(ckpt["rng"])
        log.info("resumed from %s after epoch %d", ckpt_path, state["epoch"])

    mlflow, run = _mlflow_run(cfg, state["mlflow_run_id"])
    with run:
        if mlflow:
            state["mlflow_run_id"] = run.info.run_id
        if mlflow and state["epoch"] < 0:
            mlflow.log_params({k: v for k, v in asdict(cfg).items() if k != "extra"})
            mlflow.log_params({"train_images": len(train), "valid_images": len(valid)})
        for epoch in range(state["epoch"] + 1, cfg.epochs):
            t0 = time.monotonic()
            losses = train_one_epoch(model, loader, optimizer, scheduler, cfg, device, consistency, scaler)
            val = flat_metrics(evaluate(model, valid, cfg, device, consistency, valid_fer))
            row = {"epoch": epoch, "seconds": time.monotonic() - t0, **losses,
                   **{f"val_{k}": v for k, v in val.items()}}
            state["history"].append(row)
            if mlflow:
                mlflow.log_metrics({k: v for k, v in row.items() if k != "epoch"}, step=epoch)
            log.info("epoch %d: %s", epoch, json.dumps({k: round(v, 4) for k, v in row.items()}))
            state["epoch"] = epoch
            if val["accuracy"] > state["best_accuracy"]:
                state.update(best_accuracy=val["accuracy"], best_epoch=epoch)
                torch.save(model.state_dict(), out_dir / "best.pt")
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                        "lr_scheduler": scheduler.state_dict(), "state": state,
                        "rng": torch.get_rng_state(), "config": asdict(cfg)}, ckpt_path)
            if epoch - state["best_epoch"] >= cfg.patience:
                log.info("early stop: no validation gain for %d epochs", cfg.patience)
                break
            if cfg.time_limit_min and time.monotonic() - started > cfg.time_limit_min * 60:
                log.info("time limit reached after epoch %d; rerun to resume", epoch)
                return {"finished": False, **state}

        model.load_state_dict(torch.load(out_dir / "best.pt", map_location="cpu", weights_only=True))
        best = evaluate(model, valid, cfg, device, consistency, valid_fer)
        if mlflow:
            mlflow.log_dict(best, "validation_best.json")
            mlflow.log_figure(confusion_figure(best["ferplus_majority"], "FERPlus valid, best epoch"),
                              "validation_confusion.png")
        info = ModelInfo(model_version="", input_size=cfg.input_size, small_input=cfg.small_input,
                         fer2013_head=model.fer2013_head is not None,
                         expressions=list(EXPRESSIONS), metrics={"valid": flat_metrics(best)},
                         training={k: v for k, v in asdict(cfg).items() if k != "extra"}
                         | {"best_epoch": state["best_epoch"], "epochs_run": state["epoch"] + 1})
        export_weights(model, info, cfg.export_dir or out_dir / "export")
        if mlflow:
            mlflow.set_tag("model_version", info.model_version)
        log.info("exported %s (best epoch %d, valid accuracy %.4f)", info.model_version,
                 state["best_epoch"], state["best_accuracy"])
    return {"finished": True, "model_version": info.model_version, **state}
