"""The DuckDB store: roster, sessions, grades, face observations and their aggregates.

Imports only affect.schema from the rest of vadgrade; everything takes plain arguments
(paths, connections, DataFrames) so it works from a notebook as well as from flows.
"""
from warehouse.aggregates import rebuild_aggregates, student_aggregates, student_session_aggregates
from warehouse.db import compact, connect
from warehouse.erase import StudentTraces, erased_students, forget_student, student_cohorts, student_traces
from warehouse.errors import InputError
from warehouse.load import (
    LoadResult,
    export_parquet,
    load_gradebook,
    load_observations,
    load_roster,
    load_sessions,
    read_gradebook,
    read_roster,
    read_sessions,
    roster_state,
    scored_hashes,
    stored_hashes,
    session_ids,
    validate_gradebook,
    validate_roster,
)
from warehouse.migrate import load_sql, migrate
from warehouse.queries import cohorts, emotion_features, learning_frame, model_versions, session_trends
from warehouse.templates import replace_templates, stored_templates

__all__ = [
    "InputError",
    "LoadResult",
    "StudentTraces",
    "cohorts",
    "compact",
    "connect",
    "emotion_features",
    "erased_students",
    "export_parquet",
    "forget_student",
    "learning_frame",
    "load_gradebook",
    "load_observations",
    "load_roster",
    "load_sessions",
    "load_sql",
    "migrate",
    "model_versions",
    "read_gradebook",
    "read_roster",
    "read_sessions",
    "rebuild_aggregates",
    "replace_templates",
    "roster_state",
    "scored_hashes",
    "stored_hashes",
    "session_ids",
    "session_trends",
    "stored_templates",
    "student_aggregates",
    "student_cohorts",
    "student_session_aggregates",
    "student_traces",
    "validate_gradebook",
    "validate_roster",
]
