"""Write validated frames into the store: one transaction per load, safe to repeat.

Every load registers its DataFrame, de-duplicates keys in SQL and upserts, so running
it twice leaves the same rows. Values reach SQL only as parameters or registered frames.
"""
from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from affect.schema import BOX_COLUMNS, EXPRESSIONS, PROB_COLUMNS, STATUS_OK, VAD
from warehouse.erase import erased_students
from warehouse.errors import InputError
from warehouse.inputs import read_gradebook, read_roster, read_sessions, validate_gradebook, validate_roster
from warehouse.migrate import load_sql
from warehouse.tx import registered, transaction

# read_*/validate_* are re-exported so callers can read, check and load from one module.
__all__ = [
    "LoadResult",
    "export_parquet",
    "load_gradebook",
    "load_observations",
    "load_roster",
    "load_sessions",
    "read_gradebook",
    "read_roster",
    "read_sessions",
    "roster_state",
    "scored_hashes",
    "session_ids",
    "validate_gradebook",
    "validate_roster",
]

log = logging.getLogger(__name__)

# What load_observations reads from its two frames; extra columns are ignored.
FACE_INPUT_COLUMNS: tuple[str, ...] = (
    "content_hash", "model_version", "frame_time_s", "face_idx", "session_id", "student_id",
    *BOX_COLUMNS, "det_score", *VAD, *PROB_COLUMNS, "expression", "status",
)
IMAGE_INPUT_COLUMNS: tuple[str, ...] = (
    "content_hash", "model_version", "session_id", "student_id", "source", "status", "reason",
)

# Why an observation was not stored (LoadResult.rejected["reason"]); the same strings
# are written by the CASE expressions in sql/queries/load_stage_*.sql.
UNKNOWN_SESSION = "unknown_session"
UNKNOWN_STUDENT = "unknown_student"
NO_CONSENT = "no_consent"
NOT_ON_ROSTER = "not_on_roster"
IMAGE_REJECTED = "image_rejected"  # this face was fine, another face of its image was not


@dataclass(frozen=True)
class LoadResult:
    """What load_observations did; rejected has one row per observation not stored.

    An image is stored whole or not at all, so a rejected image is scored again on
    the next run (after the roster or sessions are fixed) instead of being lost.
    """

    images_loaded: int
    faces_loaded: int
    images_skipped: int  # already stored for this model_version: left untouched
    images_rejected: int
    rejected: pd.DataFrame = field(repr=False)  # content_hash, model_version, face_idx, student_id, session_id, reason

    @property
    def rejected_counts(self) -> dict[str, int]:
        """Rejected observations per reason."""
        return {str(reason): int(count) for reason, count in self.rejected["reason"].value_counts().items()}


def _require_columns(df: pd.DataFrame, required: tuple[str, ...] | list[str], what: str) -> None:
    missing = [name for name in required if name not in df.columns]
    if missing:
        raise InputError(what, [f"missing column(s): {', '.join(missing)}"])


def _without_erased(con: duckdb.DuckDBPyConnection, cohort: str, df: pd.DataFrame) -> pd.DataFrame:
    """`df` less the students erased from `cohort` (warehouse.erase), who are never stored again."""
    erased = erased_students(con, cohort, df["student_id"].dropna())
    return df[~df["student_id"].isin(erased)] if erased else df


def load_gradebook(con: duckdb.DuckDBPyConnection, cohort: str, df: pd.DataFrame) -> int:
    """Upsert a validated gradebook (from read_gradebook) for one cohort; returns rows.

    Each listed student's test scores are replaced as a set, so a corrected file
    never leaves a stale test behind. Students absent from `df` are kept; students
    erased from the cohort (warehouse.erase.forget_student) are skipped.
    """
    tests = [name for name in df.columns if str(name).startswith("test_")]
    _require_columns(df, ["student_id", "gpa", "final_grade"], "gradebook")
    if not tests:
        raise InputError("gradebook", ["no test_NN columns"])
    df = _without_erased(con, cohort, df)
    params = {"cohort": cohort}
    with registered(con, _gradebook_in=df[["student_id", "gpa", *tests, "final_grade"]]), transaction(con):
        rows = con.execute(load_sql("load_gradebook"), params).fetchall()[0][0]
        con.execute(load_sql("load_test_scores_clear"), params)
        con.execute(load_sql("load_test_scores"), params)
    log.info("loaded gradebook for %s: %d students", cohort, rows)
    return rows


def load_roster(con: duckdb.DuckDBPyConnection, cohort: str, df: pd.DataFrame, *, complete: bool = True) -> int:
    """Upsert a validated roster (from read_roster); pseudonyms are derived in the store.

    `complete` (the default): `df` is the whole class, so stored students it no longer
    lists are marked off the roster and left out of analyses and reports (their rows
    stay until erased; see roster_state). Pass False to update some students only.
    Students erased from the cohort (warehouse.erase.forget_student) are skipped, so a
    roster that still lists them does not bring them back; the count excludes them.
    """
    _require_columns(df, ["student_id", "consent"], "roster")
    df = _without_erased(con, cohort, df)
    roster = df.assign(display_name=df["display_name"] if "display_name" in df.columns else None)
    with registered(con, _roster_in=roster[["student_id", "consent", "display_name"]]), transaction(con):
        rows = con.execute(load_sql("load_roster"), {"cohort": cohort}).fetchall()[0][0]
        dropped = con.execute(load_sql("load_roster_mark"), {"cohort": cohort}).fetchall()[0][0] if complete else 0
    log.info("loaded roster for %s: %d students, %d newly off the roster", cohort, rows, dropped)
    return rows


def roster_state(con: duckdb.DuckDBPyConnection, cohort: str) -> pd.DataFrame:
    """student_id, consent, on_roster for every stored student of `cohort` (the intake's roster)."""
    return con.execute(load_sql("roster_state"), {"cohort": cohort}).df()


def session_ids(con: duckdb.DuckDBPyConnection, cohort: str) -> list[str]:
    """Sessions stored for `cohort`: images of any other session are set aside."""
    return [row[0] for row in con.execute(load_sql("session_ids"), {"cohort": cohort}).fetchall()]


def load_sessions(con: duckdb.DuckDBPyConnection, cohort: str, df: pd.DataFrame) -> int:
    """Upsert sessions (session_id[, held_on]); held_on orders sessions for trends."""
    _require_columns(df, ["session_id"], "sessions")
    sessions = df.assign(held_on=pd.to_datetime(df["held_on"]) if "held_on" in df.columns else pd.NaT)
    with registered(con, _sessions_in=sessions[["session_id", "held_on"]]), transaction(con):
        rows = con.execute(load_sql("load_sessions"), {"cohort": cohort}).fetchall()[0][0]
    log.info("loaded sessions for %s: %d sessions", cohort, rows)
    return rows


def _check_observations(faces: pd.DataFrame, images: pd.DataFrame) -> None:
    """Refuse frames that break the affect contract (a caller bug, not a data issue)."""
    _require_columns(faces, FACE_INPUT_COLUMNS, "faces")
    _require_columns(images, IMAGE_INPUT_COLUMNS, "images")
    problems = []
    scored = faces[(faces["status"] == STATUS_OK) & (faces["face_idx"] >= 0)]
    unknown = sorted(set(scored["expression"].dropna()) - set(EXPRESSIONS)) + (
        ["<missing>"] if scored["expression"].isna().any() else []
    )
    if unknown:
        problems.append(f"faces: expression not in affect.schema.EXPRESSIONS: {', '.join(unknown)}")
    keys = ["content_hash", "model_version"]
    orphans = faces[keys].drop_duplicates().merge(images[keys].drop_duplicates(), how="left", indicator=True)
    orphans = orphans[orphans["_merge"] == "left_only"]
    if len(orphans):
        problems.append(f"faces: {len(orphans)} image(s) missing from images, e.g. {orphans.iloc[0]['content_hash']}")
    if problems:
        raise InputError("observations", problems)


def load_observations(
    con: duckdb.DuckDBPyConnection,
    cohort: str,
    faces: pd.DataFrame,
    images: pd.DataFrame,
    *,
    replace: Collection[str] = (),
) -> LoadResult:
    """Store scored images and their faces for one cohort, rejecting what may not be stored.

    `faces` has the affect.schema FACE_COLUMNS plus content_hash, student_id and
    session_id (`frame_time_s` may be left out for photos); `images` has one row per
    image or video. An image is rejected (with all its faces) when its session or any
    face's student is unknown in this cohort, off its roster, or has not consented;
    rejected rows are returned, never stored. Images already stored for this cohort and
    model_version are skipped, so re-loading changes nothing, except those whose hash is
    in `replace` (frames matched again under a new enrolment): their stored rows are
    replaced by these, in one transaction. `images` may carry `enrolment_key` (frames
    matched by enrolment).
    """
    faces = faces.assign(frame_time_s=faces["frame_time_s"].fillna(0.0) if "frame_time_s" in faces else 0.0)
    images = images if "enrolment_key" in images else images.assign(enrolment_key=None)
    _check_observations(faces, images)
    params = {"cohort": cohort}
    frames = {
        "_faces_in": faces[list(FACE_INPUT_COLUMNS)],
        "_images_in": images[[*IMAGE_INPUT_COLUMNS, "enrolment_key"]].astype({"enrolment_key": "object"}),
        "_replace_in": images.loc[images["content_hash"].isin(set(replace)), ["content_hash", "model_version"]],
    }
    with registered(con, **frames), transaction(con):
        con.execute(load_sql("load_replace"), params)
        con.execute(load_sql("load_replace_images"), params)
        con.execute(load_sql("load_stage_faces"), params)
        con.execute(load_sql("load_stage_images"), params)
        images_loaded = con.execute(load_sql("load_insert_images"), params).fetchall()[0][0]
        faces_loaded = con.execute(load_sql("load_insert_faces"), params).fetchall()[0][0]
        skipped, rejected_images = con.execute(load_sql("load_stage_counts")).fetchall()[0]
        rejected = con.execute(load_sql("load_rejected")).df()
        con.execute(load_sql("load_drop_stage"))
    result = LoadResult(images_loaded, faces_loaded, skipped, rejected_images, rejected)
    log.info(
        "loaded %s: %d images, %d faces; %d images already stored; rejected %s",
        cohort, images_loaded, faces_loaded, skipped, result.rejected_counts or "nothing",
    )
    return result


def stored_hashes(con: duckdb.DuckDBPyConnection, cohort: str, model_version: str,
                  enrolment_key: str | None = None) -> tuple[set[str], set[str]]:
    """Content hashes stored for `cohort` and `model_version`, as (done, stale).

    done: what a resumed run may skip. stale: frames matched under another enrolment than
    `enrolment_key` (None: seats), to match again (load_observations(replace=...)).
    """
    params = {"cohort": cohort, "model_version": model_version, "enrolment_key": enrolment_key}
    done, stale = set(), set()
    for content_hash, current in con.execute(load_sql("scored_hashes"), params).fetchall():
        (done if current else stale).add(content_hash)
    return done, stale


def scored_hashes(con: duckdb.DuckDBPyConnection, cohort: str, model_version: str,
                  enrolment_key: str | None = None) -> set[str]:
    """Content hashes already stored for `cohort` and `model_version`: what a resumed run may skip."""
    return stored_hashes(con, cohort, model_version, enrolment_key)[0]


def export_parquet(con: duckdb.DuckDBPyConnection, table: str, path: str | Path) -> Path:
    """Write one table to a zstd parquet file; `table` must be an existing table."""
    tables = {row[0] for row in con.execute(load_sql("table_names")).fetchall()}
    if table not in tables:
        raise ValueError(f"unknown table {table!r}; expected one of {sorted(tables)}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The identifier is checked against the catalogue above; the path is a parameter.
    con.execute(f'COPY (SELECT * FROM "{table}") TO $path (FORMAT parquet, COMPRESSION zstd)', {"path": str(path)})
    log.info("exported %s to %s", table, path)
    return path

