"""`affect.extract(images)` -> one DataFrame row per face (the I/O edge of `affect`).

Decoding and detection run in DataLoader workers; the main process batches the crops
for the network. Every input yields at least one row: a face, or a `no_face` / `error`
row with the reason, so one bad file never aborts a batch and nothing goes missing.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset

from affect.faces import DecodeError, Detection, FaceDetector, decode_gray, is_crop
from affect.model import VadExpressionNet
from affect.predict import forward_batch, resolve_device
from affect.schema import (BOX_COLUMNS, EXPRESSIONS, FACE_COLUMNS, PROB_COLUMNS, STATUS_ERROR,
                           STATUS_NO_FACE, STATUS_OK, VAD)
from affect.weights import ModelInfo, load_model

log = logging.getLogger(__name__)

ImageInput = str | Path | np.ndarray


class _DecodedImages(Dataset):
    """Decode + detect one input per item; errors become data, never exceptions."""

    def __init__(self, images: Sequence[ImageInput], detect: str, crop_max_side: int, out_size: int,
                 min_face: int):
        self.images, self.detect, self.crop_max_side = images, detect, crop_max_side
        self.out_size, self.min_face = out_size, min_face
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
        crop = self.detect == "never" or (self.detect == "auto" and is_crop(gray, self.crop_max_side))
        found = self._detector.whole(gray) if crop else self._detector.detect(gray)
        return i, found, ""


def source_name(image: ImageInput, i: int) -> str:
    return str(image) if isinstance(image, (str, Path)) else f"array:{i}"


def _empty_row(source: str, status: str, reason: str, version: str) -> dict:
    row = dict.fromkeys(FACE_COLUMNS, np.nan)
    row.update(source=source, face_idx=-1, expression=None, model_version=version,
               status=status, reason=reason)
    return row


def extract(images: Sequence[ImageInput], *, batch_size: int = 64, device: str | None = None,
            weights_dir: str | Path | None = None, model: tuple[VadExpressionNet, ModelInfo] | None = None,
            detect: str = "auto", crop_max_side: int = 128, min_face: int = 40,
            num_workers: int = 0, tta_flip: bool = False,
            on_progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Score every face in `images` (paths or arrays); one row per face, see affect.schema.

    detect: "auto" (inputs no larger than crop_max_side are already face crops),
    "always" or "never". Pass `model=load_model(...)` to reuse a loaded network.
    """
    if detect not in ("auto", "always", "never"):
        raise ValueError(f"detect must be 'auto', 'always' or 'never', not {detect!r}")
    device_ = resolve_device(device)
    net, info = model if model is not None else load_model(weights_dir, device_)
    net = net.to(device_).eval()
    images = list(images)
    loader = DataLoader(_DecodedImages(images, detect, crop_max_side, info.input_size, min_face),
                        batch_size=batch_size, shuffle=False, num_workers=num_workers,
                        collate_fn=list, persistent_workers=False)
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
                if len(pending) >= batch_size:
                    flush()
        done += len(batch)
        if on_progress:
            on_progress(done, len(images))
    flush()
    frame = pd.DataFrame(rows, columns=list(FACE_COLUMNS))
    return frame.astype({"face_idx": "int64", **{c: "float64" for c in (*BOX_COLUMNS, "det_score", *VAD, *PROB_COLUMNS)}})


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
