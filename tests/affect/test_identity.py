"""Identity on real faces (Yale photos from ../shared, skipped when absent): embeddings, photos, video tracks."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import affect
import affect.identity
from affect.identity import EMBEDDING_SIZE, Matcher, photo_templates, student_names
from affect.matching import calibrate
from affect.schema import IDENTITY_COLUMNS, STATUS_UNMATCHED
from tests.affect.media import write_video
from tests.yale import enrol, frame_of, save, yale


@pytest.fixture(scope="module")
def enrolment(tmp_path_factory):
    """subject01-03 enrolled with their normal and happy photos."""
    data = tmp_path_factory.mktemp("enrol")
    photos = {s: enrol(data, s, s) for s in ("subject01", "subject02", "subject03")}
    templates = photo_templates([p for paths in photos.values() for p in paths])
    return calibrate([s for s, paths in photos.items() for _ in paths], np.stack(templates))


def test_models_are_found_without_importing_their_package():
    code = ("import sys, numpy as np; from affect.identity import embed; "
            "print(embed(np.zeros((64, 64), np.uint8), np.array([[8, 8, 48, 48]])).shape, "
            "'face_recognition_models' in sys.modules, 'pkg_resources' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["(1,", f"{EMBEDDING_SIZE})", "False", "False"]


def test_a_damaged_model_file_is_refused(tmp_path, monkeypatch):
    (tmp_path / affect.identity.SHAPE_MODEL).write_bytes(b"not a model")
    monkeypatch.setattr(affect.identity, "models_dir", lambda: tmp_path)
    with pytest.raises(affect.identity.IdentityModelError, match="damaged or was replaced"):
        affect.identity._verified(affect.identity.SHAPE_MODEL)


def test_enrolment_photos_need_exactly_one_face(tmp_path):
    two = save(tmp_path / "two.png", frame_of(("subject01", "normal"), ("subject02", "normal")))
    blank = save(tmp_path / "blank.png", np.full((200, 200), 128, np.uint8))
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    assert photo_templates([two, blank, broken]) == [
        "2 faces in the enrolment photo (it must show one)", "no face found in the enrolment photo",
        "corrupt or truncated image (Truncated File Read)"]


def test_a_frame_names_enrolled_faces_and_drops_the_stranger_unscored_and_uncropped(enrolment, tmp_path):
    frame = save(tmp_path / "cam1.png", frame_of(("subject02", "sad"), ("subject05", "sad"), ("subject01", "sad")))
    crops = tmp_path / "crops"
    faces = affect.extract([frame], device="cpu", enrolment=enrolment, crops_dir=crops)
    assert set(IDENTITY_COLUMNS) <= set(faces.columns)
    ok = faces[faces["status"] == "ok"].sort_values("box_x")
    assert ok["student_id"].tolist() == ["subject02", "subject01"]
    assert (ok["match_distance"] <= 0.5).all()
    stranger = faces[faces["status"] == STATUS_UNMATCHED]
    assert len(stranger) == 1 and stranger[["box_x", "valence", "student_id"]].isna().all(axis=None)
    assert len(list(crops.glob("*.png"))) == 2                  # no crop of the stranger

    shown = affect.extract([frame], device="cpu", enrolment=enrolment, keep_unmatched=True)
    assert shown.sort_values("box_x")["student_id"].fillna("").tolist() == ["subject02", "", "subject01"]


def test_video_tracks_embed_a_few_faces_each_and_name_every_sighting(enrolment, tmp_path, monkeypatch):
    still = frame_of(("subject03", "sad"), ("subject05", "sad"), ("subject01", "wink"))
    video = write_video(tmp_path / "class.mp4", [np.repeat(still[..., None], 3, axis=2)] * 40, fps=5.0)  # 8 s
    calls = []
    real = affect.identity.embed
    monkeypatch.setattr(affect.identity, "embed", lambda image, boxes: calls.append(len(boxes)) or real(image, boxes))
    faces = affect.extract([video], device="cpu", enrolment=enrolment, frame_interval_s=1.0)
    times = faces["frame_time_s"].nunique()
    assert times == 8
    assert sum(calls) == 3 * 3 < 3 * times                       # 3 tracks, 3 faces embedded each
    ok = faces[faces["status"] == "ok"]
    assert ok.groupby("student_id")["frame_time_s"].nunique().to_dict() == {"subject01": times, "subject03": times}
    assert (faces["status"] == STATUS_UNMATCHED).sum() == times


def test_matcher_embeds_every_face_of_a_photo(enrolment):
    matcher = Matcher(enrolment)
    image = frame_of(("subject01", "sad"), ("subject02", "sad"))
    from affect.faces import FaceFinder
    matcher.add(image, FaceFinder().detect(image).boxes)
    assert matcher.embedded == 2
    assert student_names(enrolment, matcher.names()[0]) == ["subject01", "subject02"]
