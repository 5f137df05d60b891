"""Enrolment templates: the only place face embeddings are kept (identity = "enrolment").

A template is a biometric template, so the store keeps exactly the current enrolment:
`replace_templates` drops every other template of the cohort in the same transaction
that adds the new ones. Templates are keyed by cohort and student, so `vadgrade forget`
erases them with the student's other rows (warehouse.erase.ERASED_TABLES).
"""
from __future__ import annotations

import logging

import duckdb
import pandas as pd

from warehouse.migrate import load_sql
from warehouse.tx import registered, transaction

log = logging.getLogger(__name__)

TEMPLATE_COLUMNS = ("student_id", "content_hash", "template")   # template: bytes


def stored_templates(con: duckdb.DuckDBPyConnection, cohort: str, model: str) -> pd.DataFrame:
    """student_id, content_hash, template (bytes) of `cohort` for embedding `model`."""
    frame = con.execute(load_sql("templates_of"), {"cohort": cohort, "model": model}).df()
    return frame.assign(template=frame["template"].map(bytes))


def replace_templates(con: duckdb.DuckDBPyConnection, cohort: str, model: str, templates: pd.DataFrame) -> int:
    """Make `templates` (TEMPLATE_COLUMNS) the cohort's whole enrolment; returns how many are stored."""
    frame = templates[list(TEMPLATE_COLUMNS)]
    params = {"cohort": cohort, "model": model}
    with registered(con, _templates_in=frame), transaction(con):
        con.execute(load_sql("templates_keep"), params)
        con.execute(load_sql("templates_insert"), params)
        stored = con.execute(load_sql("templates_count"), {"cohort": cohort}).fetchall()[0][0]
    # Counts only: a template or a student id never goes to a log.
    log.info("enrolment of %s: %d templates stored", cohort, stored)
    return stored
