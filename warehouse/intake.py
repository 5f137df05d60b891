"""Intake of classroom image batches: find files, enforce consent, map faces to seats.

The one home of the path from a cohort folder to rows the store may keep:
`find_images` (walk + manifest + seat map, nothing opened) -> `plan_images` (sessions,
consent, erasure, content hashes, seat masks) -> extraction (affect) -> `attach_students`.

Two layouts per session folder (see README "Input formats"):
  (a) per-student images `images/<session>/<student_id>/*.jpg`, or a manifest CSV
      `path, student_id, session_id[, captured_at]`;
  (b) whole-classroom frames or videos `images/<session>/<camera>[_anything].jpg|mp4` with a seat map
      `camera, student_id, x, y, w, h`; a face belongs to the seat holding its centre.
Consent is decided from paths and the store's roster alone, so an image of a student
without consent is never opened; in frames, their seats are masked before detection.
With identity = "enrolment", frames need no seat map: `find_enrolment` -> `plan_enrolment`
-> embedding (affect.identity) -> `usable_enrolment` gives the photos of consenting
students to match frame faces to, and a face matching nobody is dropped and counted.
Every path is resolved first: a file or link leading outside the cohort folder is
refused unopened, and so is a name that is not valid UTF-8.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from affect.schema import (IMAGE_SUFFIXES, MAX_PHOTOS, MIN_PHOTOS, STATUS_ERROR, STATUS_OK, STATUS_UNMATCHED,
                           VIDEO_SUFFIXES)
from warehouse.errors import InputError
from warehouse.inputs import read_csv_text

MEDIA_SUFFIXES = IMAGE_SUFFIXES | VIDEO_SUFFIXES   # a video is scored wherever an image is
SEAT_COLUMNS = ["camera", "student_id", "x", "y", "w", "h"]
MANIFEST_COLUMNS = ["path", "student_id", "session_id"]
PLAN_COLUMNS = ["path", "session_id", "student_id", "camera", "layout"]
SEAT_MAP = "seat_map.csv"
MANIFEST = "manifest.csv"
IMAGES = "images"
ENROLMENT = "enrolment"      # enrolment/<student_id>/*.jpg|png, used when identity = "enrolment"

# Reasons a file is set aside; tests and the run summary group by these strings.
ERASED_REASON = "erased on request (not opened)"
NO_CONSENT_REASON = "no consent (not opened)"
UNKNOWN_STUDENT_REASON = "unknown student (not on the roster; not opened)"
OFF_ROSTER_REASON = "student not on the current roster (not opened)"
NOT_AN_IMAGE_REASON = "not an image file (by name)"
OUTSIDE_ROOT_REASON = "leads outside the cohort folder (link not followed, not opened)"
BAD_NAME_REASON = "name is not valid UTF-8 (rename it; not opened)"


def shown(path: str | Path) -> str:
    """A path as printable text: undecodable bytes of a name appear as \\xNN escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _valid_name(path: Path) -> bool:
    try:
        path.name.encode("utf-8")
    except UnicodeEncodeError:   # bytes that are not UTF-8 arrive as surrogates
        return False
    return True


@dataclass
class IntakePlan:
    """Images to score (one row each) and every file set aside, with its reason."""

    images: pd.DataFrame                 # PLAN_COLUMNS; student_id None in frames
    set_aside: list[dict] = field(default_factory=list)   # {"path", "reason"}

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for item in self.set_aside:
            out[item["reason"]] = out.get(item["reason"], 0) + 1
        return out


def _plan(rows: list[tuple], aside: list[dict]) -> IntakePlan:
    return IntakePlan(pd.DataFrame(rows, columns=PLAN_COLUMNS), aside)


def camera_of(frame: Path) -> str:
    """`cam1.jpg` and `cam1_0930.jpg` both belong to camera `cam1`."""
    return frame.stem.split("_", 1)[0]


def _entries(folder: Path, data_root: Path, aside: list[dict]) -> Iterator[Path]:
    """Children of `folder` in name order that are safe to look at; the others are set aside.

    Symlinks are resolved: one leading outside `data_root` is never followed (a link to
    /etc/passwd is not even hashed). Names that are not UTF-8 cannot be stored or shown.
    """
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if not _valid_name(entry):
            aside.append({"path": shown(entry), "reason": BAD_NAME_REASON})
        elif not entry.resolve().is_relative_to(data_root):
            aside.append({"path": shown(entry), "reason": OUTSIDE_ROOT_REASON})
        else:
            yield entry


def _files(folder: Path, data_root: Path, aside: list[dict]) -> Iterator[Path]:
    """Every safe file below `folder`, depth first, in name order."""
    for entry in _entries(folder, data_root, aside):
        if entry.is_dir():
            yield from _files(entry, data_root, aside)
        elif entry.is_file():
            yield entry


def _is_image(path: Path) -> bool:
    """An image or a video, by name (the extractor samples a video's frames)."""
    return path.suffix.lower() in MEDIA_SUFFIXES


def _walk_root(folder: str | Path, data_root: str | Path | None, what: str) -> tuple[Path, Path]:
    """(`folder`, the resolved folder links may not leave: `data_root`, default `folder`); InputError if missing."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(str(folder), [f"{what} not found"])
    return folder, Path(data_root if data_root is not None else folder).resolve()


def discover(root: str | Path, data_root: str | Path | None = None) -> IntakePlan:
    """Walk `<root>/<session>/...` and list every image with its session and student/camera.

    `data_root` (default `root`) bounds where links may lead.
    """
    root, bound = _walk_root(root, data_root, "image folder")
    rows, aside = [], []
    for session in _entries(root, bound, aside):
        if not session.is_dir():
            if session.is_file() and session.name not in (SEAT_MAP,):
                aside.append({"path": str(session), "reason": "file outside any session folder (ignored)"})
            continue
        for entry in _entries(session, bound, aside):
            if entry.is_dir():
                for file in _files(entry, bound, aside):
                    if _is_image(file):
                        rows.append((str(file), session.name, entry.name, None, "per_student"))
                    else:
                        aside.append({"path": str(file), "reason": NOT_AN_IMAGE_REASON})
            elif entry.is_file() and _is_image(entry):
                rows.append((str(entry), session.name, None, camera_of(entry), "frame"))
            elif entry.is_file() and entry.suffix.lower() != ".csv":
                aside.append({"path": str(entry), "reason": NOT_AN_IMAGE_REASON})
    return _plan(rows, aside)


def _manifest_table(path: Path) -> tuple[pd.DataFrame, list[tuple[int, str]]]:
    """The manifest's cells and malformed rows; InputError when its header is unusable."""
    table, header_problems, row_problems = read_csv_text(path)
    missing = [c for c in MANIFEST_COLUMNS if c not in table.columns]
    if missing:
        header_problems.append(f"missing column(s): {', '.join(missing)}")
    if header_problems:
        raise InputError(str(path), header_problems)
    return table, row_problems


def read_manifest(path: str | Path, root: str | Path) -> IntakePlan:
    """Rows `path, student_id, session_id[, captured_at]`; paths are relative to `root`.

    Rows pointing outside the root (links included) or to missing files are set aside
    by line number. A manifest without its columns is an InputError (nothing is planned).
    """
    path, root = Path(path), Path(root).resolve()
    table, row_problems = _manifest_table(path)
    bad_shape = dict(row_problems)
    rows, aside = [], []
    for line, rec in table.fillna("").iterrows():
        where = f"{path.name}:{line} ({rec['path']})"
        target = (root / rec["path"].strip()).resolve()
        if line in bad_shape:
            aside.append({"path": where, "reason": f"malformed manifest row: {bad_shape[line]}"})
        elif not target.is_relative_to(root):
            aside.append({"path": where, "reason": "manifest path outside the data root"})
        elif not target.is_file():
            aside.append({"path": where, "reason": "manifest path not found"})
        elif not rec["student_id"].strip() or not rec["session_id"].strip():
            aside.append({"path": where, "reason": "manifest row without student_id or session_id"})
        else:
            rows.append((str(target), rec["session_id"].strip(), rec["student_id"].strip(), None, "per_student"))
    return _plan(rows, aside)


def read_seat_map(path: str | Path) -> pd.DataFrame:
    """Seat rectangles per camera (plus the CSV `line`), or an InputError listing every problem.

    Coordinates must be numbers with x, y >= 0 and w, h > 0; one student has one seat
    per camera; overlapping seats are an error naming both.
    """
    path = Path(path)
    table, problems, row_problems = read_csv_text(path)
    missing = [c for c in SEAT_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(str(path), [*problems, f"missing column(s): {', '.join(missing)}"])
    problems += [f"line {line}: {what}" for line, what in row_problems]
    seats = table[SEAT_COLUMNS].apply(lambda col: col.str.strip())
    numbers = seats[["x", "y", "w", "h"]].apply(pd.to_numeric, errors="coerce").astype(float)
    for line in seats.index:
        rec, box = seats.loc[line], numbers.loc[line]
        label = f"line {line} (student_id {rec['student_id']!r})"
        if pd.isna(rec["camera"]) or pd.isna(rec["student_id"]):
            problems.append(f"{label}: camera and student_id are required")
        bad = [name for name in ("x", "y", "w", "h") if not np.isfinite(box[name])]
        if bad:
            problems.append(f"{label}: {', '.join(f'{n} {rec[n]!r}' for n in bad)} not a number")
        elif box["w"] <= 0 or box["h"] <= 0 or box["x"] < 0 or box["y"] < 0:
            problems.append(f"{label}: a seat needs x, y >= 0 and w, h > 0")
    typed = seats[["camera", "student_id"]].astype(object).join(numbers)
    for (camera, student), group in typed.groupby(["camera", "student_id"]):
        if len(group) > 1:
            problems.append(f"camera {camera!r}: student_id {student!r} has {len(group)} seats "
                            f"(lines {', '.join(map(str, group.index))})")
    for camera, group in typed.dropna().groupby("camera"):
        boxes, ids = group[["x", "y", "w", "h"]].to_numpy(float), group["student_id"].tolist()
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                a, b = boxes[i], boxes[j]
                if a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]:
                    problems.append(f"camera {camera!r}: seats of {ids[i]!r} and {ids[j]!r} overlap")
    if problems:
        raise InputError(str(path), problems)
    return typed.rename_axis("line").reset_index()


@dataclass
class FoundImages:
    """What a cohort folder holds, before anything is opened or checked against the store."""

    plan: IntakePlan
    seats: pd.DataFrame | None           # read_seat_map's table, or None (missing or invalid)

    @property
    def student_ids(self) -> list[str]:
        """Every student id named by a path, the manifest or the seat map."""
        ids = set(self.plan.images["student_id"].dropna())
        if self.seats is not None:
            ids |= set(self.seats["student_id"])
        return sorted(ids)


def check_layout(data_dir: str | Path, *, enrolment: bool = False) -> None:
    """InputError unless the cohort folder has images/ or a manifest with its columns (nothing walked),
    and, with `enrolment` (identity = "enrolment"), an enrolment/ folder."""
    data_dir = Path(data_dir)
    root, manifest = data_dir / IMAGES, data_dir / MANIFEST
    if not root.is_dir() and not manifest.is_file():
        raise InputError(str(data_dir), [f"no {IMAGES}/ folder and no {MANIFEST}: nothing to score"])
    if enrolment and not (data_dir / ENROLMENT).is_dir():
        raise InputError(str(data_dir), [f'identity = "enrolment" but there is no {ENROLMENT}/ folder '
                                         f"({ENROLMENT}/<student_id>/ with {MIN_PHOTOS} to {MAX_PHOTOS} photos each)"])
    if manifest.is_file():
        _manifest_table(manifest)


def find_images(data_dir: str | Path) -> FoundImages:
    """Walk `<data_dir>/images` and read `manifest.csv` and `images/seat_map.csv` if present.

    Raises InputError when there are neither images nor a manifest, or the manifest lacks
    its columns. An invalid seat map sets its problems aside (frames then wait for a fixed
    map); the other images go on.
    """
    data_dir = Path(data_dir)
    check_layout(data_dir)
    root, manifest, seat_file = data_dir / IMAGES, data_dir / MANIFEST, data_dir / IMAGES / SEAT_MAP
    plan = discover(root, data_dir) if root.is_dir() else _plan([], [])
    if manifest.is_file():
        extra = read_manifest(manifest, data_dir)
        plan = IntakePlan(pd.concat([plan.images, extra.images], ignore_index=True), plan.set_aside + extra.set_aside)
    seats = None
    if seat_file.is_file():
        try:
            seats = read_seat_map(seat_file)
        except InputError as exc:
            plan.set_aside.extend({"path": str(seat_file), "reason": problem} for problem in exc.problems)
    return FoundImages(plan, seats)


def check_sessions(plan: IntakePlan, sessions: Collection[str]) -> IntakePlan:
    """Images of a session that sessions.csv does not list are set aside unopened."""
    known = plan.images["session_id"].isin(set(sessions))
    aside = list(plan.set_aside)
    for rec in plan.images[~known].itertuples():
        aside.append({"path": rec.path, "reason": f"session {rec.session_id!r} is not in sessions.csv (not opened)"})
    return IntakePlan(plan.images[known].reset_index(drop=True), aside)


def _consent_map(roster: pd.DataFrame) -> dict[str, bool]:
    """student_id -> may be scored: consent, and on this run's roster when the column is there."""
    allowed = roster["consent"].astype(bool)
    if "on_roster" in roster.columns:
        allowed = allowed & roster["on_roster"].astype(bool)
    return dict(zip(roster["student_id"].astype(str), allowed))


def apply_consent(plan: IntakePlan, roster: pd.DataFrame, erased: Collection[str] = ()) -> IntakePlan:
    """Keep per-student images (and enrolment photos) of consenting roster students; set the others aside unopened.

    `roster`: student_id, consent[, on_roster] (students kept in the store but absent
    from this run's roster have on_roster False). `erased`: students erased from the
    store (warehouse.erase.erased_students); their images are set aside unopened.
    For classroom frames, masked_seats blanks the seats of everyone not allowed here.
    """
    allowed = _consent_map(roster)
    off_roster = set(roster.loc[~roster["on_roster"].astype(bool), "student_id"]) if "on_roster" in roster else set()
    erased = set(erased)
    images = plan.images
    per_student = images["student_id"].notna()      # per-student images and enrolment photos
    ids = images["student_id"]
    gone = ids.isin(erased)
    known = ids.isin(allowed.keys()) & ~gone
    off = ids.isin(off_roster) & ~gone
    agreed = ids.map(lambda s: allowed.get(s, False)).astype(bool) & ~gone
    aside = list(plan.set_aside)
    for mask, reason in ((gone, ERASED_REASON), (~known & ~gone, UNKNOWN_STUDENT_REASON),
                         (off, OFF_ROSTER_REASON), (known & ~off & ~agreed, NO_CONSENT_REASON)):
        aside += [{"path": path, "reason": reason} for path in images.loc[per_student & mask, "path"]]
    return IntakePlan(images[~per_student | agreed].reset_index(drop=True), aside)


def masked_seats(seat_map: pd.DataFrame, roster: pd.DataFrame, camera: str) -> list[tuple[int, int, int, int]]:
    """Seats of `camera` whose student may not be scored (no consent, not on the roster): blank before detection."""
    allowed = _consent_map(roster)
    seats = seat_map[seat_map["camera"] == camera]
    return [tuple(int(v) for v in (r.x, r.y, r.w, r.h)) for r in seats.itertuples()
            if not allowed.get(str(r.student_id), False)]


def seats_outside_frame(seat_map: pd.DataFrame, camera: str, size: tuple[int, int]) -> list[dict]:
    """Seats of `camera` not wholly inside a `size` (w, h) frame: their faces could never be assigned."""
    width, height = size
    seats = seat_map[seat_map["camera"] == camera]
    return [{"path": f"{SEAT_MAP}:{int(r.line)}",
             "reason": f"seat of {r.student_id!r} (camera {camera!r}) is not inside its {width}x{height} px frames"}
            for r in seats.itertuples() if r.x + r.w > width or r.y + r.h > height]


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


def _frame_size(path: str) -> tuple[int, int] | None:
    """Width and height from the image header (no pixels decoded); None if unreadable."""
    try:
        with Image.open(path) as im:
            return im.size
    except Exception:   # noqa: BLE001 - the extractor names what is wrong with the file
        return None


def new_images(plan: IntakePlan, done: set[str], seats: pd.DataFrame | None, roster: pd.DataFrame,
               *, identity: bool = False) -> tuple[pd.DataFrame, list[dict], int]:
    """Hash the allowed files, drop those already scored or repeated, attach frame masks.

    Returns the images to score (plan columns + content_hash + masks), the files set
    aside with reasons (unreadable, duplicate content, frame without seats, seats
    outside the frame) and how many were already stored. With `identity` (faces in
    frames are matched to enrolled students), frames need no seat map and are not masked.
    """
    aside = list(plan.set_aside)
    keep, hashes, masks, seen, checked = [], [], [], {}, set()
    already = 0
    for i, rec in enumerate(plan.images.itertuples(index=False)):
        try:
            digest = content_hash(rec.path)
        except OSError as exc:
            aside.append({"path": rec.path, "reason": f"unreadable file ({exc.strerror or exc})"})
            continue
        if digest in done:
            already += 1
            continue
        if digest in seen:
            aside.append({"path": rec.path, "reason": f"same content as {seen[digest]}"})
            continue
        mask: list[tuple[int, int, int, int]] = []
        if rec.layout == "frame" and not identity:
            if seats is None or not (seats["camera"] == rec.camera).any():
                aside.append({"path": rec.path, "reason": f"frame of camera {rec.camera!r} has no valid seat map"})
                continue
            size = _frame_size(rec.path)
            if size is not None and (rec.camera, size) not in checked:
                checked.add((rec.camera, size))
                aside += seats_outside_frame(seats, rec.camera, size)
            mask = masked_seats(seats, roster, rec.camera)
        seen[digest] = rec.path
        keep.append(i)
        hashes.append(digest)
        masks.append(mask)
    todo = plan.images.iloc[keep].reset_index(drop=True).assign(content_hash=hashes, masks=masks)
    return todo, aside, already


@dataclass
class Intake:
    """Images to score now, with everything set aside and what was found in all."""

    todo: pd.DataFrame                   # PLAN_COLUMNS + content_hash + masks
    set_aside: list[dict]
    seats: pd.DataFrame | None
    found: int                           # image files found (scored before, now, or set aside)
    already_stored: int
    # Stored frames in `todo` again because they were matched under another enrolment (or
    # seats): their rows are replaced when they are stored (load_observations(replace=...)).
    rematch: frozenset[str] = frozenset()


def plan_images(found: FoundImages, *, roster: pd.DataFrame, sessions: Collection[str],
                erased: Collection[str], done: set[str], identity: bool = False,
                stale: Collection[str] = ()) -> Intake:
    """Sessions, consent and erasure first (nothing opened), then content hashes and seat masks.

    `roster` is the store's view after this run's roster was loaded (student_id,
    consent, on_roster); `done` the hashes already stored for this cohort and model;
    `stale` stored frames matched under another enrolment, to score again (`rematch`).
    `identity`: faces in frames will be matched to enrolled students (no seat map needed).
    """
    plan = check_sessions(found.plan, sessions)
    plan = apply_consent(plan, roster, erased)
    todo, aside, already = new_images(plan, done, found.seats, roster, identity=identity)
    return Intake(todo, aside, found.seats, found=len(found.plan.images), already_stored=already,
                  rematch=frozenset(set(stale) & set(todo["content_hash"])))


def without_frames(intake: Intake, reason: str) -> Intake:
    """`intake` with its frames set aside unopened (e.g. nobody is enrolled to match their faces to)."""
    frames = intake.todo["layout"] == "frame"
    aside = intake.set_aside + [{"path": path, "reason": reason} for path in intake.todo.loc[frames, "path"]]
    return replace(intake, todo=intake.todo[~frames].reset_index(drop=True), set_aside=aside, rematch=frozenset())


# --- enrolment (identity = "enrolment") ------------------------------------------------

@dataclass
class EnrolmentPlan:
    """Enrolment photos to embed (path, student_id, content_hash) and the files set aside, with reasons."""

    photos: pd.DataFrame
    set_aside: list[dict]
    found: int                           # photo files found, opened or not


def find_enrolment(folder: str | Path, data_root: str | Path | None = None) -> IntakePlan:
    """Walk `<folder>/<student_id>/...` and list every photo with its student; nothing is opened.

    `data_root` (default `folder`) bounds where links may lead, as in `discover`.
    """
    folder, bound = _walk_root(folder, data_root, "enrolment folder")
    rows, aside = [], []
    for entry in _entries(folder, bound, aside):
        if not entry.is_dir():
            aside.append({"path": str(entry), "reason": "file outside any student's enrolment folder (ignored)"})
            continue
        for file in _files(entry, bound, aside):
            if file.suffix.lower() in IMAGE_SUFFIXES:
                rows.append((str(file), None, entry.name, None, ENROLMENT))
            else:
                aside.append({"path": str(file), "reason": "not a photo file (by name)"})
    return _plan(rows, aside)


def plan_enrolment(found: IntakePlan, roster: pd.DataFrame, erased: Collection[str] = ()) -> EnrolmentPlan:
    """Consent first, then photos per student, then content hashes: what may be embedded.

    Photos of students who may not be scored (no consent, not on the roster, unknown,
    erased) and of students with fewer than MIN_PHOTOS or more than MAX_PHOTOS photos are
    set aside unopened; so are unreadable files and repeated content.
    """
    plan = apply_consent(found, roster, erased)
    aside = list(plan.set_aside)
    rows = []
    for student, photos in plan.images.groupby("student_id", sort=True):
        if not MIN_PHOTOS <= len(photos) <= MAX_PHOTOS:
            aside.append({"path": str(Path(photos["path"].iloc[0]).parent),
                          "reason": f"{len(photos)} enrolment photo(s); {MIN_PHOTOS} to {MAX_PHOTOS} are needed "
                                    "(not opened, not enrolled)"})
            continue
        for path in photos["path"]:
            try:
                rows.append((path, student, content_hash(path)))
            except OSError as exc:
                aside.append({"path": path, "reason": f"unreadable file ({exc.strerror or exc})"})
    photos = pd.DataFrame(rows, columns=["path", "student_id", "content_hash"])
    repeated = photos.duplicated("content_hash")
    first = dict(zip(photos["content_hash"], photos["path"]))
    aside += [{"path": r.path, "reason": f"same content as {first[r.content_hash]}"} for r in photos[repeated].itertuples()]
    return EnrolmentPlan(photos[~repeated].reset_index(drop=True), aside, found=len(found.images))


def usable_enrolment(photos: pd.DataFrame, problems: list[str | None]) -> tuple[pd.DataFrame, list[dict]]:
    """The photos that gave a template, of students left with enough of them; the rest set aside.

    `problems[i]`: why `photos` row i gave no template (unreadable, no face, several
    faces), or None. A student with fewer than MIN_PHOTOS usable photos is not enrolled.
    """
    aside = [{"path": path, "reason": problem} for path, problem in zip(photos["path"], problems) if problem]
    usable = photos.assign(_ok=[p is None for p in problems])
    counts = usable.groupby("student_id")["_ok"].sum()
    for student in counts.index[counts < MIN_PHOTOS]:
        folder = Path(usable.loc[usable["student_id"] == student, "path"].iloc[0]).parent
        aside.append({"path": str(folder), "reason": f"{counts[student]} usable enrolment photo(s); "
                                                     f"{MIN_PHOTOS} to {MAX_PHOTOS} are needed (not enrolled)"})
    enrolled = usable["_ok"] & usable["student_id"].map(counts).ge(MIN_PHOTOS)
    return photos[enrolled.to_numpy()].reset_index(drop=True), aside


def problems_of(faces: pd.DataFrame) -> list[dict]:
    """Files to name in a run summary: no face at all, unreadable, or a video cut short.

    A sampled video frame without a face is normal; a video with faces whose reading
    stopped early (an error row after ok rows) is named, its faces are still kept.
    """
    out = []
    for source, rows in faces.groupby("source", sort=False):
        ok, errors = rows["status"] == STATUS_OK, rows[rows["status"] == STATUS_ERROR]
        unmatched = int((rows["status"] == STATUS_UNMATCHED).sum())
        if not ok.any() and unmatched and len(errors) == 0:
            out.append({"path": source, "reason": f"no face matched an enrolled student ({unmatched} face(s) "
                                                  "dropped unscored)"})
        elif not ok.any():
            out.append({"path": source, "reason": str(rows["reason"].iloc[-1] if len(errors) == 0
                                                      else errors["reason"].iloc[0])})
        elif len(errors):
            out.append({"path": source, "reason": f"read in part: {errors['reason'].iloc[0]}"})
    return out


def attach_students(faces: pd.DataFrame, chunk: pd.DataFrame, seats: pd.DataFrame | None, *,
                    identity: bool = False, enrolment_key: str | None = None
                    ) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Key extracted faces by image hash, student and session, ready for load_observations.

    Per-student images take the student from the path. Frame faces take the seat that
    holds their centre, or with `identity` the enrolled student they matched (the
    extractor's student_id); faces outside every seat or matching nobody are dropped and
    counted, never guessed. An image (or video) is `ok` when any of its rows is; frames
    matched by enrolment carry `enrolment_key` (see warehouse.scored_hashes).
    Returns (faces, images, faces of frames left without a student).
    """
    meta = chunk[["path", "content_hash", "session_id", "student_id", "camera", "layout"]].rename(columns={"path": "source"})
    matched = faces["student_id"] if "student_id" in faces else pd.Series(None, index=faces.index, dtype=object)
    rows = faces.drop(columns="student_id", errors="ignore").merge(meta, on="source", how="left", validate="many_to_one")
    ok = rows["status"] == STATUS_OK
    frame = rows["layout"] == "frame"
    if identity:
        rows.loc[frame, "student_id"] = matched.to_numpy()[frame.to_numpy()]
        outside = int((rows["status"] == STATUS_UNMATCHED).sum() + (ok & frame & rows["student_id"].isna()).sum())
    else:
        outside = 0
        for camera in rows.loc[ok & frame, "camera"].unique():
            pick = ok & (rows["camera"] == camera)
            rows.loc[pick, "student_id"] = assign_seats(rows[pick], seats, camera)
            outside += int(rows.loc[pick, "student_id"].isna().sum())
    first = rows.assign(_ok=ok).sort_values("_ok", ascending=False, kind="stable").drop_duplicates("source")
    images = first[["content_hash", "model_version", "session_id", "source", "status", "reason"]]
    images = images.merge(meta[["source", "student_id", "layout"]], on="source").reset_index(drop=True)
    images["enrolment_key"] = pd.Series([enrolment_key if identity and layout == "frame" else None
                                         for layout in images.pop("layout")], dtype=object)
    scored = rows[ok & rows["student_id"].notna()].reset_index(drop=True)
    return scored, images, outside
