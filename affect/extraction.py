"""`affect.extract(images)` -> one DataFrame row per face (the I/O edge of `affect`).

Decoding and detection run in DataLoader workers; the main process batches the crops
for the network. Every input yields at least one row: a face, or a `no_face` / `error`
row with the reason, so one bad file never aborts a batch and nothing goes missing.
"""
from __future__ import annotations

import hashlib
import logging
import multiprocessing
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from affect.faces import DecodeError, Detection, FaceDetector, decode_gray, is_crop
from affect.model import VadExpressionNet
from affect.predict import forward_batch, resolve_device
from affect.schema import (BOX_COLUMNS, EXPRESSIONS, FACE_COLUMNS, PROB_COLUMNS, STATUS_ERROR,
                           STATUS_NO_FACE, STATUS_OK, VAD)
from affect.weights import ModelInfo, load_model

log = logging.getLogger(__name__)

ImageInput = str | Path | np.ndarray
Box = tuple[int, int, int, int]   # x, y, w, h in image pixels
CROP_MAX_SIDE = 128               # inputs no larger are taken as face crops (detect="auto")
MIN_FACE = 40                     # smallest face side the detector looks for, in pixels


class _DecodedImages(Dataset):
    """Decode + detect one input per item; errors become data, never exceptions."""

    def __init__(self, images: Sequence[ImageInput], detect: str, crop_max_side: int, out_size: int,
                 min_face: int, masks: Sequence[Sequence[Box]] | None):
        self.images, self.detect, self.crop_max_side = images, detect, crop_max_side
        self.out_size, self.min_face, self.masks = out_size, min_face, masks
        self._detector: FaceDetector | None = None

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[int, Detection | None, str]:
        if self._detector is None:   # one cascade per worker process
            self._detector = FaceDetector(min_face=self.min_face, out_size=self.out_size)
        try:
            gray = decode_gray(self.images[i])
        except DecodeError as exc:
            return i, None, str(exc)
        if self.masks and len(self.masks[i]):
            gray = gray.copy()
        for x, y, w, h in (self.masks[i] if self.masks else ()):
            gray[max(y, 0):max(y + h, 0), max(x, 0):max(x + w, 0)] = 128   # never detected, never scored
        crop = self.detect == "never" or (self.detect == "auto" and is_crop(gray, self.crop_max_side))
        found = self._detector.whole(gray) if crop else self._detector.detect(gray)
        return i, found, ""


def _worker_context() -> multiprocessing.context.BaseContext:
    """Fork when this process runs one Python thread; forkserver otherwise.

    Forking a process whose other threads hold locks (Prefect's task threads, say) can
    deadlock the workers. The forkserver preloads this module, so its workers start
    with torch imported; like any spawned process, it needs a `__main__` guard in scripts.
    """
    if threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    multiprocessing.set_forkserver_preload(["affect.extraction"])
    return multiprocessing.get_context("forkserver")


def source_name(image: ImageInput, i: int) -> str:
    return str(image) if isinstance(image, (str, Path)) else f"array:{i}"


def _empty_row(source: str, status: str, reason: str, version: str) -> dict:
    row = dict.fromkeys(FACE_COLUMNS, np.nan)
    row.update(source=source, face_idx=-1, expression=None, model_version=version,
               status=status, reason=reason)
    return row


def extract(images: Sequence[ImageInput], *, batch_size: int = 64, device: str | None = None,
            weights_dir: str | Path | None = None, model: tuple[VadExpressionNet, ModelInfo] | None = None,
            detect: str = "auto", crop_max_side: int = CROP_MAX_SIDE, min_face: int = MIN_FACE,
            num_workers: int = 0, tta_flip: bool = False, masks: Sequence[Sequence[Box]] | None = None,
            crops_dir: str | Path | None = None,
            on_progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Score every face in `images` (paths or arrays); one row per face, see affect.schema.

    detect: "auto" (inputs no larger than crop_max_side are already face crops),
    "always" or "never". Pass `model=load_model(...)` to reuse a loaded network.
    masks: per image, boxes blanked before detection (seats of students without consent).
    crops_dir: keep each scored face crop there as PNG; by default crops are never stored.
    """
    if detect not in ("auto", "always", "never"):
        raise ValueError(f"detect must be 'auto', 'always' or 'never', not {detect!r}")
    device_ = resolve_device(device)
    net, info = model if model is not None else load_model(weights_dir, device_)
    net = net.to(device_).eval()
    images = list(images)
    if masks is not None and len(masks) != len(images):
        raise ValueError(f"masks has {len(masks)} entries for {len(images)} images")
    loader = DataLoader(_DecodedImages(images, detect, crop_max_side, info.input_size, min_face, masks),
                        batch_size=batch_size, shuffle=False, num_workers=num_workers, collate_fn=list,
                        multiprocessing_context=_worker_context() if num_workers > 0 else None)
    rows: list[dict] = []
    pending: list[tuple[dict, np.ndarray]] = []   # face rows waiting for the network

    def flush() -> None:
        if not pending:
            return
        crops = torch.from_numpy(np.stack([c for _, c in pending]))
        vad, probs = forward_batch(net, crops, info.input_size, device_, tta_flip)
        vad, probs = vad.cpu().numpy(), probs.cpu().numpy()
        for (row, _), v, p in zip(pending, vad, probs):
            row.update(zip(VAD, v.tolist()))
            row.update(zip(PROB_COLUMNS, p.tolist()))
            row["expression"] = EXPRESSIONS[int(p.argmax())]
        pending.clear()

    done = 0
    for batch in loader:
        for i, found, reason in batch:
            source = source_name(images[i], i)
            if found is None:
                rows.append(_empty_row(source, STATUS_ERROR, reason, info.model_version))
            elif len(found.boxes) == 0:
                rows.append(_empty_row(source, STATUS_NO_FACE, "no face detected", info.model_version))
            for k in range(0 if found is None else len(found.boxes)):
                row = _empty_row(source, STATUS_OK, "", info.model_version)
                row.update(zip(BOX_COLUMNS, found.boxes[k].tolist()), face_idx=k,
                           det_score=float(found.scores[k]))
                rows.append(row)
                pending.append((row, found.crops[k]))
                if crops_dir is not None:
                    save_crop(found.crops[k], Path(crops_dir), source, k)
                if len(pending) >= batch_size:
                    flush()
        done += len(batch)
        if on_progress:
            on_progress(done, len(images))
    flush()
    frame = pd.DataFrame(rows, columns=list(FACE_COLUMNS))
    return frame.astype({"face_idx": "int64", **{c: "float64" for c in (*BOX_COLUMNS, "det_score", *VAD, *PROB_COLUMNS)}})


def crop_stem(source: str) -> str:
    """Crops of `source` are `<crop_stem>_<face_idx>.png`: a hash, so no names or IDs in file
    names, and erasure can still find a student's crops from their image paths."""
    return hashlib.sha1(source.encode()).hexdigest()[:16]


def save_crop(crop: np.ndarray, crops_dir: Path, source: str, face_idx: int) -> Path:
    """`<crop_stem(source)>_<face_idx>.png`: no names or IDs in crop file names."""
    crops_dir.mkdir(parents=True, exist_ok=True)
    path = crops_dir / f"{crop_stem(source)}_{face_idx}.png"
    Image.fromarray(crop).save(path)
    return path


def write_faces(frame: pd.DataFrame, path: str | Path) -> Path:
    """CSV or Parquet by suffix."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".parquet":
        frame.to_parquet(path, index=False)
    elif path.suffix.lower() == ".csv":
        frame.to_csv(path, index=False)
    else:
        raise ValueError(f"{path}: output must end in .csv or .parquet")
    return path
