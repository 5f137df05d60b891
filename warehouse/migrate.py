"""Versioned schema changes and access to the packaged SQL files.

Each `sql/migrations/NNNN_name.sql` runs once, inside its own transaction, and is
recorded in `schema_version`; running `migrate` again applies only what is new.
"""
from __future__ import annotations

import logging
import re
from importlib.resources import files
from importlib.resources.abc import Traversable

import duckdb

from warehouse.tx import transaction

log = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_SQL_ROOT = files("warehouse") / "sql"


def load_sql(name: str) -> str:
    """Text of `sql/queries/<name>.sql`, read through importlib so it works when installed."""
    return (_SQL_ROOT / "queries" / f"{name}.sql").read_text(encoding="utf-8").strip().rstrip(";")


def migrations() -> list[tuple[int, str, Traversable]]:
    """(version, file name, file) for every packaged migration, oldest first."""
    found = []
    for entry in (_SQL_ROOT / "migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry))
    found.sort(key=lambda item: item[0])
    versions = [version for version, _, _ in found]
    if len(versions) != len(set(versions)):
        raise RuntimeError(f"duplicate migration versions in {versions}")
    return found


def applied_versions(con: duckdb.DuckDBPyConnection) -> set[int]:
    """Versions already recorded in `schema_version` (empty for a new store)."""
    con.execute(load_sql("schema_version_table"))
    return {row[0] for row in con.execute(load_sql("schema_versions")).fetchall()}


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply pending migrations, each atomically; return the versions applied now."""
    done = applied_versions(con)
    applied = []
    for version, name, entry in migrations():
        if version in done:
            continue
        with transaction(con):
            con.execute(entry.read_text(encoding="utf-8"))
            con.execute(load_sql("record_migration"), [version, name])
        log.info("applied migration %s", name)
        applied.append(version)
    return applied
