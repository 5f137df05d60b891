"""Real faces for the identity tests: Yale photos from ../shared/data, converted in tmp (never committed).

Each test that calls these skips with a visible reason when ../shared is absent.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from tests.conftest import shared_file

TESTS = ",".join(f"test_{n:02d}" for n in range(1, 13))
# Students of the identity cohort -> the Yale subject who plays them.
CONSENTING = {"s01": "subject01", "s02": "subject02", "s03": "subject03"}
REFUSING = {"s04": "subject04"}                 # on the roster, consent no: enrolment photos never opened
STRANGER = "subject05"                          # not on the roster, not enrolled
ENROL_CONDITIONS = ("normal", "happy")
FRAME_CONDITION = "sad"


def yale(subject: str, condition: str) -> np.ndarray:
    """One Yale photo, gray uint8 (the files are GIFs without an extension)."""
    with Image.open(shared_file(f"yalefaces/images/{subject}.{condition}")) as im:
        return np.asarray(im.convert("L"))


def save(path: Path, image: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)
    return path


def frame_of(*faces: tuple[str, str]) -> np.ndarray:
    """Yale photos (subject, condition) side by side: one classroom frame."""
    return np.concatenate([yale(s, c) for s, c in faces], axis=1)


def enrol(data: Path, student: str, subject: str, conditions=ENROL_CONDITIONS) -> list[Path]:
    return [save(data / "enrolment" / student / f"{c}.png", yale(subject, c)) for c in conditions]


def identity_cohort(root: Path) -> Path:
    """A cohort for identity = "enrolment": s01-s03 consent and enrol, s04 refuses (photos present),
    and one frame holding s01, s04 and a stranger."""
    root.mkdir(parents=True)
    students = {**CONSENTING, **REFUSING}
    (root / "roster.csv").write_text("student_id,consent\n" + "".join(
        f"{s},{'no' if s in REFUSING else 'yes'}\n" for s in students))
    (root / "sessions.csv").write_text("session_id,held_on\nw1,2025-09-01\n")
    scores = ",".join(["70"] * 12)
    (root / "gradebook.csv").write_text(f"student_id,gpa,{TESTS},final_grade\n" + "".join(
        f"{s},3.0,{scores},70\n" for s in students))
    for student, subject in students.items():
        enrol(root, student, subject)
    save(root / "images" / "w1" / "cam1.png",
         frame_of(("subject01", FRAME_CONDITION), ("subject04", FRAME_CONDITION), (STRANGER, FRAME_CONDITION)))
    return root
