"""Small generated cohorts for the warehouse tests (a uniquely named module, so the
import cannot pick up another package's test helpers)."""
from __future__ import annotations

import hashlib

import duckdb
import numpy as np
import pandas as pd

from affect.schema import EXPRESSIONS, FACE_COLUMNS, PROB_COLUMNS, STATUS_NO_FACE, STATUS_OK

COHORT = "bio-2025"
STUDENTS = ("s01", "s02", "s03", "s04")
# Ids sort differently from dates, and one session has no date (it goes last).
SESSIONS = pd.DataFrame(
    {
        "session_id": ["w1", "w2", "w3", "w4"],
        "held_on": ["2025-09-15", "2025-09-01", "2025-09-08", None],
    }
)


def content_hash(*parts: object) -> str:
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()


def make_observations(
    pairs: list[tuple[str, str, int]],
    *,
    model_version: str = "m1",
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(faces, images) with one scored face per image; `pairs` is (student, session, n_images)."""
    rng = np.random.default_rng(seed)
    rows = [(student, session, k) for student, session, n in pairs for k in range(n)]
    n = len(rows)
    probs = rng.dirichlet(np.ones(len(EXPRESSIONS)), size=n)
    faces = pd.DataFrame(
        {
            "content_hash": [content_hash(model_version, *row) for row in rows],
            "student_id": [row[0] for row in rows],
            "session_id": [row[1] for row in rows],
            "source": [f"{row[0]}/{row[1]}/{row[2]}.jpg" for row in rows],
            "frame_time_s": np.nan,
            "face_idx": 0,
            "box_x": 10.0, "box_y": 12.0, "box_w": 64.0, "box_h": 64.0,
            "det_score": 0.99,
            "valence": rng.uniform(-1, 1, n),
            "arousal": rng.uniform(-1, 1, n),
            "dominance": rng.uniform(-1, 1, n),
            **{column: probs[:, i] for i, column in enumerate(PROB_COLUMNS)},
            "expression": np.asarray(EXPRESSIONS)[probs.argmax(axis=1)],
            "model_version": model_version,
            "status": STATUS_OK,
            "reason": None,
        }
    )
    assert set(FACE_COLUMNS) <= set(faces.columns)
    return faces, images_of(faces)


def images_of(faces: pd.DataFrame) -> pd.DataFrame:
    """One images row per (content_hash, model_version) of a faces frame."""
    columns = ["content_hash", "model_version", "session_id", "student_id", "source", "status", "reason"]
    return faces[columns].drop_duplicates(["content_hash", "model_version"]).reset_index(drop=True)


def no_face_image(student: str, session: str, model_version: str = "m1") -> pd.DataFrame:
    """The faces row affect.extract emits for an image without a face."""
    faces, _ = make_observations([(student, session, 1)], model_version=model_version, seed=99)
    values = {column: np.nan for column in ("box_x", "box_y", "box_w", "box_h", "det_score", "valence",
                                            "arousal", "dominance", *PROB_COLUMNS)}
    return faces.assign(
        content_hash=content_hash("noface", student, session), face_idx=-1, expression=None,
        status=STATUS_NO_FACE, reason="no face detected", **values,
    )




def count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
