"""No server outlives vadgrade: `ui` on SIGTERM, and a SIGKILLed `run` with Prefect's ephemeral server.

These start real subprocesses and read /proc (Linux), so they skip elsewhere.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux only)")


@pytest.fixture(scope="module", autouse=True)
def prefect_harness():
    """Overrides the package's session harness: the flows run in subprocesses here."""
    yield


def _alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting to be reaped counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def _children(pid: int) -> dict[int, str]:
    """Direct children of `pid`: their command lines."""
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
    return out


def _wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _child(pid: int, marker: str) -> int | None:
    return next((child for child, cmd in _children(pid).items() if marker in cmd), None)


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def _group_alive(pgid: int) -> bool:
    return any(_pgid(int(p.name)) == pgid and _alive(int(p.name)) for p in Path("/proc").iterdir() if p.name.isdigit())


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "VADGRADE_HOME": str(tmp_path / "home"), "PREFECT_HOME": str(tmp_path / "prefect"),
            "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", **extra}


def test_ui_ends_mlflow_and_its_workers_on_sigterm(tmp_path):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "flows.cli", "ui", "--port", str(port)], cwd=REPO,
                            env=_env(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    mlflow = None
    try:
        mlflow = _wait_for(lambda: _child(proc.pid, "mlflow ui"), 30, "mlflow ui to start")
        _wait_for(lambda: _port_open(port), 90, "the MLflow server to listen")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) != 0
        _wait_for(lambda: not _group_alive(mlflow), 15, "MLflow's process group to end")
        assert not _port_open(port)
    finally:
        for group in (proc.pid, mlflow):
            if group is not None and _group_alive(group):
                os.killpg(group, signal.SIGKILL)


def test_a_sigkilled_run_leaves_no_prefect_server(cohort_copy, tmp_path):
    env = _env(tmp_path, VADGRADE_DATA_DIR=str(cohort_copy), VADGRADE_COHORT="test-cohort",
               VADGRADE_AFFECT__NUM_WORKERS="0", VADGRADE_ACADEMIC__N_SPLITS="3", COLUMNS="200")
    proc = subprocess.Popen([sys.executable, "-m", "flows.cli", "run"], cwd=REPO, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    server = None
    try:
        seen = []
        for line in proc.stdout:                  # the server is up once a flow run begins
            seen.append(line)
            if "Beginning flow run" in line:
                break
        server = _child(proc.pid, "prefect.server.api.server:create_app")
        assert server is not None, "".join(seen[-20:])
        proc.kill()
        proc.wait(timeout=10)
        _wait_for(lambda: not _alive(server), 15, "the orphaned Prefect server to end")
    finally:
        if _alive(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)
        if server is not None and _alive(server):
            os.kill(server, signal.SIGKILL)
