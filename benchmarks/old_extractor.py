"""Run `affect.extract` as an earlier commit had it (the Haar-cascade path), for side-by-side figures.

The commit's `affect` package is unpacked with `git archive` into a temporary folder and
run in a subprocess with the same Python, so the old and the new path are timed on the
same machine in the same benchmark run. Nothing of the old code stays in the repo.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
HAAR_REV = "214c067fa2ac11e37edb2f7c1b7651435c725e99"  # last commit with the Haar cascade

_RUNNER = """
import json, sys, time
import affect
from affect.weights import load_model
paths, kwargs, runs, out = json.loads(sys.argv[1])
model = load_model()
rates = []
for _ in range(runs):
    t0 = time.perf_counter()
    frame = affect.extract(paths, model=model, **kwargs)
    rates.append(len(paths) / (time.perf_counter() - t0))
frame.to_parquet(out, index=False)
print(json.dumps(rates))
"""


def old_extract(paths: list[str], *, rev: str = HAAR_REV, runs: int = 1,
                **kwargs) -> tuple[pd.DataFrame, list[float]]:
    """(faces of the last timed run, inputs/s of each run) from `affect.extract` at commit `rev`."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, "affect"], check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        out = Path(tmp) / "faces.parquet"
        done = subprocess.run([sys.executable, "-c", _RUNNER, json.dumps([paths, kwargs, runs, str(out)])],
                              cwd=tmp, env={**os.environ, "PYTHONPATH": tmp},
                              check=True, capture_output=True, text=True)
        return pd.read_parquet(out), json.loads(done.stdout.strip().splitlines()[-1])
