"""affect.extract on real files, including every kind of bad input the issue names."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import affect
from affect.faces import DecodeError, FaceFinder, decode_gray, decode_image
from affect.schema import FACE_COLUMNS, PROB_COLUMNS, STATUS_ERROR, STATUS_NO_FACE, STATUS_OK
from affect.weights import load_model


@pytest.fixture(scope="module")
def model():
    return load_model()


def _face_canvas(face48: np.ndarray, size=(640, 480), face_px=200, at=(220, 140)) -> np.ndarray:
    """A FER face upscaled onto a bigger flat canvas, like a webcam frame."""
    canvas = np.full(size[::-1], 128, np.uint8)
    face = np.asarray(Image.fromarray(face48).resize((face_px, face_px), Image.BICUBIC))
    canvas[at[1]:at[1] + face_px, at[0]:at[0] + face_px] = face
    return canvas


def _bad_inputs(tmp_path):
    files = {}
    files["zero.png"] = b""
    files["text.jpg"] = b"this is not an image"
    buf = io.BytesIO()
    Image.new("L", (300, 300), 90).save(buf, "PNG")
    files["truncated.png"] = buf.getvalue()[:200]
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    return [tmp_path / n for n in files] + [tmp_path / "missing.png", tmp_path]


def test_every_input_gets_a_row_and_bad_files_do_not_abort(tmp_path, model, ferplus_small):
    crop = np.asarray(Image.open(next((ferplus_small / "FER2013Test").glob("*.png"))))
    Image.fromarray(crop).save(tmp_path / "crop.png")
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (400, 500), np.uint8)).save(tmp_path / "noise.png")
    inputs = [tmp_path / "crop.png", *_bad_inputs(tmp_path), tmp_path / "noise.png"]
    frame = affect.extract(inputs, batch_size=4, model=model)
    assert list(frame.columns) == list(FACE_COLUMNS)
    assert frame["source"].tolist() == [str(p) for p in inputs]
    status = dict(zip(frame["source"], frame["status"]))
    assert status[str(tmp_path / "crop.png")] == STATUS_OK
    assert status[str(tmp_path / "noise.png")] == STATUS_NO_FACE
    errors = frame[frame.status == STATUS_ERROR]
    assert len(errors) == 5 and errors["reason"].str.len().min() > 5
    ok = frame[frame.status == STATUS_OK]
    np.testing.assert_allclose(ok[list(PROB_COLUMNS)].sum(1), 1, atol=1e-4)
    assert ok[["valence", "arousal", "dominance"]].abs().max().max() <= 1


def test_detector_finds_a_face_in_a_frame_and_workers_agree(tmp_path, model, ferplus_small):
    faces = sorted((ferplus_small / "FER2013Test").glob("*.png"))[:40]
    paths = []
    for k, face in enumerate(faces):
        Image.fromarray(_face_canvas(np.asarray(Image.open(face)))).save(tmp_path / f"frame{k}.jpg")
        paths.append(tmp_path / f"frame{k}.jpg")
    in_process = affect.extract(paths, batch_size=8, model=model)
    found = in_process.groupby("source")["status"].apply(lambda s: (s == STATUS_OK).any())
    assert found.mean() >= 0.9, f"the detector found faces in only {found.mean():.0%} of frames"
    hit = in_process[in_process.status == STATUS_OK].iloc[0]
    assert 150 <= hit.box_w <= 300 and 0.5 < hit.det_score <= 1
    with_workers = affect.extract(paths[:6], batch_size=4, model=model, num_workers=2)
    first = in_process[in_process.source.isin(map(str, paths[:6]))].reset_index(drop=True)
    np.testing.assert_allclose(with_workers["valence"].to_numpy(), first["valence"].to_numpy(), atol=1e-5)


def test_decoder_handles_modes_and_orientation(tmp_path):
    sixteen = (np.arange(64 * 32, dtype=np.uint16).reshape(32, 64) * 30)
    Image.fromarray(sixteen, mode="I;16").save(tmp_path / "deep.png")
    gray16 = decode_gray(tmp_path / "deep.png")
    assert gray16.max() > 200 and gray16.min() < 10          # scaled, not clipped to white
    Image.new("CMYK", (40, 30), (0, 0, 0, 0)).save(tmp_path / "cmyk.jpg")
    assert decode_gray(tmp_path / "cmyk.jpg").min() > 240     # CMYK white stays white
    rgba = Image.new("RGBA", (40, 30), (0, 0, 0, 0))
    rgba.save(tmp_path / "clear.png")
    assert decode_gray(tmp_path / "clear.png").min() == 255   # transparent -> white background
    rotated = Image.new("L", (80, 40), 10)
    exif = rotated.getexif()
    exif[0x0112] = 6                                          # rotate 90 on display
    for suffix in ("jpg", "png", "webp"):                        # formats whose EXIF orientation PIL applies
        rotated.save(tmp_path / f"rot.{suffix}", exif=exif)
        assert decode_gray(tmp_path / f"rot.{suffix}").shape == (80, 40), suffix
    Image.new("L", (400, 300)).save(tmp_path / "big.png")
    with pytest.raises(DecodeError, match="too large"):
        decode_gray(tmp_path / "big.png", max_pixels=100_000)


def test_colour_is_kept_for_detection_and_gray_sources_stay_gray(tmp_path):
    Image.new("RGB", (40, 30), (200, 10, 10)).save(tmp_path / "red.png")
    bgr = decode_image(tmp_path / "red.png")
    assert bgr.shape == (30, 40, 3) and tuple(bgr[0, 0]) == (10, 10, 200)
    assert decode_gray(tmp_path / "red.png")[0, 0] == np.asarray(Image.open(tmp_path / "red.png").convert("L"))[0, 0]
    Image.new("L", (40, 30), 90).save(tmp_path / "gray.png")
    assert decode_image(tmp_path / "gray.png").shape == (30, 40)


def test_detect_modes():
    whole = FaceFinder(out_size=64).whole(np.zeros((48, 48), np.uint8))
    assert whole.crops.shape == (0, 64, 64) and "flat" in whole.reason
    with pytest.raises(ValueError, match="detect must be"):
        affect.extract([], detect="sometimes")


def test_crops_never_load_the_frame_detector(ferplus_small):
    """Crops are checked by the crop detector only; the photo detector loads on the first photo."""
    finder = FaceFinder(out_size=48)
    face = np.asarray(Image.open(next((ferplus_small / "FER2013Test").glob("*.png"))))
    found = finder.whole(face)
    assert found.crops.shape == (1, 48, 48) and 0 < found.scores[0] <= 1
    assert "_frame_detector" not in vars(finder)
    finder.detect(np.full((240, 320), 128, np.uint8))
    assert "_frame_detector" in vars(finder)
