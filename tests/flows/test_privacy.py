"""Prefect never sees what a failure says, nor what a flow returns: both can name students."""
from __future__ import annotations

import logging

import cloudpickle
import pytest
from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, PREFECT_RESULTS_PERSIST_BY_DEFAULT, temporary_settings

from flows.privacy import WithheldError, original, private_flow, private_task
from tests.flows.conftest import files_naming

SECRET = "S999-31337"
IMAGE = f"images/session-01/{SECRET}/1.png"


@private_task(retries=1, retry_delay_seconds=0)
def _score(path: str) -> None:
    raise ValueError(f"cannot decode {path}")


@private_flow(name="privacy-probe")
def _failing_flow() -> None:
    _score(IMAGE)


@private_flow(name="privacy-summary")
def _summary_flow() -> dict:
    return {"set_aside": [{"path": IMAGE, "reason": "corrupt"}]}


def _everything_prefect_recorded() -> str:
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs()
        parts = [repr(log.message) for log in client.read_logs()]
        parts += [repr((run.state.message, run.parameters)) for run in runs if run.state]
        parts += [repr(run.state.message) for run in client.read_task_runs() if run.state]
    return "\n".join(parts)


def test_a_failure_reaches_prefect_without_its_text_and_the_cli_still_gets_it(tmp_path):
    with temporary_settings({PREFECT_LOCAL_STORAGE_PATH: tmp_path}), pytest.raises(WithheldError) as caught:
        _failing_flow()                              # a failing flow pickles its exception, always
    error = original(caught.value)
    assert isinstance(error, ValueError) and SECRET in str(error)
    assert "ValueError in _score" in str(caught.value)
    recorded = _everything_prefect_recorded()
    assert "ValueError in _score" in recorded          # the scan does see what was logged
    assert SECRET not in recorded
    assert any(tmp_path.iterdir()) and files_naming([tmp_path], SECRET) == []


def test_results_are_not_persisted_even_when_prefect_is_told_to(tmp_path):
    with temporary_settings({PREFECT_RESULTS_PERSIST_BY_DEFAULT: True, PREFECT_LOCAL_STORAGE_PATH: tmp_path}):
        assert _summary_flow()["set_aside"][0]["path"] == IMAGE
    assert files_naming([tmp_path], SECRET) == []


def test_a_withheld_error_pickles_without_the_original_even_with_tblib():
    """Dask's distributed installs tblib, which pickles tracebacks and chained exceptions."""
    from tblib import pickling_support
    pickling_support.install()
    with pytest.raises(WithheldError) as caught:
        _score.fn(IMAGE)
    assert caught.value.__context__ is None and SECRET not in repr(caught.value)
    assert SECRET.encode() not in cloudpickle.dumps(caught.value)
    assert SECRET in str(original(caught.value))


def test_on_a_dask_worker_the_text_goes_to_the_workers_own_log_never_to_prefect(caplog):
    from prefect_dask import DaskTaskRunner

    @private_flow(name="privacy-dask-probe",
                  task_runner=DaskTaskRunner(cluster_kwargs={"processes": False, "n_workers": 1,
                                                             "dashboard_address": None}))
    def on_dask() -> None:
        _score.with_options(retries=0).submit(IMAGE).result()

    with caplog.at_level(logging.ERROR, logger="flows.privacy"), pytest.raises(WithheldError):
        on_dask()
    assert f"ValueError in _score: cannot decode {IMAGE}" in caplog.text   # the worker's log keeps it
    assert SECRET not in _everything_prefect_recorded()


def test_the_cli_names_an_error_from_a_worker_in_one_line():
    from typer.testing import CliRunner
    import typer

    from flows.cli import _guard

    def fails_on_a_worker():
        raise WithheldError("MemoryError", "extract_task", "a-token-this-process-never-saw")

    app = typer.Typer()
    app.command()(lambda: _guard(fails_on_a_worker))
    result = CliRunner().invoke(app, [])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "MemoryError in extract_task on a Dask worker" in " ".join(result.output.split())
