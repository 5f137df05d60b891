"""The shipped YuNet (checked by SHA-256) and the similarity alignment to the FER framing."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from affect.align import FER_LANDMARKS, aligned_crop, box_crop, similarity, to_pixels
from affect.detect import YUNET_SHA256, DetectorError, YuNet, verified, yunet_path
from tests.affect.media import FACE_AT, FACE_SIDE, room, synthetic_face


def test_shipped_model_matches_its_recorded_hash_and_licence_ships_beside_it():
    assert verified(yunet_path()) == yunet_path()
    folder = yunet_path().parent
    assert "Apache License" in (folder / "yunet_LICENSE.txt").read_text()
    assert YUNET_SHA256 in (folder / "yunet_NOTICE.txt").read_text()


def test_a_changed_or_missing_model_is_refused_with_a_clear_error(tmp_path):
    damaged = tmp_path / "yunet.onnx"
    data = bytearray(yunet_path().read_bytes())
    data[-1] ^= 0xFF
    damaged.write_bytes(bytes(data))
    with pytest.raises(DetectorError, match="SHA-256"):
        YuNet(model_path=damaged)(np.zeros((64, 64), np.uint8))
    with pytest.raises(DetectorError, match="not found"):
        YuNet(model_path=tmp_path / "missing.onnx")(np.zeros((64, 64), np.uint8))


def test_yunet_finds_the_face_in_a_frame_with_landmarks_inside_its_box():
    faces = YuNet()(room(synthetic_face()))
    assert len(faces) == 1 and faces.scores[0] > 0.6
    x, y, w, h = faces.boxes[0]
    assert abs(x + w / 2 - (FACE_AT[0] + FACE_SIDE / 2)) < 10 and 0.6 * FACE_SIDE < w < 1.2 * FACE_SIDE
    lm = faces.landmarks[0]
    assert ((lm >= [x, y]) & (lm <= [x + w, y + h])).all()
    assert lm[0, 0] < lm[1, 0] and lm[:2, 1].max() < lm[2, 1] < lm[3:, 1].min()   # eyes, nose, mouth


def test_similarity_recovers_a_rotation_scale_and_shift():
    src = to_pixels(FER_LANDMARKS, 200) + 30
    angle, scale, shift = np.deg2rad(25), 0.4, np.array([5.0, -7.0])
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    matrix = similarity(src, src @ rot.T + shift)
    np.testing.assert_allclose(matrix[:, :2], rot, atol=1e-9)
    np.testing.assert_allclose(matrix[:, 2], shift, atol=1e-9)


def test_aligned_crop_puts_the_landmarks_on_the_template_at_any_tilt_and_size():
    """Dots drawn where a tilted, 4x larger face would have its landmarks land on FER_LANDMARKS."""
    angle, scale, shift = np.deg2rad(30), 4.0, np.array([60.0, 40.0])
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    landmarks = to_pixels(FER_LANDMARKS, 48) @ rot.T + shift
    image = np.zeros((320, 320), np.uint8)
    for x, y in landmarks:
        cv2.circle(image, (round(x), round(y)), 6, 255, -1)
    crop = aligned_crop(image, landmarks, 48)
    n, _, _, centres = cv2.connectedComponentsWithStats((crop > 100).astype(np.uint8))
    assert n == 6
    found = sorted(map(tuple, centres[1:]), key=lambda c: (round(c[1] / 5), c[0]))
    expected = sorted(map(tuple, to_pixels(FER_LANDMARKS, 48)), key=lambda c: (round(c[1] / 5), c[0]))
    np.testing.assert_allclose(found, expected, atol=0.75)


def test_an_aligned_face_is_framed_like_a_fer_crop():
    frame = room(synthetic_face())
    found = YuNet()(frame)
    crop = aligned_crop(frame[..., 0], found.landmarks[0], 96)
    again = YuNet()(crop)
    np.testing.assert_allclose(again.landmarks[0], to_pixels(FER_LANDMARKS, 96), atol=96 * 0.06)
    boxed = box_crop(frame[..., 0], found.boxes[0], 96)
    np.testing.assert_allclose(YuNet()(boxed).landmarks[0], to_pixels(FER_LANDMARKS, 96), atol=96 * 0.08)
