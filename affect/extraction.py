"""`affect.extract(images)` -> one DataFrame row per face (the I/O edge of `affect`).

Decoding and detection run in DataLoader workers; the main process batches the crops
for the network. Every input yields at least one row: a face, or a `no_face` / `error`
row with the reason, so one bad file never aborts a batch and nothing goes missing.
"""
from __future__ import annotations

import hashlib
import logging
import math
import multiprocessing
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from affect.detect import SCORE_THRESHOLD
from affect.faces import MIN_FACE, DecodeError, Detection, FaceFinder, decode_image, is_crop, masked
from affect.identity import Matcher, student_names
from affect.matching import Enrolment
from affect.model import VadExpressionNet
from affect.network import Network, as_network, load_network
from affect.schema import (BOX_COLUMNS, EXPRESSIONS, FACE_COLUMNS, IDENTITY_COLUMNS, PROB_COLUMNS, STATUS_ERROR,
                           STATUS_NO_FACE, STATUS_OK, STATUS_UNMATCHED, VAD)
from affect.video import FRAME_INTERVAL_S, VideoError, is_video, sample_frames
from affect.weights import ModelInfo

log = logging.getLogger(__name__)

ImageInput = str | Path | np.ndarray
Box = tuple[int, int, int, int]   # x, y, w, h in image pixels
CROP_MAX_SIDE = 128               # inputs no larger are taken as face crops (detect="auto")
STILL = float("nan")              # frame_time_s of a still image
OUTPUT_SUFFIXES = (".csv", ".parquet")   # what write_faces writes
UNMATCHED_REASON = "matched no enrolled student (not scored, nothing of it kept)"


@dataclass
class Found:
    """What one image or one sampled video frame gave: faces, or the reason there are none."""

    frame_time_s: float
    detection: Detection | None   # None: the input could not be read
    error: str = ""               # why it could not be read
    # With an enrolment: who each face of `detection` is (None: nobody), the distance
    # behind it, and how many faces matched nobody and were dropped from `detection`.
    student_ids: list[str | None] | None = None
    distances: np.ndarray | None = None
    unmatched: int = 0


class _DecodedImages(Dataset):
    """Decode + detect one input per item (every sampled frame of a video); errors become data.

    With an enrolment, the faces of the inputs marked in `identify` are named
    (affect.identity) here, in the worker, so that a face matching nobody leaves it as a
    count only: never scored, never cropped, unless `keep_unmatched`.
    """

    def __init__(self, images: Sequence[ImageInput], detect: str, crop_max_side: int, out_size: int,
                 min_face: int, masks: Sequence[Sequence[Box]] | None, *, score_threshold: float = SCORE_THRESHOLD,
                 align: bool = True, frame_interval_s: float = FRAME_INTERVAL_S,
                 enrolment: Enrolment | None = None, identify: Sequence[bool] | None = None,
                 keep_unmatched: bool = False, network_checks: bool = False):
        self.images, self.detect, self.crop_max_side, self.masks = images, detect, crop_max_side, masks
        self.network_checks = network_checks   # crops wait for the network's face output (FaceFinder.whole)
        self.frame_interval_s = frame_interval_s
        self.enrolment, self.identify, self.keep_unmatched = enrolment, identify, keep_unmatched
        self.finder = FaceFinder(out_size, score_threshold, min_face, align)   # models load in each worker

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[int, list[Found]]:
        source, mask = self.images[i], (self.masks[i] if self.masks else ())
        matcher = (Matcher(self.enrolment) if self.enrolment is not None and (self.identify is None or self.identify[i])
                   else None)
        if is_video(source):
            return i, self._video(source, mask, matcher)
        try:
            image = decode_image(source)
        except DecodeError as exc:
            return i, [Found(STILL, None, str(exc))]
        image = masked(image, mask)
        found = Found(STILL, self._faces(image))
        if matcher is not None:
            matcher.add(image, found.detection.boxes)
            return i, self._named([found], matcher)
        return i, [found]

    def _faces(self, image: np.ndarray) -> Detection:
        crop = self.detect == "never" or (self.detect == "auto" and is_crop(image, self.crop_max_side))
        return self.finder.whole(image, self.network_checks) if crop else self.finder.detect(image)

    def _video(self, source: str | Path, mask: Sequence[Box], matcher: Matcher | None) -> list[Found]:
        """One Found per sampled frame; a read failure adds an error row after the frames before it."""
        found: list[Found] = []
        try:
            for t, frame in sample_frames(source, self.frame_interval_s):
                frame = masked(frame, mask)
                found.append(Found(t, self._faces(frame)))
                if matcher is not None:
                    matcher.add(frame, found[-1].detection.boxes)
        except VideoError as exc:
            failed = Found(STILL, None, str(exc))   # about the file, not one frame
        else:
            failed = None
        if matcher is not None:
            found = self._named(found, matcher)
        return found + ([failed] if failed else [])

    def _named(self, found: list[Found], matcher: Matcher) -> list[Found]:
        """Each frame's faces with their students; unmatched faces dropped and counted unless kept."""
        for item, named in zip(found, matcher.names()):
            ids = student_names(matcher.enrolment, named)
            keep = np.array([s is not None or self.keep_unmatched for s in ids], bool)
            item.detection = item.detection.subset(keep)
            item.student_ids = [s for s, k in zip(ids, keep) if k]
            item.distances = named.distance[keep]
            item.unmatched = int((~keep).sum())
        return found


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


@dataclass
class _Pending:
    """A face row waiting for the network, and what to do once it has scored."""

    row: dict
    crop: np.ndarray
    face_unchecked: bool           # the network's face output decides whether it is a face
    crop_path: Path | None = None  # keep the crop there (crops_dir), once it is a face


class _Scorer:
    """Scores face rows in batches on a thread of its own, so that the network runs while
    the next inputs are decoded (ONNX Runtime and torch release the GIL); one batch waits
    while another is scored. Leaving the `with` block scores what is left; an error
    cancels what was not scored yet.
    """

    def __init__(self, network: Network, tta_flip: bool, batch_size: int):
        self.network, self.tta_flip, self.batch_size = network, tta_flip, batch_size
        self.with_face = network.face_threshold is not None
        self.pending: list[_Pending] = []
        self.in_flight: tuple[list[_Pending], Future] | None = None
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="vadgrade-score")

    def __enter__(self) -> _Scorer:
        return self

    def __exit__(self, exc_type, *_) -> None:
        try:
            if exc_type is None:
                self.submit()
                self._finish()
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def add(self, pending: _Pending) -> None:
        self.pending.append(pending)
        if len(self.pending) >= self.batch_size:
            self.submit()

    def submit(self) -> None:
        """Queue the pending rows, then fill in the batch queued before (the network keeps busy)."""
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        future = self.pool.submit(self.network.predict, np.stack([p.crop for p in batch]), tta_flip=self.tta_flip,
                                  with_face=self.with_face)
        self._finish()
        self.in_flight = batch, future

    def _finish(self) -> None:
        if self.in_flight is None:
            return
        (batch, future), self.in_flight = self.in_flight, None
        vad, probs, *face = future.result()
        threshold = self.network.face_threshold
        for p, v, pr, f in zip(batch, vad, probs, face[0] if face else [None] * len(batch)):
            if p.face_unchecked and f < threshold:
                p.row.update(_empty_row(p.row["source"], p.row["frame_time_s"], STATUS_NO_FACE,
                                        f"no face found in the crop (face score {f:.2f} below {threshold:.2f})",
                                        p.row["model_version"]))
                p.row.pop("student_id", None)
                p.row.pop("match_distance", None)
                continue
            if p.face_unchecked:
                p.row["det_score"] = float(f)
            p.row.update(zip(VAD, v.tolist()))
            p.row.update(zip(PROB_COLUMNS, pr.tolist()))
            p.row["expression"] = EXPRESSIONS[int(pr.argmax())]
            if p.crop_path is not None:
                save_crop(p.crop, p.crop_path.parent, p.crop_path.name)


def source_name(image: ImageInput, i: int) -> str:
    return str(image) if isinstance(image, (str, Path)) else f"array:{i}"


def _empty_row(source: str, frame_time_s: float, status: str, reason: str, version: str) -> dict:
    row = dict.fromkeys(FACE_COLUMNS, np.nan)
    row.update(source=source, frame_time_s=frame_time_s, face_idx=-1, expression=None, model_version=version,
               status=status, reason=reason)
    return row


def extract(images: Sequence[ImageInput], *, batch_size: int = 64, device: str | None = None,
            weights_dir: str | Path | None = None,
            model: Network | tuple[VadExpressionNet, ModelInfo] | None = None, backend: str = "auto",
            detect: str = "auto", crop_max_side: int = CROP_MAX_SIDE, min_face: int = MIN_FACE,
            score_threshold: float = SCORE_THRESHOLD, align: bool = True,
            frame_interval_s: float = FRAME_INTERVAL_S, num_workers: int = 0,
            tta_flip: bool = False, masks: Sequence[Sequence[Box]] | None = None,
            crops_dir: str | Path | None = None, enrolment: Enrolment | None = None,
            identify: Sequence[bool] | None = None, keep_unmatched: bool = False,
            on_progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Score every face in `images` (image or video paths, or arrays); one row per face, see affect.schema.

    detect: "auto" (inputs no larger than crop_max_side are already face crops),
    "always" or "never". Crops are scored only when a face shows in them (else no_face):
    YuNet judges, or the network's own face output when it has one (affect.distil).
    Pass `model=load_network(...)` (or the pair `load_model` returns) to reuse a loaded network.
    backend: "auto" (the int8 network on a CPU when the weights have one, else torch),
    "torch" or "int8" (affect.network); rows carry the version of the network that scored them.
    score_threshold: YuNet's minimum score for a face in a photo or frame.
    align: warp each detected face by its landmarks to the FER framing (else frame it by its box).
    frame_interval_s: a video (see affect.schema.VIDEO_SUFFIXES) is sampled once per interval;
    its rows carry frame_time_s.
    masks: per input, boxes blanked before detection (seats of students without consent),
    in every frame of a video.
    crops_dir: keep each scored face crop there as PNG; by default crops are never stored.
    enrolment: match faces to these enrolled students (affect.matching.calibrate); the rows
    gain IDENTITY_COLUMNS. A face matching nobody is dropped before scoring and cropping and
    leaves one `unmatched` row without box or scores, unless `keep_unmatched` (then it is
    scored with an empty student_id, as `vadgrade identify` shows it).
    identify: per input, whether to match its faces (default: every input).
    """
    if detect not in ("auto", "always", "never"):
        raise ValueError(f"detect must be 'auto', 'always' or 'never', not {detect!r}")
    if frame_interval_s <= 0:
        raise ValueError(f"frame_interval_s must be positive, not {frame_interval_s}")
    network = as_network(model, device) if model is not None else load_network(weights_dir, device, backend)
    version = network.model_version
    images = list(images)
    if masks is not None and len(masks) != len(images):
        raise ValueError(f"masks has {len(masks)} entries for {len(images)} images")
    if identify is not None and len(identify) != len(images):
        raise ValueError(f"identify has {len(identify)} entries for {len(images)} images")
    dataset = _DecodedImages(images, detect, crop_max_side, network.input_size, min_face, masks,
                             score_threshold=score_threshold, align=align, frame_interval_s=frame_interval_s,
                             enrolment=enrolment, identify=identify, keep_unmatched=keep_unmatched,
                             network_checks=network.face_threshold is not None)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers, collate_fn=list,
                        multiprocessing_context=_worker_context() if num_workers > 0 else None)
    rows: list[dict] = []
    done = 0
    with _Scorer(network, tta_flip, batch_size) as scorer:
        for batch in loader:
            for i, found_list in batch:
                source = source_name(images[i], i)
                for found in found_list:
                    rows += _rows_of(found, source, version, scorer, crops_dir)
            done += len(batch)
            if on_progress:
                on_progress(done, len(images))
    columns = [*FACE_COLUMNS, *(IDENTITY_COLUMNS if enrolment is not None else ())]
    frame = pd.DataFrame(rows, columns=columns)
    floats = ("frame_time_s", *BOX_COLUMNS, "det_score", *VAD, *PROB_COLUMNS,
              *(("match_distance",) if enrolment is not None else ()))
    texts = {"student_id": "str"} if enrolment is not None else {}
    return frame.astype({"face_idx": "int64", **{c: "float64" for c in floats}, **texts})


def _rows_of(found: Found, source: str, version: str, scorer: _Scorer, crops_dir: str | Path | None) -> list[dict]:
    """The rows of one image or frame: an error or no_face row, one unmatched row per face
    that matched nobody, and one row per face, handed to `scorer` to be filled in."""
    t, detection = found.frame_time_s, found.detection
    rows = []
    if detection is None:
        rows.append(_empty_row(source, t, STATUS_ERROR, found.error, version))
    elif len(detection.boxes) == 0 and not found.unmatched:
        rows.append(_empty_row(source, t, STATUS_NO_FACE, detection.reason, version))
    rows += [_empty_row(source, t, STATUS_UNMATCHED, UNMATCHED_REASON, version) for _ in range(found.unmatched)]
    for k in range(0 if detection is None else len(detection.boxes)):
        row = _empty_row(source, t, STATUS_OK, "", version)
        row.update(zip(BOX_COLUMNS, detection.boxes[k].tolist()), face_idx=k, det_score=float(detection.scores[k]))
        if found.student_ids is not None:
            row.update(student_id=found.student_ids[k], match_distance=float(found.distances[k]))
        rows.append(row)
        scorer.add(_Pending(row, detection.crops[k], detection.face_unchecked,
                            None if crops_dir is None else Path(crops_dir) / crop_name(source, k, t)))
    return rows


def crop_stem(source: str) -> str:
    """Every crop of `source` starts with this hash: no names or IDs in file names, and
    erasure can still find a student's crops from their image paths."""
    return hashlib.sha1(source.encode()).hexdigest()[:16]


def crop_name(source: str, face_idx: int, frame_time_s: float = 0.0) -> str:
    """`<crop_stem>_<seconds>s_<face_idx>.png`; a photo is at 0 s, as in the warehouse's key."""
    seconds = 0.0 if frame_time_s is None or math.isnan(frame_time_s) else frame_time_s
    return f"{crop_stem(source)}_{seconds:g}s_{face_idx}.png"


def save_crop(crop: np.ndarray, crops_dir: Path, name: str) -> Path:
    crops_dir.mkdir(parents=True, exist_ok=True)
    path = crops_dir / name
    Image.fromarray(crop).save(path)
    return path


def write_faces(frame: pd.DataFrame, path: str | Path) -> Path:
    """CSV or Parquet by suffix (see OUTPUT_SUFFIXES)."""
    path = Path(path)
    if path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise ValueError(f"{path}: output must end in {' or '.join(OUTPUT_SUFFIXES)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path
