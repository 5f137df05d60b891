"""Faces, not squares: crops without a face are no_face with a reason; real face crops all score."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

import affect
from affect.detect import YuNet
from affect.face_check import CROP_FACE_SCORE, check_crop
from affect.schema import STATUS_NO_FACE, STATUS_OK
from sample_data.generate import CROP_SIDE, SEAT_SIDE, classroom_background, seat_map
from tests.affect.media import synthetic_face
from tests.conftest import REPO, shared_file


def _text(side: int = 48) -> np.ndarray:
    canvas = np.full((192, 192), 235, np.uint8)
    cv2.putText(canvas, "Quiz 3", (10, 80), cv2.FONT_HERSHEY_SIMPLEX, 1.6, 20, 3, cv2.LINE_AA)
    cv2.putText(canvas, "Room 204", (10, 150), cv2.FONT_HERSHEY_SIMPLEX, 1.4, 20, 3, cv2.LINE_AA)
    return cv2.resize(canvas, (side, side), interpolation=cv2.INTER_AREA)


def not_faces() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    room = classroom_background(seat_map([f"S{i}" for i in range(10)])).astype(np.uint8)   # the demo's empty room
    return {
        "white": np.full((48, 48), 255, np.uint8),
        "black": np.zeros((48, 48), np.uint8),
        "flat_gray_with_sensor_noise": np.clip(rng.normal(120, 2, (64, 64)), 0, 255).astype(np.uint8),
        "noise": rng.integers(0, 256, (48, 48), dtype=np.uint8),
        "gaussian_noise": np.clip(rng.normal(128, 40, (96, 96)), 0, 255).astype(np.uint8),
        "gradient": np.tile(np.linspace(30, 220, 48), (48, 1)).astype(np.uint8),
        "text": _text(),
        "desk_and_wall": room[SEAT_SIDE - 40:SEAT_SIDE + 80, 40:160],
    }


@pytest.fixture(scope="module")
def model():
    return affect.load_model()


@pytest.mark.parametrize("name", list(not_faces()))
def test_crops_without_a_face_are_no_face_with_a_reason(name, model):
    row = affect.extract([not_faces()[name]], model=model).iloc[0]
    assert row.status == STATUS_NO_FACE and "face" in row.reason, (name, row.reason)
    assert np.isnan(row.valence)


def test_a_background_patch_of_a_real_photo_is_no_face(model):
    path = shared_file("wider_dev/images/12--Group/12_Group_Group_12_Group_Group_12_912.jpg")
    patch = np.asarray(Image.open(path).convert("L"))[0:96, 0:96]    # top-left corner: no annotated face
    assert affect.extract([patch], model=model).status.tolist() == [STATUS_NO_FACE]


def test_every_face_crop_of_a_ferplus_sample_and_the_demo_is_scored(ferplus_small, model):
    crops = sorted((ferplus_small / "FER2013Test").glob("*.png"))
    demo = sorted((REPO / "sample_data" / "demo" / "images" / "session-01").rglob("*.png"))[:30]
    frame = affect.extract(crops + demo, model=model, batch_size=128)
    assert frame.status.eq(STATUS_OK).all(), frame.loc[frame.status != STATUS_OK, ["source", "reason"]]
    assert frame.det_score.between(CROP_FACE_SCORE, 1).all()


def test_the_check_looks_at_faces_of_any_crop_size():
    detect = YuNet(CROP_FACE_SCORE)
    for side in (32, 48, CROP_SIDE, 128):
        check = check_crop(synthetic_face(side=side), detect)
        assert check.is_face and check.faces.boxes[0, 2] > side / 2, side
