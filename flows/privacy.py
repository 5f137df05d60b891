"""Keep student IDs out of Prefect: its database and result storage outlive `vadgrade forget`.

Image paths name students (`images/<session>/<student_id>/...`). Prefect records each
failed task or flow in three places. It writes `repr(exception)` and the traceback into
the run logs in its database under PREFECT_HOME. It writes `str(exception)` into the
state message. A failing flow also pickles its exception into PREFECT_HOME/storage,
whatever `persist_result` says. We measured this with Prefect 3.8.8: a non-UTF-8 file
name in one student's folder put that image path, student ID included, into the logs and
into a pickle. So every flow and task built with `private_flow` or `private_task` raises
`WithheldError`. It carries only the exception's type and the function's name. The
original exception stays in this process, and the CLI prints it (`original`). Neither
flows nor tasks persist their results, so summaries and plans never reach Prefect's storage.
"""
from __future__ import annotations

import functools
import inspect
import logging
import sys
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)   # not a Prefect logger: nothing here reaches Prefect's API

# token -> the exception a WithheldError stands for. Bounded: a long `vadgrade serve`
# would otherwise keep every failure's traceback (and the frames it holds) alive.
_ORIGINALS: OrderedDict[str, BaseException] = OrderedDict()
_KEEP = 64


class WithheldError(RuntimeError):
    """Stands in for an exception whose text may name students; `original(exc)` gives it back."""

    def __init__(self, kind: str, where: str, token: str) -> None:
        super().__init__(kind, where, token)
        self.kind, self.where, self.token = kind, where, token

    def __str__(self) -> str:
        return f"{self.kind} in {self.where} (text withheld from Prefect; vadgrade prints it)"

    def __repr__(self) -> str:                # what Prefect's logs show: no token noise
        return f"{type(self).__name__}({str(self)!r})"


def withhold(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap `fn` so any exception leaves it as a WithheldError (Prefect's own signals pass)."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except WithheldError:
            raise
        except Exception as exc:            # BaseException (Prefect's pause/abort, Ctrl-C) passes
            kind, token = type(exc).__name__, _remember(exc)
            if _in_dask_worker():           # the CLI cannot print it from here: the worker's own log keeps it
                log.error("%s in %s: %s", kind, fn.__name__, exc)
        # Raised outside the handler, so it has no __context__: tblib's pickling (installed by
        # Dask's distributed) would otherwise pickle the original along with it.
        raise WithheldError(kind, fn.__name__, token)
    # Prefect resolves string annotations in the wrapper's module, where e.g. Settings is
    # unknown: hand it the signature with the types already resolved in fn's own module.
    wrapper.__signature__ = inspect.signature(fn, eval_str=True)
    return wrapper


def _in_dask_worker() -> bool:
    """Whether this process is a Dask worker running a task (distributed imported and a worker found)."""
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return False
    try:
        distributed.get_worker()
    except ValueError:
        return False
    return True


def _remember(exc: BaseException) -> str:
    token = uuid.uuid4().hex
    _ORIGINALS[token] = exc
    while len(_ORIGINALS) > _KEEP:
        _ORIGINALS.popitem(last=False)
    return token


def original(exc: BaseException) -> BaseException:
    """The exception a WithheldError stands for; any other exception is returned as it is.

    A WithheldError raised in another process (a Dask worker) has no original here: it is
    returned itself, and its text is in that worker's log (see `withhold`).
    """
    if isinstance(exc, WithheldError):
        return _ORIGINALS.get(exc.token, exc)
    return exc


def _private(kind: str, fn: Callable[..., Any] | None, options: dict[str, Any]):
    import prefect                      # here, so that the CLI's `original` costs no Prefect import

    def decorate(f: Callable[..., Any]):
        return getattr(prefect, kind)(**{**options, "persist_result": False})(withhold(f))
    return decorate if fn is None else decorate(fn)


def private_task(fn: Callable[..., Any] | None = None, **options: Any):
    """`prefect.task` that persists no result and withholds its exceptions' text (see module doc)."""
    return _private("task", fn, options)


def private_flow(fn: Callable[..., Any] | None = None, **options: Any):
    """`prefect.flow` that persists no result and withholds its exceptions' text (see module doc)."""
    return _private("flow", fn, options)
