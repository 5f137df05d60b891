"""Fixtures for the warehouse tests: real in-memory DuckDB stores, no mocks."""
from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pandas as pd
import pytest

from warehouse import connect, load_roster, load_sessions
from wh_data import COHORT, SESSIONS, STUDENTS


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = connect(":memory:")
    yield connection
    connection.close()


@pytest.fixture
def cohort_con(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A store with COHORT's roster (s04 has not consented) and sessions."""
    roster = pd.DataFrame(
        {"student_id": list(STUDENTS), "consent": [True, True, True, False], "display_name": ["Ann", None, "Cy", "Di"]}
    )
    load_roster(con, COHORT, roster)
    load_sessions(con, COHORT, SESSIONS)
    return con
