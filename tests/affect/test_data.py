"""Dataset loaders and target derivation."""
from __future__ import annotations

import csv
import io
import tarfile

import numpy as np
import pytest
from PIL import Image

from affect.data import (DatasetError, detect_format, fer2013_labels, ferplus_majority, load_class_folders,
                         load_fer2013_csv, load_split, read_vad_anchors, votes_to_targets)
from affect.schema import EXPRESSIONS
from tests.conftest import shared_file


def test_majority_rule_matches_official_test_split_counts():
    """3,137 of the 3,573 FERPlus test images have an official majority label."""
    with tarfile.open(shared_file("ferplus-valid-test.tar")) as tar:
        rows = list(csv.reader(io.TextIOWrapper(tar.extractfile("ferplus/FER2013Test/label.csv"), "utf-8")))
    votes = np.array([[int(x) for x in r[2:]] for r in rows])
    label = ferplus_majority(votes)
    assert len(label) == 3573
    assert (label >= 0).sum() == 3137
    assert np.bincount(label[label >= 0], minlength=8).tolist() == [1083, 892, 394, 382, 269, 16, 86, 15]


def test_vad_target_is_vote_weighted_anchor_mean():
    anchors = read_vad_anchors()
    votes = np.array([[5, 5, 0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 6, 4]])
    keep, probs, vad, label = votes_to_targets(votes, anchors)
    assert keep.tolist() == [True, False]          # >3 unknown/NF votes are dropped
    np.testing.assert_allclose(vad[0], (anchors[0] + anchors[1]) / 2, atol=1e-6)
    assert label.tolist() == [-1, -1]              # a 5/5 tie has no majority


def test_ferplus_loader_reads_layout(ferplus_small):
    train = load_split(ferplus_small, "train")
    assert detect_format(ferplus_small.parent) == "ferplus"
    assert train.images.shape[1:] == (48, 48) and train.images.dtype == np.uint8
    np.testing.assert_allclose(train.probs.sum(1), 1, atol=1e-5)
    assert np.abs(train.vad).max() <= 1


def test_fer2013_csv_with_and_without_vad(tmp_path):
    pixels = " ".join(["128"] * 48 * 48)
    plain = tmp_path / "fer.csv"
    plain.write_text("emotion,pixels,Usage\n3,%s,Training\n0,%s,PrivateTest\n" % (pixels, pixels))
    faces = load_fer2013_csv(plain, "test")
    assert faces.label.tolist() == [EXPRESSIONS.index("anger")] and not faces.vad_given
    rich = tmp_path / "fer_vad.csv"
    rich.write_text("emotion,pixels,Usage,Valence,Arousal,Dominance\n3,%s,Training,0.5,0.2,-0.1\n" % pixels)
    faces = load_fer2013_csv(rich, "train")
    assert faces.vad_given and faces.vad.tolist() == [[0.5, pytest.approx(0.2), pytest.approx(-0.1)]]


def test_fer2013_csv_bad_row_names_line(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("emotion,pixels,Usage\n3,1 2 3,Training\n")
    with pytest.raises(DatasetError, match=r"bad.csv:2"):
        load_fer2013_csv(bad, "train")


def test_fer2013_labels_codes_ambiguous_and_bad_rows(tmp_path):
    table = tmp_path / "labels.csv"
    table.write_text("split,image,fer2013_label,match_mad,ambiguous\n"
                     "FER2013Train,a.png,3,1.0,0\nFER2013Train,b.png,6,1.0,1\n")
    codes = fer2013_labels(table, ["FER2013Train/a.png", "FER2013Train/b.png", "FER2013Train/c.png"])
    assert codes.tolist() == [3, -1, -1]          # ambiguous and unknown images carry no label
    table.write_text("split,image,fer2013_label\nFER2013Train,a.png,9\n")
    with pytest.raises(DatasetError, match=r"labels.csv:2"):
        fer2013_labels(table, ["FER2013Train/a.png"])


def test_class_folders(tmp_path):
    for name in ("happy", "neutral"):
        (tmp_path / name).mkdir()
        Image.new("L", (60, 60), 100).save(tmp_path / name / "a.png")
    faces = load_class_folders(tmp_path)
    assert sorted(faces.label.tolist()) == [0, 1] and faces.images.shape == (2, 48, 48)
    (tmp_path / "bored").mkdir()
    with pytest.raises(DatasetError, match="unknown class folder"):
        load_class_folders(tmp_path)


def test_missing_dataset_path_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetError, match="no dataset here"):
        load_split(tmp_path / "nowhere", "train")
