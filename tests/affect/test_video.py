"""Video files: sampled every interval, one timed row per face or empty frame; bad files are named."""
from __future__ import annotations

import numpy as np
import pytest

import affect
from affect.schema import STATUS_ERROR, STATUS_NO_FACE, STATUS_OK, VIDEO_SUFFIXES
from affect.video import VideoError, sample_frames
from tests.affect.media import FACE_AT, FACE_SIDE, clip, truncated


@pytest.fixture(scope="module")
def model():
    return affect.load_model()


@pytest.fixture(scope="module")
def mp4(tmp_path_factory):
    return clip(tmp_path_factory.mktemp("video") / "clip.mp4")


@pytest.mark.parametrize("suffix, fourcc", [(".avi", "MJPG"), (".mov", "mp4v"), (".mkv", "mp4v")])
def test_every_video_suffix_gives_timed_rows(tmp_path, model, suffix, fourcc):
    assert suffix in VIDEO_SUFFIXES
    rows = affect.extract([clip(tmp_path / f"clip{suffix}", seconds=3, fourcc=fourcc)], model=model)
    assert rows.frame_time_s.tolist() == [0.0, 2.0] and rows.status.eq(STATUS_OK).all()


def test_a_clip_gives_one_row_per_sampled_frame_with_its_time(mp4, model):
    rows = affect.extract([mp4, mp4.with_name("missing.mp4")], model=model)
    video = rows[rows.source == str(mp4)]
    assert video.frame_time_s.tolist() == [0.0, 2.0, 4.0]                  # 6 s clip, face for the first 4 s
    assert video.status.tolist() == [STATUS_OK, STATUS_OK, STATUS_NO_FACE]
    assert video.face_idx.tolist() == [0, 0, -1] and video.expression.iloc[0] is not None
    assert (video.box_x.iloc[:2] - FACE_AT[0]).abs().max() < FACE_SIDE / 2
    missing = rows[rows.source.str.endswith("missing.mp4")]
    assert missing.status.tolist() == [STATUS_ERROR] and missing.reason.iloc[0] == "file not found"
    assert np.isnan(missing.frame_time_s.iloc[0])


def test_sampling_interval_and_masks_apply_to_every_frame(mp4, model):
    every_second = affect.extract([mp4], model=model, frame_interval_s=1.0)
    assert every_second.frame_time_s.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    seat = [(FACE_AT[0] - 30, FACE_AT[1] - 30, FACE_SIDE + 60, FACE_SIDE + 60)]
    hidden = affect.extract([mp4], model=model, frame_interval_s=1.0, masks=[seat])
    assert hidden.status.eq(STATUS_NO_FACE).all() and len(hidden) == 6


def test_truncated_videos_are_errors_with_a_reason_and_extraction_goes_on(tmp_path, mp4, model):
    avi = clip(tmp_path / "clip.avi", fourcc="MJPG")
    cut_mp4, cut_avi = truncated(tmp_path / "cut.mp4", mp4), truncated(tmp_path / "cut.avi", avi)
    rows = affect.extract([cut_mp4, cut_avi, mp4], model=model)
    by_source = rows.groupby("source", sort=False)
    mp4_rows, avi_rows = by_source.get_group(str(cut_mp4)), by_source.get_group(str(cut_avi))
    assert mp4_rows.status.tolist() == [STATUS_ERROR] and "cannot open" in mp4_rows.reason.iloc[0]
    assert avi_rows.status.iloc[-1] == STATUS_ERROR and "truncated" in avi_rows.reason.iloc[-1]
    assert (avi_rows.status.iloc[:-1] == STATUS_OK).all()                  # frames before the cut still count
    assert by_source.get_group(str(mp4)).status.eq(STATUS_OK).sum() == 2   # the next file is read as usual


def test_sample_frames_refuses_what_is_not_a_video(tmp_path):
    (tmp_path / "fake.mp4").write_bytes(b"not a video at all")
    with pytest.raises(VideoError, match="cannot open|no frame"):
        list(sample_frames(tmp_path / "fake.mp4"))
    with pytest.raises(ValueError, match="positive"):
        list(sample_frames(tmp_path / "fake.mp4", 0))
