"""Shared fixtures: the FERPlus data beside the repo (../shared/data), read when present."""
from __future__ import annotations

import csv
import io
import os
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("VADGRADE_SHARED_DATA", REPO.parent / "shared" / "data"))


def shared_file(name: str) -> Path:
    """A file of ../shared/data, or a visible skip when this checkout has none."""
    path = SHARED_DATA / name
    if not path.is_file():
        pytest.skip(f"{path} not found: the FERPlus data in ../shared/data is needed for this test")
    return path


FERPLUS_TARS = {"FER2013Train": "ferplus-train.tar", "FER2013Valid": "ferplus-valid-test.tar",
                "FER2013Test": "ferplus-valid-test.tar"}


def extract_ferplus_subset(dest: Path, per_split: int | None,
                           splits: tuple[str, ...] = tuple(FERPLUS_TARS)) -> Path:
    """Copy the first `per_split` images (all when None) of each FERPlus split + matching label rows."""
    root = dest / "ferplus"
    for tar_name in dict.fromkeys(FERPLUS_TARS[s] for s in splits):
        with tarfile.open(shared_file(tar_name)) as tar:
            members = {m.name.split("ferplus/", 1)[-1]: m for m in tar.getmembers() if m.isfile()}
            for split in splits:
                label = members.get(f"{split}/label.csv")
                if label is None:
                    continue
                rows = list(csv.reader(io.TextIOWrapper(tar.extractfile(label), "utf-8")))
                rows = rows if per_split is None else rows[:per_split]
                (root / split).mkdir(parents=True, exist_ok=True)
                with (root / split / "label.csv").open("w", newline="") as fh:
                    csv.writer(fh).writerows(rows)
                for row in rows:
                    (root / split / row[0]).write_bytes(tar.extractfile(members[f"{split}/{row[0]}"]).read())
    return root


@pytest.fixture(scope="session")
def ferplus_small(tmp_path_factory) -> Path:
    """A 300-images-per-split FERPlus folder in the standard layout."""
    return extract_ferplus_subset(tmp_path_factory.mktemp("ferplus"), 300)
