"""Intake of classroom image batches: find files, enforce consent, map faces to seats.

Two layouts per session folder (see README "Image batches"):
  (a) per-student images `<root>/<session>/<student_id>/*.jpg`, or a manifest CSV
      `path, student_id, session_id[, captured_at]`;
  (b) whole-classroom frames `<root>/<session>/<camera>[_anything].jpg` with a seat map
      `camera, student_id, x, y, w, h`; a face belongs to the seat holding its centre.
Consent is decided here, from paths and the roster alone, so an image of a student
without consent is never opened; in frames, their seats are masked before detection.
"""
from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from warehouse.errors import InputError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
SEAT_COLUMNS = ["camera", "student_id", "x", "y", "w", "h"]
MANIFEST_COLUMNS = ["path", "student_id", "session_id"]
ERASED_REASON = "erased on request (not opened)"


@dataclass
class IntakePlan:
    """Images to score (one row each) and every file set aside, with its reason."""

    images: pd.DataFrame                 # path, session_id, student_id (None in frames), camera, layout
    set_aside: list[dict] = field(default_factory=list)   # {"path", "reason"}

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for item in self.set_aside:
            out[item["reason"]] = out.get(item["reason"], 0) + 1
        return out


def _is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def camera_of(frame: Path) -> str:
    """`cam1.jpg` and `cam1_0930.jpg` both belong to camera `cam1`."""
    return frame.stem.split("_", 1)[0]


def discover(root: str | Path) -> IntakePlan:
    """Walk `<root>/<session>/...` and list every image with its session and student/camera."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(str(root), ["image folder not found"])
    rows, aside = [], []
    for session in sorted(p for p in root.iterdir() if p.is_dir()):
        for entry in sorted(session.iterdir()):
            if entry.is_dir():
                for file in sorted(entry.rglob("*")):
                    if _is_image(file):
                        rows.append((str(file), session.name, entry.name, None, "per_student"))
                    elif file.is_file():
                        aside.append({"path": str(file), "reason": "not an image file (by name)"})
            elif _is_image(entry):
                rows.append((str(entry), session.name, None, camera_of(entry), "frame"))
            elif entry.is_file() and entry.suffix.lower() != ".csv":
                aside.append({"path": str(entry), "reason": "not an image file (by name)"})
    images = pd.DataFrame(rows, columns=["path", "session_id", "student_id", "camera", "layout"])
    return IntakePlan(images, aside)


def read_manifest(path: str | Path, root: str | Path) -> IntakePlan:
    """Rows `path, student_id, session_id[, captured_at]`; paths are relative to `root`.

    Rows pointing outside the root or to missing files are set aside by line number.
    """
    path, root = Path(path), Path(root).resolve()
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in MANIFEST_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(str(path), [f"missing column(s): {', '.join(missing)}"])
    rows, aside = [], []
    for line, rec in zip(range(2, len(table) + 2), table.itertuples(index=False)):
        target = (root / rec.path).resolve()
        where = f"{path.name}:{line} ({rec.path})"
        if not target.is_relative_to(root):
            aside.append({"path": where, "reason": "manifest path outside the data root"})
        elif not target.is_file():
            aside.append({"path": where, "reason": "manifest path not found"})
        elif not rec.student_id or not rec.session_id:
            aside.append({"path": where, "reason": "manifest row without student_id or session_id"})
        else:
            rows.append((str(target), rec.session_id, rec.student_id, None, "per_student"))
    images = pd.DataFrame(rows, columns=["path", "session_id", "student_id", "camera", "layout"])
    return IntakePlan(images, aside)


def read_seat_map(path: str | Path) -> pd.DataFrame:
    """Seat rectangles per camera; overlapping seats are an error naming both."""
    path = Path(path)
    table = pd.read_csv(path, dtype={"camera": str, "student_id": str})
    missing = [c for c in SEAT_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(str(path), [f"missing column(s): {', '.join(missing)}"])
    problems = []
    for line, rec in zip(range(2, len(table) + 2), table.itertuples(index=False)):
        if not all(np.isfinite([rec.x, rec.y, rec.w, rec.h])) or rec.w <= 0 or rec.h <= 0:
            problems.append(f"line {line} (student_id {rec.student_id!r}): seat needs finite x, y and positive w, h")
    for camera, seats in table.groupby("camera"):
        boxes = seats[["x", "y", "w", "h"]].to_numpy(float)
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                a, b = boxes[i], boxes[j]
                if a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]:
                    problems.append(f"camera {camera!r}: seats of {seats.iloc[i].student_id!r} and "
                                    f"{seats.iloc[j].student_id!r} overlap")
    if problems:
        raise InputError(str(path), problems)
    return table[SEAT_COLUMNS]


def apply_consent(plan: IntakePlan, roster: pd.DataFrame, erased: Collection[str] = ()) -> IntakePlan:
    """Keep per-student images of consenting roster students; set the others aside unopened.

    `erased`: students erased from the store (warehouse.erase.erased_students); their
    images are set aside unopened even if the roster still lists them with consent.
    For classroom frames, pass a roster whose consent is False for them so their seats are masked.
    """
    consent = dict(zip(roster["student_id"].astype(str), roster["consent"].astype(bool)))
    erased = set(erased)
    images = plan.images
    per_student = images["layout"] == "per_student"
    gone = images["student_id"].map(lambda s: s in erased).astype(bool)
    known = images["student_id"].map(lambda s: s in consent)
    agreed = images["student_id"].map(lambda s: consent.get(s, False)) & ~gone
    aside = list(plan.set_aside)
    for rec in images[per_student & gone].itertuples():
        aside.append({"path": rec.path, "reason": ERASED_REASON})
    for rec in images[per_student & ~known & ~gone].itertuples():
        aside.append({"path": rec.path, "reason": "unknown student"})
    for rec in images[per_student & known & ~agreed & ~gone].itertuples():
        aside.append({"path": rec.path, "reason": "no consent (not opened)"})
    return IntakePlan(images[~per_student | agreed].reset_index(drop=True), aside)


def masked_seats(seat_map: pd.DataFrame, roster: pd.DataFrame, camera: str) -> list[tuple[int, int, int, int]]:
    """Seats of `camera` whose student has no consent (or is not on the roster): blank before detection."""
    consent = dict(zip(roster["student_id"].astype(str), roster["consent"].astype(bool)))
    seats = seat_map[seat_map["camera"] == camera]
    return [tuple(int(v) for v in (r.x, r.y, r.w, r.h)) for r in seats.itertuples()
            if not consent.get(str(r.student_id), False)]


def assign_seats(faces: pd.DataFrame, seat_map: pd.DataFrame, camera: str) -> pd.Series:
    """student_id of the seat containing each face's centre; None outside every seat."""
    seats = seat_map[seat_map["camera"] == camera]
    cx = faces["box_x"].to_numpy(float) + faces["box_w"].to_numpy(float) / 2
    cy = faces["box_y"].to_numpy(float) + faces["box_h"].to_numpy(float) / 2
    out = np.full(len(faces), None, dtype=object)
    for seat in seats.itertuples():
        inside = (cx >= seat.x) & (cx < seat.x + seat.w) & (cy >= seat.y) & (cy < seat.y + seat.h)
        out[inside & (out == None)] = str(seat.student_id)  # noqa: E711 (elementwise)
    return pd.Series(out, index=faces.index, dtype=object)


def content_hash(path: str | Path) -> str:
    """sha256 of the file bytes: the identity of an image across re-runs and renames."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def new_images(plan: IntakePlan, done: set[str], seats: pd.DataFrame | None, roster: pd.DataFrame
               ) -> tuple[pd.DataFrame, list[dict]]:
    """Hash the allowed files, drop those already scored or repeated, attach frame masks.

    Returns the images to score (plan columns + content_hash + masks) and the files set
    aside with reasons (unreadable, duplicate content, frame without seats).
    """
    aside = list(plan.set_aside)
    keep, hashes, masks, seen = [], [], [], {}
    for i, rec in enumerate(plan.images.itertuples(index=False)):
        try:
            digest = content_hash(rec.path)
        except OSError as exc:
            aside.append({"path": rec.path, "reason": f"unreadable file ({exc.strerror or exc})"})
            continue
        if digest in done:
            continue
        if digest in seen:
            aside.append({"path": rec.path, "reason": f"same content as {seen[digest]}"})
            continue
        mask: list[tuple[int, int, int, int]] = []
        if rec.layout == "frame":
            if seats is None or not (seats["camera"] == rec.camera).any():
                aside.append({"path": rec.path, "reason": f"frame of camera {rec.camera!r} has no valid seat map"})
                continue
            mask = masked_seats(seats, roster, rec.camera)
        seen[digest] = rec.path
        keep.append(i)
        hashes.append(digest)
        masks.append(mask)
    todo = plan.images.iloc[keep].reset_index(drop=True).assign(content_hash=hashes, masks=masks)
    return todo, aside


def attach_students(faces: pd.DataFrame, chunk: pd.DataFrame, seats: pd.DataFrame | None
                    ) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Key extracted faces by image hash, student and session, ready for load_observations.

    Per-student images take the student from the path; frame faces take the seat that
    holds their centre, and faces outside every seat are dropped and counted, never guessed.
    Returns (faces, images, faces outside seats).
    """
    meta = chunk[["path", "content_hash", "session_id", "student_id", "camera", "layout"]].rename(columns={"path": "source"})
    rows = faces.merge(meta, on="source", how="left", validate="many_to_one")
    ok = rows["status"] == "ok"
    outside = 0
    for camera in rows.loc[ok & (rows["layout"] == "frame"), "camera"].unique():
        pick = ok & (rows["camera"] == camera)
        rows.loc[pick, "student_id"] = assign_seats(rows[pick], seats, camera)
        outside += int(rows.loc[pick, "student_id"].isna().sum())
    images = rows.drop_duplicates("source")[["content_hash", "model_version", "session_id", "source", "status", "reason"]]
    images = images.merge(meta[["source", "student_id"]], on="source").reset_index(drop=True)
    scored = rows[ok & rows["student_id"].notna()].reset_index(drop=True)
    return scored, images, outside
