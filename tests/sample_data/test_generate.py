"""The demo cohort generator: deterministic, documented formats, the planted problems, small files."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from affect.faces import FaceFinder, decode_image
from sample_data.face_model import CATEGORIES, MODEL_PATH, FaceModel
from sample_data.generate import CROP_SIDE, generate

SAMPLE_DATA = Path(__file__).resolve().parents[2] / "sample_data"
SMALL = {"seed": 0, "n_students": 12, "n_sessions": 5, "frame_sessions": 2}


def hashes(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def unreadable(path: Path) -> bool:
    try:
        with Image.open(path) as im:
            im.load()
        return False
    except OSError:
        return True


@pytest.fixture(scope="module")
def model() -> FaceModel:
    return FaceModel.load()


@pytest.fixture(scope="module")
def demo(tmp_path_factory, model) -> Path:
    return generate(tmp_path_factory.mktemp("demo"), model=model, **SMALL)


def test_generation_is_deterministic(demo, model, tmp_path):
    again = generate(tmp_path / "again", model=model, **SMALL)
    assert hashes(again) == hashes(demo)


def test_regenerating_into_a_foreign_folder_is_refused(tmp_path, model):
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        generate(tmp_path, model=model, **SMALL)


def test_tables_have_the_documented_columns(demo):
    gradebook = pd.read_csv(demo / "gradebook.csv")
    assert list(gradebook.columns) == ["student_id", "gpa", *[f"test_{k:02d}" for k in range(1, 13)], "final_grade"]
    assert len(gradebook) == SMALL["n_students"]
    roster = pd.read_csv(demo / "roster.csv")
    assert list(roster.columns) == ["student_id", "consent", "display_name"]
    assert roster["student_id"].tolist() == gradebook["student_id"].tolist()
    assert roster["display_name"].is_unique
    sessions = pd.read_csv(demo / "sessions.csv", parse_dates=["held_on"])
    assert list(sessions.columns) == ["session_id", "held_on"]
    assert (sessions["held_on"].diff().dropna() == pd.Timedelta(days=7)).all()
    seats = pd.read_csv(demo / "images" / "seat_map.csv")
    assert list(seats.columns) == ["camera", "student_id", "x", "y", "w", "h"]
    intended = pd.read_csv(demo / "intended.csv")
    assert list(intended.columns) == ["path", "student_id", "session_id", "category", "intensity",
                                      "valence", "arousal", "dominance", "layout"]
    assert set(intended["category"]) <= set(CATEGORIES)
    assert intended[["valence", "arousal", "dominance"]].abs().le(1).all().all()


def test_exactly_one_student_without_consent_and_they_still_have_images(demo):
    roster = pd.read_csv(demo / "roster.csv")
    assert sorted(roster["consent"].unique()) == ["no", "yes"]
    refused = roster.loc[roster["consent"] == "no", "student_id"]
    assert len(refused) == 1
    assert list((demo / "images").glob(f"session-*/{refused.iloc[0]}/*.png"))


def test_layouts_crops_then_frames(demo):
    intended = pd.read_csv(demo / "intended.csv")
    crops = intended[intended["layout"] == "crop"]
    frames = intended[intended["layout"] == "frame"]
    assert set(crops["session_id"]) <= {"session-01", "session-02", "session-03"}
    assert sorted(frames["path"].unique()) == ["images/session-04/cam1.jpg", "images/session-05/cam1.jpg"]
    assert not frames.duplicated(["path", "student_id"]).any()
    with Image.open(demo / crops["path"].iloc[0]) as im:
        assert (im.mode, im.size) == ("L", (CROP_SIDE, CROP_SIDE))


def test_exactly_one_corrupt_image_and_it_is_not_intended(demo):
    bad = [p for p in sorted((demo / "images").rglob("*")) if p.suffix in (".png", ".jpg") and unreadable(p)]
    assert len(bad) == 1
    relative = bad[0].relative_to(demo).as_posix()
    assert relative.startswith("images/session-03/") and relative.endswith("/2.png")
    assert relative not in set(pd.read_csv(demo / "intended.csv")["path"])


def test_frame_faces_lie_inside_their_seats(demo):
    """Every face the detector finds sits in the seat of a student present that session."""
    intended = pd.read_csv(demo / "intended.csv")
    seats = pd.read_csv(demo / "images" / "seat_map.csv").set_index("student_id")
    path = "images/session-04/cam1.jpg"
    present = set(intended.loc[intended["path"] == path, "student_id"])
    boxes = FaceFinder().detect(decode_image(demo / path)).boxes
    found = set()
    for x, y, w, h in boxes:
        cx, cy = x + w / 2, y + h / 2
        inside = seats[(seats.x <= cx) & (cx < seats.x + seats.w) & (seats.y <= cy) & (cy < seats.y + seats.h)]
        assert len(inside) == 1 and inside.index[0] in present
        found.add(inside.index[0])
    assert len(found) >= 0.9 * len(present)


def test_committed_sample_data_stays_small():
    files = [p for p in SAMPLE_DATA.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert files and max(p.stat().st_size for p in files) < 2 * 1024 ** 2
    assert sum(p.stat().st_size for p in files) < 10 * 1024 ** 2
    assert MODEL_PATH.stat().st_size < 1024 ** 2


@pytest.mark.parametrize("size", [48, 64, 96])
def test_face_model_samples_every_category_at_the_requested_size(model, size):
    rng = np.random.default_rng(0)
    for category in CATEGORIES:
        face = model.sample(category, 1.0, rng, size=size)
        assert face.shape == (size, size) and face.dtype == np.uint8
        assert face.std() > 10   # a face, not a flat patch
