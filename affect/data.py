"""Face datasets for training and evaluation: FERPlus folders, FER2013 CSV, class folders.

Every loader returns a `FaceSet`: 48x48-or-other uint8 gray images in memory plus
soft expression targets, continuous VAD targets and a hard label. FERPlus and FER2013
fit in ~70 MB, so in-memory arrays keep the training loop free of per-epoch decoding.
"""
from __future__ import annotations

import csv
import json
import logging
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image

from affect.matching import iou
from affect.schema import CATEGORY_ALIASES, EXPRESSIONS, FER2013_TO_FERPLUS, IMAGE_SUFFIXES, VAD

log = logging.getLogger(__name__)

N_EXPR = len(EXPRESSIONS)
FERPLUS_VOTE_COLUMNS = (*EXPRESSIONS, "unknown", "NF")
FERPLUS_SPLITS = {"train": "FER2013Train", "valid": "FER2013Valid", "test": "FER2013Test"}
FER2013_USAGE = {"train": "Training", "valid": "PublicTest", "test": "PrivateTest"}


class DatasetError(ValueError):
    """A dataset path or file that cannot be used, with a message naming it."""


@dataclass
class FaceSet:
    """Faces and targets of one split, aligned by row."""

    images: np.ndarray            # uint8 [N, H, W]
    probs: np.ndarray             # float32 [N, 8] soft expression target (sums to 1)
    vad: np.ndarray               # float32 [N, 3] in [-1, 1]
    label: np.ndarray             # int64 [N] hard FERPlus-class label, -1 if none
    names: list[str] = field(default_factory=list)
    vad_given: bool = False       # True when VAD came from the data, not the anchors

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, index: np.ndarray) -> "FaceSet":
        return FaceSet(self.images[index], self.probs[index], self.vad[index],
                       self.label[index], [self.names[i] for i in index], self.vad_given)


def default_resource(name: str) -> Path:
    """Path of a table shipped inside the package (anchors, consistency preset)."""
    return Path(str(resources.files("affect") / "resources" / name))


def read_vad_anchors(path: str | Path | None = None) -> np.ndarray:
    """[8, 3] VAD anchor per FERPlus class, in [-1, 1] (NRC VAD lexicon by default)."""
    path = Path(path) if path else default_resource("vad_anchors.csv")
    rows = {r["category"]: r for r in csv.DictReader(path.open())}
    missing = [c for c in EXPRESSIONS if c not in rows]
    if missing:
        raise DatasetError(f"{path}: no anchor row for {missing}")
    return np.array([[float(rows[c][d]) for d in VAD] for c in EXPRESSIONS], np.float32)


def ferplus_majority(votes: np.ndarray) -> np.ndarray:
    """The official FERPlus majority label (microsoft/FERPlus), -1 where there is none.

    Single votes are ignored; a class must hold more than half of the remaining votes
    and must not be unknown or not-a-face.
    """
    v = np.where(votes > 1, votes, 0)
    total = v.sum(1)
    top = v.argmax(1)
    ok = (v.max(1) * 2 > total) & (total > 0) & (top < N_EXPR)
    return np.where(ok, top, -1).astype(np.int64)


def votes_to_targets(votes: np.ndarray, anchors: np.ndarray, max_unknown: int = 3
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Soft targets from 10-way vote counts (Duan et al. 2022).

    Returns (keep mask, probs [N,8], vad [N,3], majority label). Images with more than
    `max_unknown` unknown/NF votes are dropped; the rest keep the distribution over the
    8 expressions, and VAD is the probability-weighted mean of the class anchors.
    """
    expr = votes[:, :N_EXPR].astype(np.float32)
    keep = (votes[:, N_EXPR:].sum(1) <= max_unknown) & (expr.sum(1) > 0)
    probs = expr / np.maximum(expr.sum(1, keepdims=True), 1e-9)
    return keep, probs, probs @ anchors, ferplus_majority(votes)


def _read_gray(path: Path, size: int | None) -> np.ndarray:
    try:
        with Image.open(path) as im:
            im = im.convert("L")
            if size and im.size != (size, size):
                im = im.resize((size, size), Image.BILINEAR)
            return np.asarray(im, dtype=np.uint8)
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path}: not a readable image ({exc})") from exc


def load_ferplus(root: str | Path, split: str, *, anchors: np.ndarray | None = None,
                 max_unknown: int = 3, keep_all: bool = False, size: int = 48) -> FaceSet:
    """Load one split of the standard FERPlus layout (`FER2013Train/label.csv` + PNGs).

    `root` is the folder holding `FER2013Train/` etc. (or its parent `ferplus/`).
    `keep_all=True` keeps images without a usable vote distribution (evaluation on the
    full FER2013 split needs every image).
    """
    root = Path(root)
    if (root / "ferplus").is_dir() and not (root / FERPLUS_SPLITS["train"]).is_dir():
        root = root / "ferplus"
    folder = root / FERPLUS_SPLITS.get(split, split)
    label_csv = folder / "label.csv"
    if not label_csv.is_file():
        raise DatasetError(f"{label_csv} not found: expected the FERPlus layout "
                           f"<root>/{FERPLUS_SPLITS.get(split, split)}/label.csv")
    anchors = read_vad_anchors() if anchors is None else anchors
    names, votes = [], []
    with label_csv.open(newline="") as fh:
        for line_no, row in enumerate(csv.reader(fh), start=1):
            if len(row) != 12:
                raise DatasetError(f"{label_csv}:{line_no}: expected 12 columns, got {len(row)}")
            names.append(row[0])
            try:
                votes.append([int(x) for x in row[2:]])
            except ValueError as exc:
                raise DatasetError(f"{label_csv}:{line_no}: bad vote count ({exc})") from exc
    votes_arr = np.array(votes, np.int64)
    keep, probs, vad, label = votes_to_targets(votes_arr, anchors, max_unknown)
    if keep_all:
        keep[:] = True
    index = np.flatnonzero(keep)
    images = np.stack([_read_gray(folder / names[i], size) for i in index])
    log.info("FERPlus %s: %d of %d images kept", split, len(index), len(names))
    return FaceSet(images, probs[index].astype(np.float32), vad[index].astype(np.float32),
                   label[index], [f"{folder.name}/{names[i]}" for i in index])


def load_fer2013_csv(path: str | Path, split: str, *, anchors: np.ndarray | None = None) -> FaceSet:
    """Load a FER2013-format CSV: `emotion, pixels, Usage[, Valence, Arousal, Dominance]`.

    Labels are one-hot in the FERPlus class order; VAD comes from the file when it has
    the three columns (e.g. the VAD-annotated FER2013 of Huo & Ge), else from anchors.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path} not found")
    anchors = read_vad_anchors() if anchors is None else anchors
    usage = FER2013_USAGE.get(split, split)
    images, labels, vads = [], [], []
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        header = {h.lower(): h for h in reader.fieldnames or []}
        for col in ("emotion", "pixels", "usage"):
            if col not in header:
                raise DatasetError(f"{path}: missing column '{col}' (have {reader.fieldnames})")
        vad_cols = [header.get(d) for d in VAD]
        has_vad = all(vad_cols)
        for line_no, row in enumerate(reader, start=2):
            if row[header["usage"]] != usage:
                continue
            try:
                code = int(row[header["emotion"]])
                pix = np.array(row[header["pixels"]].split(), np.uint8)
                side = int(round(len(pix) ** 0.5))
                if side * side != len(pix) or not 0 <= code < len(FER2013_TO_FERPLUS):
                    raise ValueError("pixels are not a square image or emotion code unknown")
                images.append(pix.reshape(side, side))
                labels.append(EXPRESSIONS.index(FER2013_TO_FERPLUS[code]))
                if has_vad:
                    vads.append([float(row[c]) for c in vad_cols])
            except ValueError as exc:
                raise DatasetError(f"{path}:{line_no}: {exc}") from exc
    if not images:
        raise DatasetError(f"{path}: no rows with Usage == {usage!r}")
    label = np.array(labels, np.int64)
    probs = np.eye(N_EXPR, dtype=np.float32)[label]
    vad = np.array(vads, np.float32).clip(-1, 1) if has_vad else probs @ anchors
    return FaceSet(np.stack(images), probs, vad.astype(np.float32), label,
                   [f"{path.name}:{i}" for i in range(len(label))], vad_given=has_vad)


def load_class_folders(root: str | Path, *, anchors: np.ndarray | None = None,
                       size: int = 48) -> FaceSet:
    """Load `root/<class_name>/*.png`; class names are FERPlus or FER2013 names."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder")
    anchors = read_vad_anchors() if anchors is None else anchors
    images, labels, names = [], [], []
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        name = CATEGORY_ALIASES.get(sub.name.lower(), sub.name.lower())
        if name not in EXPRESSIONS:
            raise DatasetError(f"{sub}: unknown class folder (expected one of {EXPRESSIONS})")
        for file in sorted(sub.iterdir()):
            if file.suffix.lower() in IMAGE_SUFFIXES:
                images.append(_read_gray(file, size))
                labels.append(EXPRESSIONS.index(name))
                names.append(str(file.relative_to(root)))
    if not images:
        raise DatasetError(f"{root}: no images in class folders")
    label = np.array(labels, np.int64)
    probs = np.eye(N_EXPR, dtype=np.float32)[label]
    return FaceSet(np.stack(images), probs, (probs @ anchors).astype(np.float32), label, names)


def detect_format(path: str | Path) -> str:
    """'ferplus', 'fer2013_csv' or 'folders', from what lies at `path`."""
    path = Path(path)
    if path.is_file() and path.suffix.lower() == ".csv":
        return "fer2013_csv"
    if path.is_dir():
        roots = (path, path / "ferplus")
        if any((root / split / "label.csv").is_file() for root in roots for split in FERPLUS_SPLITS.values()):
            return "ferplus"
        return "folders"
    raise DatasetError(f"{path}: no dataset here (expected a FERPlus folder, a FER2013 CSV "
                       "or a folder of class folders)")


def load_split(path: str | Path, split: str, **kw) -> FaceSet:
    """Load `split` ('train' | 'valid' | 'test') of whichever format lies at `path`."""
    fmt = detect_format(path)
    if fmt == "ferplus":
        return load_ferplus(path, split, **kw)
    kw.pop("max_unknown", None)
    kw.pop("keep_all", None)
    if fmt == "fer2013_csv":
        kw.pop("size", None)
        return load_fer2013_csv(path, split, **kw)
    sub = Path(path) / split
    return load_class_folders(sub if sub.is_dir() else path, **kw)


def fer2013_labels(csv_path: str | Path, names: list[str]) -> np.ndarray:
    """Original FER2013 code (0 angry .. 6 neutral) for FERPlus names `Split/file.png`.

    Reads `fer2013_original_labels.csv`; images marked ambiguous (and names it lacks) get
    -1 so they are left out of losses and accuracies: their label cannot be pinned down.
    """
    table = {}
    with Path(csv_path).open(newline="") as fh:
        for line_no, row in enumerate(csv.DictReader(fh), start=2):
            try:
                code = int(row["fer2013_label"])
                key = f"{row['split']}/{row['image']}"
            except (KeyError, TypeError, ValueError) as exc:
                raise DatasetError(f"{csv_path}:{line_no}: expected split,image,fer2013_label,... "
                                   f"({exc})") from exc
            if not 0 <= code < len(FER2013_TO_FERPLUS):
                raise DatasetError(f"{csv_path}:{line_no}: fer2013_label {code} is not 0..6")
            table[key] = code if row.get("ambiguous", "0") == "0" else -1
    return np.array([table.get(n, -1) for n in names], np.int64)


def read_wider(root: str | Path) -> dict[str, dict]:
    """WIDER FACE annotations: photo -> {"boxes": [N, 4] every annotated face, plus `root`'s
    eval_setting_face_indices.json entries ("medium", "hard": indices) when present}."""
    root = Path(root)
    lines = (root / "wider_dev_bbx_gt.txt").read_text().split("\n")
    settings_path = root / "eval_setting_face_indices.json"
    settings = json.loads(settings_path.read_text()) if settings_path.is_file() else {}
    photos, i = {}, 0
    while i < len(lines) and lines[i].strip():
        name, n = lines[i].strip(), int(lines[i + 1])
        rows = [[float(v) for v in line.split()[:4]] for line in lines[i + 2:i + 2 + max(n, 1)]][:n]
        boxes = np.array(rows).reshape(-1, 4)
        photos[name] = {"boxes": boxes[boxes[:, 2] > 0] if n else boxes, **settings.get(name, {})}
        i += 2 + max(n, 1)
    return photos


def wider_halves(photos: dict[str, dict]) -> tuple[list[str], list[str]]:
    """(photos that may train, photos held out for measuring): alternate names in sorted order.

    The student's face output learns background from the first half; benchmarks/face_check.py
    draws its background patches from the second only.
    """
    names = sorted(photos)
    return names[0::2], names[1::2]


def background_patches(root: str | Path, photos: dict[str, dict], names: list[str], n: int,
                       rng: np.random.Generator, side: int = 48) -> np.ndarray:
    """`n` square gray patches (24-256 px, resized to `side`) of the photos `names` that touch
    no annotated face grown by 25 % on each side: examples of what a face crop is not."""
    gray = {name: np.asarray(Image.open(Path(root) / "images" / name).convert("L")) for name in names}
    patches = []
    while len(patches) < n:
        name = names[rng.integers(len(names))]
        photo = gray[name]
        side_px = int(np.exp(rng.uniform(np.log(24), np.log(min(256, min(photo.shape) - 1)))))
        x, y = rng.integers(0, photo.shape[1] - side_px), rng.integers(0, photo.shape[0] - side_px)
        faces = photos[name]["boxes"].copy()
        faces[:, :2] -= 0.25 * faces[:, 2:]
        faces[:, 2:] *= 1.5
        if len(faces) and (iou(np.array([[x, y, side_px, side_px]], float), faces) > 0).any():
            continue
        patch = Image.fromarray(photo[y:y + side_px, x:x + side_px]).resize((side, side), Image.BOX)
        patches.append(np.asarray(patch))
    return np.stack(patches)
