"""The Dask task runner: extraction on a small LocalCluster stores exactly what a local run stores."""
from __future__ import annotations

import logging

import duckdb

from flows.pipeline import ingest_images, load_reference_data
from flows.settings import FlowSettings
from tests.flows.conftest import make_settings

COUNTS = {table: f"SELECT count(*) FROM {table}" for table in ("images", "face_observations")}


def _ingest(settings) -> dict[str, int]:
    load_reference_data(settings)
    ingest_images(settings)
    with duckdb.connect(str(settings.db_path), read_only=True) as con:
        return {table: con.execute(sql).fetchall()[0][0] for table, sql in COUNTS.items()}


def test_dask_cluster_stores_the_same_rows_as_local_threads(small_cohort, tmp_path, caplog):
    local = make_settings(tmp_path / "local", small_cohort, images_per_task=12)
    dask = local.model_copy(update={"home": tmp_path / "dask", "flows": FlowSettings(
        images_per_task=12, task_runner="dask", dask_workers=2)})
    with caplog.at_level(logging.INFO, logger="flows.pipeline"):
        stored = _ingest(dask)
    assert "on the dask task runner (Dask scheduler LocalCluster)" in caplog.text
    assert stored == _ingest(local) and stored["images"] > 0
