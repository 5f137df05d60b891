"""Schema versioning: migrations apply once, in order, and the file stays plain DuckDB."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from affect.schema import BOX_COLUMNS, EXPRESSIONS, PROB_COLUMNS, VAD
from warehouse import connect, load_sql, migrate
from warehouse.migrate import migrations
from warehouse.tx import transaction
from wh_data import count


def _versions(con: duckdb.DuckDBPyConnection) -> list[int]:
    return [row[0] for row in con.execute("SELECT version FROM schema_version ORDER BY version").fetchall()]


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()]


def test_migrations_are_versioned_and_idempotent(con: duckdb.DuckDBPyConnection) -> None:
    packaged = [version for version, _, _ in migrations()]
    assert packaged == sorted(packaged) and packaged[0] == 1
    assert _versions(con) == packaged
    salt = con.execute("SELECT value FROM store_meta").fetchall()

    assert migrate(con) == []
    assert migrate(con) == []
    assert _versions(con) == packaged
    assert count(con, "store_meta") == 1
    assert con.execute("SELECT value FROM store_meta").fetchall() == salt


def test_connect_creates_parents_and_reopens_without_remigrating(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "store.duckdb"
    first = connect(path)
    salt = first.execute("SELECT value FROM store_meta").fetchall()
    applied = first.execute("SELECT version, applied_at FROM schema_version ORDER BY version").fetchall()
    first.close()

    again = connect(path)
    assert again.execute("SELECT value FROM store_meta").fetchall() == salt
    assert again.execute("SELECT version, applied_at FROM schema_version ORDER BY version").fetchall() == applied
    again.close()


def test_store_opens_read_only_with_plain_duckdb(tmp_path: Path) -> None:
    path = tmp_path / "store.duckdb"
    connect(path).close()
    plain = duckdb.connect(str(path), read_only=True)
    assert count(plain, "students") == 0
    plain.close()
    reader = connect(path, read_only=True)
    assert _versions(reader) == [version for version, _, _ in migrations()]
    reader.close()


def test_face_tables_use_affect_schema_names(con: duckdb.DuckDBPyConnection) -> None:
    faces = _columns(con, "face_observations")
    for name in (*BOX_COLUMNS, *VAD, *PROB_COLUMNS, "det_score", "expression"):
        assert name in faces
    for table in ("agg_student_session", "agg_student"):
        columns = _columns(con, table)
        for expression in EXPRESSIONS:
            assert f"p_{expression}_mean" in columns and f"share_{expression}" in columns
        for dimension in VAD:
            assert {f"{dimension}_{stat}" for stat in ("mean", "std", "min", "max")} <= set(columns)


def test_load_sql_reads_packaged_queries() -> None:
    assert load_sql("scored_hashes").startswith("SELECT")
    assert not load_sql("agg_student").endswith(";")


def test_transaction_rolls_back_schema_and_data(con: duckdb.DuckDBPyConnection) -> None:
    # migrate() wraps each file in this; a failing file must leave no table behind.
    with pytest.raises(duckdb.Error):
        with transaction(con):
            con.execute("CREATE TABLE half_done (x INTEGER)")
            con.execute("INSERT INTO half_done VALUES (1)")
            con.execute("INSERT INTO schema_version (version, name) VALUES (999, 'x.sql')")
            con.execute("SELECT * FROM no_such_table")
    assert "half_done" not in {row[0] for row in con.execute("SHOW TABLES").fetchall()}
    assert 999 not in _versions(con)


def test_store_from_before_cohort_keys_keeps_its_rows(tmp_path: Path) -> None:
    """0005 rebuilds images/face_observations with the cohort in the key; no row is lost."""
    from warehouse.migrate import applied_versions
    from wh_data import make_observations
    path = tmp_path / "old.duckdb"
    old = duckdb.connect(str(path))
    applied_versions(old)
    for version, name, entry in migrations():
        if version <= 4:
            with transaction(old):
                old.execute(entry.read_text(encoding="utf-8"))
                old.execute(load_sql("record_migration"), [version, name])
    faces, images = make_observations([("s01", "w1", 3)])
    old.register("f", faces)
    old.execute("INSERT INTO images SELECT content_hash, model_version, 'bio', 'w1', 's01', source, 'ok', NULL, 1, "
                "now() FROM f")
    columns = ", ".join(c for c in _columns(old, "face_observations") if c not in ("cohort",))
    old.execute(f"INSERT INTO face_observations BY NAME SELECT 'bio' AS cohort, {columns} FROM f")
    old.close()

    con = connect(path)
    assert count(con, "images") == 3 and count(con, "face_observations") == 3
    assert con.execute("SELECT DISTINCT frame_time_s FROM face_observations").fetchall() == [(0.0,)]
    assert con.execute("SELECT DISTINCT on_roster FROM students").fetchall() in ([], [(True,)])
    con.close()
