"""Write the embedded demo cohort (`sample_data/demo/`): gradebook, roster, sessions and faces.

Everything is SYNTHETIC: grades and per-session intended VAD come from
`academic.synthetic.make_cohort`; faces come from the FERPlus-fitted `FaceModel`, so no
dataset image is stored. The output is deterministic for a given seed (same bytes), which
lets tests and reviewers regenerate and compare.

How each face is chosen (see README.md):
- category: sampled from softmax(-||vad - anchor_c||^2 / CATEGORY_TEMPERATURE) over the
  VAD anchors of affect/resources/vad_anchors.csv, vad = the student's intended session VAD;
- intensity: clip(0.6 + 0.9 * max(|valence|, |arousal|), 0.6, 1.4): a more extreme mood
  shows as a stronger expression (1 = the class mean face, which is milder than most
  single faces, hence values above 1).

Run: python sample_data/generate.py [--out sample_data/demo] [--seed 0]
"""
from __future__ import annotations

import argparse
import io
import logging
import shutil
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from PIL import Image

if __package__ in (None, ""):   # run as `python sample_data/generate.py`: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from academic.synthetic import make_cohort  # noqa: E402
from sample_data.face_model import CATEGORIES, FaceModel  # noqa: E402

log = logging.getLogger(__name__)

DEMO_DIR = Path(__file__).with_name("demo")
# Chosen before any run, from first principles, and not tuned to show: 3 grade points per
# SD of engagement, i.e. engagement correlates r ~ 0.2 with the final grade (a small
# standardised effect, at the low end of engagement-achievement correlations in the
# literature, r ~ 0.2-0.3; generous as an effect *beyond* GPA and tests, since the
# generator's engagement is independent of ability). Whether 60 students reveal it is
# what the demo's comparison and its minimum detectable effect report.
AFFECT_EFFECT = 3.0
UNLABELLED_FRACTION = 0.15
FIRST_SESSION = date(2025, 9, 1)
CATEGORY_TEMPERATURE = 0.1
CROP_SIDE = 64
FACES_PER_SESSION = 3
CORRUPT_SESSION, CORRUPT_FACE = 3, 2   # images/session-03/<student>/2.png, if the cohort has that session
CAMERA = "cam1"
SEAT_COLUMNS, SEAT_SIDE, FRAME_FACE, FRAME_MARGIN = 10, 150, 96, 50
JPEG_QUALITY = 85
PASTE_FADE = 20          # px over which a pasted face fades into the background
FRAME_JITTER = 6         # px; face + fade (96 + 2*20) stays inside its 150 px seat, so masking a seat hides it all

FIRST_NAMES = ("Ada", "Ben", "Chloe", "Dev", "Elif", "Finn", "Greta", "Hugo", "Ines", "Jonas", "Kira", "Leo",
               "Maya", "Nils", "Omar", "Pia", "Quinn", "Rosa", "Sami", "Tara", "Umar", "Vera", "Wen", "Yara", "Zoe")
LAST_NAMES = ("Abbott", "Brandt", "Castillo", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito", "Jansen",
              "Kowalski", "Lindqvist", "Moreau", "Novak", "Okafor", "Petrov", "Quispe", "Rossi", "Silva", "Tanaka")


@dataclass(frozen=True)
class Face:
    """One generated face and what it was meant to show (a row of intended.csv)."""

    path: str
    student_id: str
    session_id: str
    category: str
    intensity: float
    valence: float
    arousal: float
    dominance: float
    layout: str   # "crop" (one face per file) or "frame" (a classroom frame, see seat_map.csv)


def vad_anchors() -> np.ndarray:
    """[8, 3] anchor VAD per category, in CATEGORIES order."""
    with resources.files("affect").joinpath("resources/vad_anchors.csv").open() as handle:
        table = pd.read_csv(handle).set_index("category")
    return table.loc[list(CATEGORIES), ["valence", "arousal", "dominance"]].to_numpy(dtype=float)


def category_probabilities(vad: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """Softmax over categories favouring anchors near `vad` ([3] -> [8])."""
    logits = -((anchors - vad) ** 2).sum(axis=1) / CATEGORY_TEMPERATURE
    weights = np.exp(logits - logits.max())
    return weights / weights.sum()


def intensity_for(vad: np.ndarray) -> float:
    """Expression strength from how far the mood is from calm (see module docstring)."""
    return float(np.clip(0.6 + 0.9 * max(abs(vad[0]), abs(vad[1])), 0.6, 1.4))


def png_bytes(face: np.ndarray) -> bytes:
    """PNG with zlib's best effort: ~2 KB a face keeps the demo small; still byte-identical per run."""
    buf = io.BytesIO()
    Image.fromarray(face).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def write_tables(out: Path, learning: pd.DataFrame, n_sessions: int, rng: np.random.Generator,
                 observed: set[str]) -> str:
    """gradebook.csv, roster.csv, sessions.csv; returns the student without consent.

    The no-consent student is one who has faces, so the demo shows the pipeline refusing them.
    """
    learning.drop(columns="pseudonym").to_csv(out / "gradebook.csv", index=False)
    ids = learning["student_id"].tolist()
    pairs = [(f, s) for f in FIRST_NAMES for s in LAST_NAMES]
    names = [" ".join(pairs[i]) for i in rng.choice(len(pairs), size=len(ids), replace=False)]
    refused = str(rng.choice(sorted(observed)))
    pd.DataFrame({"student_id": ids, "consent": ["no" if sid == refused else "yes" for sid in ids],
                  "display_name": names}).to_csv(out / "roster.csv", index=False)
    pd.DataFrame({"session_id": [session_name(s) for s in range(1, n_sessions + 1)],
                  "held_on": [FIRST_SESSION + timedelta(weeks=s) for s in range(n_sessions)]}
                 ).to_csv(out / "sessions.csv", index=False)
    return refused


def session_name(order: int) -> str:
    return f"session-{order:02d}"


def draw_face(row: pd.Series, model: FaceModel, anchors: np.ndarray, rng: np.random.Generator,
              size: int) -> tuple[np.ndarray, str, float]:
    """A face for one intended (student, session) VAD: (pixels, category, intensity)."""
    vad = row[["valence", "arousal", "dominance"]].to_numpy(dtype=float)
    category = CATEGORIES[rng.choice(len(CATEGORIES), p=category_probabilities(vad, anchors))]
    intensity = intensity_for(vad)
    return model.sample(category, intensity, rng, size=size), category, intensity


def intended(path: str, row: pd.Series, category: str, intensity: float, layout: str) -> Face:
    return Face(path, row["student_id"], row["session_id"], category, round(intensity, 3),
                float(row["valence"]), float(row["arousal"]), float(row["dominance"]), layout)


def write_crops(out: Path, trends: pd.DataFrame, model: FaceModel, anchors: np.ndarray,
                rng: np.random.Generator) -> list[Face]:
    """Layout (a): images/<session>/<student>/<k>.png, FACES_PER_SESSION crops per observation."""
    faces = []
    for _, row in trends.iterrows():
        folder = out / "images" / row["session_id"] / row["student_id"]
        folder.mkdir(parents=True, exist_ok=True)
        for k in range(1, FACES_PER_SESSION + 1):
            pixels, category, intensity = draw_face(row, model, anchors, rng, CROP_SIDE)
            (folder / f"{k}.png").write_bytes(png_bytes(pixels))
            faces.append(intended(f"{folder.relative_to(out).as_posix()}/{k}.png", row, category, intensity, "crop"))
    return faces


def seat_map(student_ids: list[str]) -> pd.DataFrame:
    """One seat per student, row-major in a SEAT_COLUMNS-wide grid (frame pixels)."""
    idx = np.arange(len(student_ids))
    return pd.DataFrame({"camera": CAMERA, "student_id": student_ids,
                         "x": FRAME_MARGIN + (idx % SEAT_COLUMNS) * SEAT_SIDE,
                         "y": FRAME_MARGIN + (idx // SEAT_COLUMNS) * SEAT_SIDE,
                         "w": SEAT_SIDE, "h": SEAT_SIDE})


def classroom_background(seats: pd.DataFrame) -> np.ndarray:
    """Plain gray room, lighter towards the windows, with a darker desk along the bottom of every seat."""
    n_rows = int(np.ceil(len(seats) / SEAT_COLUMNS))
    height, width = 2 * FRAME_MARGIN + n_rows * SEAT_SIDE, 2 * FRAME_MARGIN + SEAT_COLUMNS * SEAT_SIDE
    frame = np.tile(np.linspace(150, 175, width), (height, 1))
    for seat in seats.itertuples():
        frame[seat.y + SEAT_SIDE - 12:seat.y + SEAT_SIDE - 2, seat.x + 6:seat.x + SEAT_SIDE - 6] = 95
    return frame


def paste_face(frame: np.ndarray, face: np.ndarray, x: int, y: int) -> None:
    """Paste `face` at (x, y), its edge pixels stretched outwards and faded into the room.

    A hard square (or a tight oval mask) adds edges the Haar cascade does not expect
    around a face; extending the crop's own border and fading it keeps the forehead and
    chin intact and the seam invisible.
    """
    side, pad = face.shape[0], PASTE_FADE
    grown = cv2.copyMakeBorder(face.astype(np.float64), pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    yy, xx = np.mgrid[0:side + 2 * pad, 0:side + 2 * pad]
    alpha = np.clip(np.minimum.reduce([xx, yy, side + 2 * pad - 1 - xx, side + 2 * pad - 1 - yy]) / pad, 0, 1)
    region = frame[y - pad:y + side + pad, x - pad:x + side + pad]
    region[:] = alpha * grown + (1 - alpha) * region


def write_frames(out: Path, trends: pd.DataFrame, seats: pd.DataFrame, model: FaceModel, anchors: np.ndarray,
                 rng: np.random.Generator) -> list[Face]:
    """Layout (b): images/<session>/cam1.jpg, one face per present student, wholly inside its seat."""
    faces = []
    by_student = seats.set_index("student_id")
    for session_id, group in trends.groupby("session_id", sort=True):
        frame = classroom_background(seats)
        path = f"images/{session_id}/{CAMERA}.jpg"
        for _, row in group.iterrows():
            seat = by_student.loc[row["student_id"]]
            pixels, category, intensity = draw_face(row, model, anchors, rng, FRAME_FACE)
            dx, dy = rng.integers(-FRAME_JITTER, FRAME_JITTER + 1, size=2)
            centred = (SEAT_SIDE - FRAME_FACE) // 2
            paste_face(frame, pixels, int(seat.x + centred + dx), int(seat.y + centred + dy))
            faces.append(intended(path, row, category, intensity, "frame"))
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.clip(frame, 0, 255).round().astype(np.uint8)).save(out / path, quality=JPEG_QUALITY)
    return faces


def corrupt_one(out: Path, faces: list[Face], refused: str) -> list[Face]:
    """Truncate one crop of a consenting student (the pipeline must report it, not crash); drop it from faces."""
    sessions = sorted({f.session_id for f in faces if f.layout == "crop"})
    session = session_name(CORRUPT_SESSION) if session_name(CORRUPT_SESSION) in sessions else sessions[-1]
    victim = next(f for f in sorted(faces, key=lambda f: f.path) if f.session_id == session
                  and f.student_id != refused and f.path.endswith(f"/{CORRUPT_FACE}.png"))
    data = (out / victim.path).read_bytes()
    (out / victim.path).write_bytes(data[: len(data) // 2])
    log.info("truncated %s", victim.path)
    return [f for f in faces if f is not victim]


def prepare_out(out: Path) -> None:
    """Start from an empty folder; only a previous demo (it has intended.csv) is ever deleted."""
    if out.exists() and any(out.iterdir()):
        if not (out / "intended.csv").is_file():
            raise FileExistsError(f"{out} is not empty and is not a previous demo; refusing to overwrite it")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)


def generate(out: Path = DEMO_DIR, seed: int = 0, n_students: int = 60, n_sessions: int = 12,
             frame_sessions: int = 2, model: FaceModel | None = None) -> Path:
    """Write the whole demo into `out`; the last `frame_sessions` sessions are classroom frames."""
    if not 1 <= frame_sessions < n_sessions:
        raise ValueError("need at least one per-student session and one frame session")
    model = model or FaceModel.load()
    anchors = vad_anchors()
    tables_rng, faces_rng, frames_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    learning, _, trends = make_cohort(n_students=n_students, n_sessions=n_sessions, affect_effect=AFFECT_EFFECT,
                                      seed=seed, unlabelled_fraction=UNLABELLED_FRACTION)
    prepare_out(out)
    refused = write_tables(out, learning, n_sessions, tables_rng, set(trends["student_id"]))
    is_frame = trends["session_order"] > n_sessions - frame_sessions
    seats = seat_map(learning["student_id"].tolist())
    (out / "images").mkdir()
    seats.to_csv(out / "images" / "seat_map.csv", index=False)
    faces = write_crops(out, trends[~is_frame], model, anchors, faces_rng)
    faces = corrupt_one(out, faces, refused)
    faces += write_frames(out, trends[is_frame], seats, model, anchors, frames_rng)
    pd.DataFrame(faces).to_csv(out / "intended.csv", index=False)
    log.info("wrote %d faces for %d students into %s", len(faces), n_students, out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEMO_DIR)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--students", type=int, default=60)
    parser.add_argument("--sessions", type=int, default=12)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    generate(args.out, args.seed, args.students, args.sessions)


if __name__ == "__main__":
    main()
