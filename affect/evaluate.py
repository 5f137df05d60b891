"""Extractor evaluation: FERPlus majority accuracy, FER2013 PrivateTest accuracy, VAD CCC/RMSE.

`metrics(...)` is pure (arrays in, dict out); `evaluate_extractor(...)` is the I/O edge
that loads the test split, runs the model and writes the JSON report.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from affect.data import detect_format, fer2013_labels, load_split
from affect.losses import ConsistencyLoss
from affect.network import load_network
from affect.schema import EXPRESSIONS, FER2013_TO_FERPLUS, VAD
from affect.weights import record_metrics

log = logging.getLogger(__name__)

# FERPlus class indices that exist in FER2013 (all but contempt).
FER2013_CLASSES = np.array([EXPRESSIONS.index(n) for n in FER2013_TO_FERPLUS])


def confusion(label: np.ndarray, pred: np.ndarray, n: int) -> np.ndarray:
    """[true, predicted] counts."""
    return np.bincount(label * n + pred, minlength=n * n).reshape(n, n)


def accuracy_block(label: np.ndarray, pred: np.ndarray, classes: list[str]) -> dict:
    """Accuracy, per-class accuracy and confusion matrix over rows with a label >= 0."""
    keep = label >= 0
    label, pred = label[keep], pred[keep]
    cm = confusion(label, pred, len(classes))
    per_class = {c: (float(cm[i, i] / cm[i].sum()) if cm[i].sum() else None)
                 for i, c in enumerate(classes)}
    return {"n": int(keep.sum()), "accuracy": float((label == pred).mean()) if len(label) else None,
            "per_class_accuracy": per_class, "confusion_matrix": cm.tolist(), "classes": classes}


def vad_block(pred: np.ndarray, target: np.ndarray) -> dict:
    """RMSE and Lin's CCC per dimension."""
    out = {}
    for i, d in enumerate(VAD):
        p, t = pred[:, i].astype(np.float64), target[:, i].astype(np.float64)
        cov = ((p - p.mean()) * (t - t.mean())).mean()
        ccc = 2 * cov / (p.var() + t.var() + (p.mean() - t.mean()) ** 2 + 1e-12)
        out[d] = {"rmse": float(np.sqrt(((p - t) ** 2).mean())), "ccc": float(ccc)}
    return out


def fer2013_view(probs: np.ndarray) -> np.ndarray:
    """FERPlus-head probabilities [N, 8] -> FER2013 code order [N, 7] (contempt dropped)."""
    return probs[:, FER2013_CLASSES]


def metrics(probs: np.ndarray, vad: np.ndarray, *, majority: np.ndarray, vad_target: np.ndarray,
            fer2013: np.ndarray | None, consistency: ConsistencyLoss,
            fer2013_probs: np.ndarray | None = None) -> dict:
    """Every figure the issue asks of the extractor, from predictions and targets.

    `fer2013` holds original FER2013 codes (0..6, -1 = none);
    `fer2013_probs` [N, 7] comes from the FER2013 head when the model has one, else the
    7-class view of the FERPlus head is scored.
    """
    top = probs.argmax(1)
    labelled = majority >= 0   # VAD targets of images without a clear vote are near zero
    out = {"ferplus_majority": accuracy_block(majority, top, list(EXPRESSIONS)),
           "vad": {"n": int(labelled.sum()), **vad_block(vad[labelled], vad_target[labelled])},
           "consistency_violation_rate": float(consistency.violations(vad, top).mean())}
    if fer2013 is not None:
        classes = list(FER2013_TO_FERPLUS)
        out["fer2013_original_ferplus_head"] = accuracy_block(fer2013, fer2013_view(probs).argmax(1), classes)
        out["fer2013_original"] = (accuracy_block(fer2013, fer2013_probs.argmax(1), classes)
                                   if fer2013_probs is not None else out["fer2013_original_ferplus_head"])
    return out


def flat_metrics(m: dict) -> dict[str, float]:
    """The scalar part of a metrics dict, for MLflow and the weights' metadata."""
    out = {"accuracy": m["ferplus_majority"]["accuracy"],
           "consistency_violation_rate": m["consistency_violation_rate"]}
    if "fer2013_original" in m:
        out["fer2013_accuracy"] = m["fer2013_original"]["accuracy"]
    for d in VAD:
        out[f"{d}_ccc"] = m["vad"][d]["ccc"]
        out[f"{d}_rmse"] = m["vad"][d]["rmse"]
    return out


def evaluate_extractor(data: str | Path, *, split: str = "test", weights_dir: str | Path | None = None,
                       fer2013_labels_csv: str | Path | None = None, device: str | None = None,
                       tta_flip: bool = True,
                       consistency_table: str | Path | None = None, out_json: str | Path | None = None,
                       record: bool = False, backend: str = "torch") -> dict:
    """Evaluate weights on a dataset split and (optionally) write the figures as JSON.

    `record=True` also stores the headline figures in the weights' metadata under
    `metrics[split]` (`int8.metrics[split]` for the int8 network), so the shipped weights
    carry what was measured on them.
    backend: "torch" (the network as trained), "int8" (the CPU fast path) or "auto" (as extract).
    """
    network = load_network(weights_dir, device, backend)
    info = network.info
    faces = load_split(data, split, keep_all=True)
    vad, probs, *fer_probs = network.predict(faces.images, tta_flip=tta_flip, with_fer2013=info.fer2013_head)
    fer = None
    if fer2013_labels_csv and detect_format(data) == "ferplus":
        fer = fer2013_labels(fer2013_labels_csv, faces.names)
    report = metrics(probs, vad, majority=faces.label, vad_target=faces.vad,
                     fer2013=fer, consistency=ConsistencyLoss.from_table(consistency_table),
                     fer2013_probs=fer_probs[0] if fer_probs else None)
    report.update({"model_version": network.model_version, "data": str(data), "split": split,
                   "n_images": len(faces), "tta_flip": tta_flip})
    if record:
        record_metrics(weights_dir, split, flat_metrics(report) | {"n": report["ferplus_majority"]["n"],
                                                                   "tta_flip": tta_flip},
                       int8=network.model_version != info.model_version)
    if out_json:
        Path(out_json).parent.mkdir(parents=True, exist_ok=True)
        Path(out_json).write_text(json.dumps(report, indent=2) + "\n")
    return report
