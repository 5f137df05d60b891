"""Intake of image batches: layouts, manifests, consent before opening, seats."""
from __future__ import annotations

import pandas as pd
import pytest

from warehouse.errors import InputError
from warehouse.intake import (NO_CONSENT_REASON, NOT_AN_IMAGE_REASON, UNKNOWN_STUDENT_REASON, apply_consent,
                              assign_seats, attach_students, discover, masked_seats, new_images, read_manifest,
                              read_seat_map)

ROSTER = pd.DataFrame({"student_id": ["s1", "s2", "s3"], "consent": [True, False, True],
                       "display_name": ["A", "B", "C"]})
SEATS = pd.DataFrame({"camera": ["cam1"] * 3, "student_id": ["s1", "s2", "s3"],
                      "x": [0, 100, 200], "y": [0, 0, 0], "w": [100, 100, 100], "h": [100, 100, 100]})


def _touch(path, data=b"img"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_discover_both_layouts_and_consent(tmp_path):
    _touch(tmp_path / "w1" / "s1" / "a.jpg", b"1")
    _touch(tmp_path / "w1" / "s2" / "a.jpg", b"2")
    _touch(tmp_path / "w1" / "s9" / "a.jpg", b"3")
    _touch(tmp_path / "w1" / "s1" / "notes.txt", b"x")
    _touch(tmp_path / "w2" / "cam1_0930.jpg", b"4")
    plan = apply_consent(discover(tmp_path), ROSTER)
    assert sorted(plan.images["path"].str.rsplit("/", n=2).str[-2:].str.join("/")) == ["s1/a.jpg", "w2/cam1_0930.jpg"]
    assert plan.images.set_index("layout").loc["frame", "camera"] == "cam1"
    assert plan.counts() == {NOT_AN_IMAGE_REASON: 1, UNKNOWN_STUDENT_REASON: 1, NO_CONSENT_REASON: 1}


def test_new_images_skips_scored_and_duplicates(tmp_path):
    _touch(tmp_path / "w1" / "s1" / "a.jpg", b"same")
    _touch(tmp_path / "w1" / "s1" / "b.jpg", b"same")
    _touch(tmp_path / "w1" / "s3" / "c.jpg", b"other")
    _touch(tmp_path / "w2" / "cam1.jpg", b"frame")
    _touch(tmp_path / "w2" / "cam9.jpg", b"frame9")
    plan = apply_consent(discover(tmp_path), ROSTER)
    todo, aside, already = new_images(plan, set(), SEATS, ROSTER)
    assert len(todo) == 3 and {a["reason"].split(" ")[0] for a in aside} == {"same", "frame"}
    assert todo.set_index("layout").loc["frame", "masks"] == [(100, 0, 100, 100)]   # s2 has no consent
    assert already == 0
    again, _, already = new_images(plan, set(todo["content_hash"]), SEATS, ROSTER)
    assert again.empty and already == 4     # b.jpg has the same bytes as a stored image


def test_manifest_rows_outside_root_or_missing_are_named(tmp_path):
    _touch(tmp_path / "imgs" / "x.jpg")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("path,student_id,session_id\nimgs/x.jpg,s1,w1\n../etc/passwd,s1,w1\nimgs/gone.jpg,s1,w1\n")
    plan = read_manifest(manifest, tmp_path)
    assert len(plan.images) == 1
    assert [a["path"].split(" ")[0] for a in plan.set_aside] == ["manifest.csv:3", "manifest.csv:4"]
    assert plan.counts() == {"manifest path outside the data root": 1, "manifest path not found": 1}


def test_seat_map_overlap_is_an_error_naming_both(tmp_path):
    path = tmp_path / "seat_map.csv"
    path.write_text("camera,student_id,x,y,w,h\ncam1,s1,0,0,100,100\ncam1,s2,50,50,100,100\n")
    with pytest.raises(InputError, match="'s1' and 's2' overlap"):
        read_seat_map(path)


def test_faces_map_to_seat_by_centre_and_outsiders_are_counted():
    faces = pd.DataFrame({"source": ["f.jpg"] * 3, "status": ["ok"] * 3, "model_version": ["v"] * 3,
                          "reason": [""] * 3, "box_x": [10, 210, 400], "box_y": [10, 10, 10],
                          "box_w": [50, 50, 50], "box_h": [50, 50, 50]})
    assert assign_seats(faces, SEATS, "cam1").tolist() == ["s1", "s3", None]
    chunk = pd.DataFrame({"path": ["f.jpg"], "content_hash": ["h"], "session_id": ["w2"], "student_id": [None],
                          "camera": ["cam1"], "layout": ["frame"]})
    scored, images, outside = attach_students(faces, chunk, SEATS)
    assert scored["student_id"].tolist() == ["s1", "s3"] and outside == 1 and len(images) == 1
    assert masked_seats(SEATS, ROSTER, "cam1") == [(100, 0, 100, 100)]


def test_sessions_file_problems_are_listed_together(tmp_path):
    from warehouse import read_sessions
    good = tmp_path / "sessions.csv"
    good.write_text("session_id,held_on\nw1,2026-09-07\nw2,\n")
    assert read_sessions(good)["held_on"].isna().tolist() == [False, True]
    bad = tmp_path / "bad.csv"
    bad.write_text("session_id,held_on\nw1,2026-09-07\nw1,07/09/2026\n,2026-09-21\n")
    with pytest.raises(InputError) as err:
        read_sessions(bad)
    assert len(err.value.problems) == 3 and "line 3" in str(err.value)


def test_links_leaving_the_cohort_folder_are_refused_unopened(tmp_path):
    """Defect: the folder walk followed links; /etc/passwd was opened and hashed."""
    from warehouse.intake import OUTSIDE_ROOT_REASON
    data = tmp_path / "cohort"
    _touch(data / "images" / "w1" / "s1" / "a.jpg", b"1")
    outside = _touch(tmp_path / "elsewhere" / "b.jpg", b"2")
    inside = _touch(data / "other" / "c.jpg", b"3")
    (data / "images" / "w1" / "s1" / "out.jpg").symlink_to(outside)
    (data / "images" / "w1" / "s1" / "passwd.jpg").symlink_to("/etc/passwd")
    (data / "images" / "w1" / "s1" / "in.jpg").symlink_to(inside)
    (data / "images" / "w1" / "s3").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    plan = discover(data / "images", data)
    assert sorted(p.rsplit("/", 1)[1] for p in plan.images["path"]) == ["a.jpg", "in.jpg"]
    assert sorted(a["path"].rsplit("/", 1)[1] for a in plan.set_aside) == ["out.jpg", "passwd.jpg", "s3"]
    assert {a["reason"] for a in plan.set_aside} == {OUTSIDE_ROOT_REASON}


def test_names_that_are_not_utf8_are_named_and_skipped(tmp_path):
    import os
    from warehouse.intake import BAD_NAME_REASON
    _touch(tmp_path / "w1" / "s1" / "a.jpg", b"1")
    bad = os.fsdecode(b"caf\xe9.jpg")
    _touch(tmp_path / "w1" / "s1" / bad, b"2")
    plan = discover(tmp_path)
    assert len(plan.images) == 1
    assert plan.set_aside == [{"path": str(tmp_path / "w1" / "s1") + "/caf\\xe9.jpg", "reason": BAD_NAME_REASON}]
    plan.set_aside[0]["path"].encode("utf-8")          # printable and storable


def test_sessions_not_in_sessions_csv_are_set_aside_unopened(tmp_path):
    from warehouse.intake import check_sessions
    _touch(tmp_path / "w1" / "s1" / "a.jpg", b"1")
    _touch(tmp_path / "w13" / "s1" / "a.jpg", b"2")
    plan = check_sessions(discover(tmp_path), {"w1"})
    assert plan.images["session_id"].tolist() == ["w1"]
    assert plan.counts() == {"session 'w13' is not in sessions.csv (not opened)": 1}


def test_seat_map_problems_name_each_line(tmp_path):
    """Defect: x = "abc" raised a TypeError instead of naming the line."""
    path = tmp_path / "seat_map.csv"
    path.write_text("camera,student_id,x,y,w,h\ncam1,s1,abc,0,100,100\ncam1,s2,200,0,-5,100\ncam1,s1,400,0,10,10\n")
    with pytest.raises(InputError) as err:
        read_seat_map(path)
    text = str(err.value)
    assert "line 2 (student_id 's1'): x 'abc' not a number" in text
    assert "line 3 (student_id 's2'): a seat needs" in text
    assert "student_id 's1' has 2 seats (lines 2, 4)" in text


def test_seats_outside_the_frame_are_named(tmp_path):
    from PIL import Image
    from warehouse.intake import FoundImages, plan_images
    frame = tmp_path / "images" / "w1" / "cam1.jpg"
    frame.parent.mkdir(parents=True)
    Image.new("L", (250, 120)).save(frame)
    found = FoundImages(discover(tmp_path / "images"), SEATS.assign(line=[2, 3, 4]))
    intake = plan_images(found, roster=ROSTER, sessions={"w1"}, erased=set(), done=set())
    assert len(intake.todo) == 1
    assert intake.set_aside == [{"path": "seat_map.csv:4",
                                 "reason": "seat of 's3' (camera 'cam1') is not inside its 250x120 px frames"}]
