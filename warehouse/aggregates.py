"""Per student x session and per student affect aggregates, as queries and as tables.

Each aggregate is one SELECT in `sql/queries/<table>.sql`, named after the table it
fills (the dbt convention); materialising is the same delete-and-insert for each.
agg_student reads agg_student_session, so the million faces are scanned only once.
"""
from __future__ import annotations

import logging

import duckdb
import pandas as pd

from warehouse.migrate import load_sql
from warehouse.tx import transaction

log = logging.getLogger(__name__)

# Build order: agg_student is computed from agg_student_session.
AGGREGATE_TABLES: tuple[str, ...] = ("agg_student_session", "agg_student")


def student_session_aggregates(con: duckdb.DuckDBPyConnection, cohort: str | None = None) -> pd.DataFrame:
    """Aggregates per student x session x model computed now from face_observations."""
    return con.execute(load_sql("agg_student_session"), {"cohort": cohort}).df()


def student_aggregates(con: duckdb.DuckDBPyConnection, cohort: str | None = None) -> pd.DataFrame:
    """Aggregates per student x model (with session trends) from the agg_student_session table.

    Reflects the last rebuild_aggregates; use that to refresh both tables.
    """
    return con.execute(load_sql("agg_student"), {"cohort": cohort}).df()


def rebuild_aggregates(con: duckdb.DuckDBPyConnection, cohort: str | None = None) -> dict[str, int]:
    """Recompute the aggregate tables for one cohort (None: all) in one transaction.

    Old rows of that cohort are deleted first, so rebuilding twice gives the same
    tables, and readers never see a half-built state. Returns rows written per table.
    """
    params = {"cohort": cohort}
    written = {}
    with transaction(con):
        for table in AGGREGATE_TABLES:
            # `table` comes from AGGREGATE_TABLES, never from a caller.
            con.execute(f"DELETE FROM {table} WHERE $cohort IS NULL OR cohort = $cohort", params)
            inserted = con.execute(f"INSERT INTO {table} BY NAME\n{load_sql(table)}", params).fetchall()
            written[table] = inserted[0][0]
    log.info("rebuilt aggregates for cohort %s: %s", cohort or "<all>", written)
    return written
