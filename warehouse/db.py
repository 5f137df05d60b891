"""Open the store: the one place connections are made."""
from __future__ import annotations

import logging
from pathlib import Path

import duckdb

from warehouse.migrate import migrate

log = logging.getLogger(__name__)

MEMORY = ":memory:"


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (and when writable, create and migrate) the DuckDB store at `path`.

    Migrating on open means every writer sees the current schema; read-only
    connections never write, so several processes may read the file at once.
    """
    target = str(path)
    if target != MEMORY and not read_only:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(target, read_only=read_only)
    if not read_only:
        migrate(con)
    log.debug("opened %s (read_only=%s)", target, read_only)
    return con
