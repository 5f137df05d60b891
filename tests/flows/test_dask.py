"""The Dask task runner: extraction on a small LocalCluster stores exactly what a local run stores."""
from __future__ import annotations

import logging

import duckdb
import pandas as pd
import pytest

from affect.weights import read_info
from flows.pipeline import check_scored_by, extractor_version, ingest_images, load_reference_data, worker_settings
from flows.settings import FlowSettings
from tests.flows.conftest import make_settings
from warehouse import InputError

COUNTS = {table: f"SELECT count(*) FROM {table}" for table in ("images", "face_observations")}


def _ingest(settings) -> dict[str, int]:
    load_reference_data(settings)
    ingest_images(settings)
    with duckdb.connect(str(settings.db_path), read_only=True) as con:
        counts = {table: con.execute(sql).fetchall()[0][0] for table, sql in COUNTS.items()}
        versions = {row[0] for row in con.execute("SELECT DISTINCT model_version FROM images").fetchall()}
    assert versions == {extractor_version(settings)}     # one network scored every row
    return counts


def test_dask_cluster_stores_the_same_rows_as_local_threads(small_cohort, tmp_path, caplog):
    local = make_settings(tmp_path / "local", small_cohort, images_per_task=12)
    dask = local.model_copy(update={"home": tmp_path / "dask", "flows": FlowSettings(
        images_per_task=12, task_runner="dask", dask_workers=2)})
    with caplog.at_level(logging.INFO, logger="flows.pipeline"):
        stored = _ingest(dask)
    assert "on the dask task runner (Dask scheduler LocalCluster)" in caplog.text
    assert stored == _ingest(local) and stored["images"] > 0


def test_workers_get_the_backend_resolved_once_on_the_flows_machine(small_cohort, tmp_path):
    settings = make_settings(tmp_path, small_cohort)
    assert settings.affect.backend == "auto"
    on_workers = worker_settings(settings).affect
    assert (on_workers.backend, on_workers.device) == ("int8", "cpu")     # this CPU: the int8 network, also on a GPU worker
    torch = settings.model_copy(update={"affect": settings.affect.model_copy(update={"backend": "torch"})})
    assert worker_settings(torch).affect == torch.affect                 # torch: each worker on its own device


def test_rows_scored_by_another_network_are_refused_by_name():
    version = read_info().int8["model_version"]
    check_scored_by(pd.DataFrame({"model_version": [version, None]}), version)
    with pytest.raises(InputError, match="scored by vad-old-1, but this run stores"):
        check_scored_by(pd.DataFrame({"model_version": [version, "vad-old-1"]}), version)
