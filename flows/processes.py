"""Child processes that must not outlive vadgrade: the MLflow UI and Prefect's ephemeral server.

`die_with_me(pid)` starts a small watcher (`python -m flows.processes PID pid|group`)
whose stdin is a pipe that only this process can write to. The kernel closes that pipe
however this process ends, SIGKILL included. At a normal exit we first write one byte,
and the watcher then does nothing, because the child was already stopped. If the pipe
closes with nothing written, the watcher terminates the child or its whole process group.
Keep this module's imports light: the watcher runs it as a script.
"""
from __future__ import annotations

import atexit
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

log = logging.getLogger(__name__)

GRACE_S = 5.0                       # SIGTERM first; SIGKILL whatever is still there after this
_PACKAGE_ROOT = Path(__file__).resolve().parents[1]


def terminate(pid: int, *, group: bool = False, grace: float = GRACE_S) -> None:
    """SIGTERM `pid` (or process group `pid`), then SIGKILL it if it is still there after `grace`."""
    send = os.killpg if group else os.kill
    try:
        send(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            time.sleep(0.1)
            send(pid, 0)                # raises ProcessLookupError once it is gone
        send(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _say_goodbye(write_end: int) -> None:
    """Normal exit: tell the watcher that the child has already been stopped."""
    try:
        os.write(write_end, b"x")
        os.close(write_end)
    except OSError:
        pass


def die_with_me(pid: int, *, group: bool = False) -> None:
    """Terminate `pid` (or its process group) when this process dies without a normal exit."""
    read_end, write_end = os.pipe()     # not inherited by later children (PEP 446)
    subprocess.Popen([sys.executable, "-m", "flows.processes", str(pid), "group" if group else "pid"],
                     stdin=read_end, stdout=subprocess.DEVNULL, cwd=_PACKAGE_ROOT, start_new_session=True)
    os.close(read_end)
    atexit.register(_say_goodbye, write_end)


class _Stop(Exception):
    """A SIGTERM or SIGINT arrived while `run_process_group` was waiting."""


def _raise_stop(signum: int, _frame) -> None:
    raise _Stop(signum)


def run_process_group(cmd: list[str]) -> int:
    """Run `cmd` in a process group of its own and return its exit code.

    SIGTERM or SIGINT sent to this process ends the whole group, and so does this process
    dying. Servers such as `mlflow ui` start workers that a plain `subprocess.call` would leave running.
    """
    child = subprocess.Popen(cmd, start_new_session=True)
    die_with_me(child.pid, group=True)
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return child.wait()
    except _Stop as stop:
        for sig in previous:            # already stopping: a second Ctrl-C or SIGTERM changes nothing
            signal.signal(sig, signal.SIG_IGN)
        log.info("stopping %s (process group %d)", Path(cmd[0]).name, child.pid)
        os.killpg(child.pid, signal.SIGTERM)
        try:
            child.wait(timeout=GRACE_S)     # reap the leader, then make sure the rest is gone
        except subprocess.TimeoutExpired:
            pass
        terminate(child.pid, group=True, grace=GRACE_S)
        return 128 + stop.args[0]
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def tie_prefect_server() -> None:
    """Make Prefect's ephemeral API server die with this process, SIGKILL included.

    Prefect 3.8.8 starts that server lazily as a uvicorn subprocess
    (`prefect.server.api.server.SubprocessASGIServer`), and stops it only from an atexit
    hook, so a killed `vadgrade run` left it serving. Prefect has no in-process mode for it.
    We register a subclass as the default instance, which is the same hook that
    `prefect.testing.utilities.prefect_test_harness` uses, and tie the process when it starts.
    Nothing happens when an API URL is configured or a default server is already registered.
    """
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import get_current_settings

    class TiedServer(SubprocessASGIServer):
        def start(self, timeout: int | None = None) -> None:
            super().start(timeout)
            pid = self.server_process.pid if self.server_process else None
            if pid is not None and pid != getattr(self, "_tied_pid", None):
                die_with_me(pid)
                self._tied_pid = pid

    if get_current_settings().api.url or None in SubprocessASGIServer._instances:
        return
    TiedServer()                        # __new__ registers it as the default (port None) instance


def _watch(pid: int, group: bool) -> None:
    """Block until the parent's pipe closes; end `pid` unless the parent said goodbye first."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if not sys.stdin.buffer.read(1):
        terminate(pid, group=group)


if __name__ == "__main__":
    _watch(int(sys.argv[1]), sys.argv[2] == "group")
