"""Open the store: the one place connections are made."""
from __future__ import annotations

import logging
import os
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


def compact(path: str | Path) -> Path:
    """Rewrite the store at `path` into a fresh file and put it in place of the old one.

    DuckDB marks deleted rows as deleted but can leave their bytes in the file until the
    blocks are reused; after an erasure (warehouse.erase.forget_student) this rewrite
    makes sure nothing deleted stays readable in the store file. Copies made elsewhere
    (backups, exports) and what the file system or disk keeps of old blocks are not
    reached. No other connection may have the file open for writing.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no store at {path}")
    fresh = path.with_name(path.name + ".compact")
    for leftover in (fresh, Path(f"{fresh}.wal")):
        leftover.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    try:
        name = con.execute("SELECT current_database()").fetchall()[0][0]
        # ATTACH takes no parameters: quote the path as a string literal, the name as an identifier.
        quoted_path = str(fresh).replace("'", "''")
        quoted_name = name.replace('"', '""')
        con.execute(f"ATTACH '{quoted_path}' AS _compact")
        try:
            con.execute(f'COPY FROM DATABASE "{quoted_name}" TO _compact')
        finally:
            con.execute("DETACH _compact")
    except BaseException:
        fresh.unlink(missing_ok=True)
        raise
    finally:
        con.close()
    wal = Path(f"{path}.wal")
    if wal.exists():     # closing checkpoints; a WAL left over would be replayed onto the new file
        fresh.unlink(missing_ok=True)
        raise RuntimeError(f"{wal} is still there after closing the store; not replacing {path}")
    os.replace(fresh, path)
    log.info("rewrote %s", path)
    return path
