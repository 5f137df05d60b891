"""Losses: soft-label expression loss, VAD regression (MSE + CCC), differentiable consistency.

Huo & Ge compute their consistency term in numpy on argmax labels, so it carries no
gradient. Here the same sign table becomes a hinge on the predicted VAD, weighted by
the predicted class probabilities, so it does shape training.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from affect.data import default_resource
from affect.schema import CATEGORY_ALIASES, EXPRESSIONS


def read_consistency_table(path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(cost_pos, cost_neg), each [8, 3]: the cost of a positive / negative V, A, D per class.

    Classes missing from the table (contempt in Huo & Ge's) cost nothing.
    """
    path = Path(path) if path else default_resource("consistency_huo2024.csv")
    pos = np.zeros((len(EXPRESSIONS), 3), np.float32)
    neg = np.zeros_like(pos)
    for row in csv.DictReader(path.open()):
        name = CATEGORY_ALIASES.get(row["category"], row["category"])
        if name not in EXPRESSIONS:
            raise ValueError(f"{path}: unknown category {row['category']!r}")
        k = EXPRESSIONS.index(name)
        pos[k] = [float(row[f"cost_{d}_pos"]) for d in "vad"]
        neg[k] = [float(row[f"cost_{d}_neg"]) for d in "vad"]
    return pos, neg


def soft_cross_entropy(logits: torch.Tensor, target_probs: torch.Tensor,
                       class_weight: torch.Tensor | None = None) -> torch.Tensor:
    """Cross-entropy against a vote distribution (optionally class-weighted)."""
    log_p = F.log_softmax(logits, dim=1)
    per_class = -target_probs * log_p
    if class_weight is not None:
        per_class = per_class * class_weight
    return per_class.sum(1).mean()


def ccc(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Lin's concordance correlation coefficient per column ([N, D] -> [D])."""
    pm, tm = pred.mean(0), target.mean(0)
    pv, tv = pred.var(0, unbiased=False), target.var(0, unbiased=False)
    cov = ((pred - pm) * (target - tm)).mean(0)
    return 2 * cov / (pv + tv + (pm - tm) ** 2 + 1e-8)


def vad_loss(pred: torch.Tensor, target: torch.Tensor, ccc_weight: float = 1.0) -> torch.Tensor:
    """Sum over V, A, D of MSE + ccc_weight * (1 - CCC) (CAGE's regression loss)."""
    mse = ((pred - target) ** 2).mean(0)
    return (mse + ccc_weight * (1 - ccc(pred, target))).sum()


@dataclass
class ConsistencyLoss:
    """Hinge on VAD signs that contradict a class, weighted by p(class).

    penalty = sum_k p_k * sum_d [pos_kd * relu(v_d - m) + neg_kd * relu(-v_d - m)]
    with margin m: values within (-m, m) are never penalised.
    """

    cost_pos: torch.Tensor
    cost_neg: torch.Tensor
    margin: float = 0.05

    @classmethod
    def from_table(cls, path: str | Path | None = None, margin: float = 0.05) -> "ConsistencyLoss":
        pos, neg = read_consistency_table(path)
        return cls(torch.from_numpy(pos), torch.from_numpy(neg), margin)

    def to(self, device: torch.device | str) -> "ConsistencyLoss":
        return ConsistencyLoss(self.cost_pos.to(device), self.cost_neg.to(device), self.margin)

    def __call__(self, vad: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        probs = logits.softmax(1)
        over = F.relu(vad - self.margin)            # [N, 3]
        under = F.relu(-vad - self.margin)
        per_class = over @ self.cost_pos.T + under @ self.cost_neg.T   # [N, K]
        return (probs * per_class).sum(1).mean()

    def violations(self, vad: np.ndarray, top_class: np.ndarray) -> np.ndarray:
        """Bool [N]: the predicted VAD breaks a sign rule of the predicted class."""
        pos = self.cost_pos.cpu().numpy()[top_class] > 0
        neg = self.cost_neg.cpu().numpy()[top_class] > 0
        bad = (pos & (vad > self.margin)) | (neg & (vad < -self.margin))
        return bad.any(1)
