"""Time rebuild_aggregates on a million generated face observations.

Prints one JSON line: the median of several rebuilds (both aggregate tables, one
transaction each) against the bar the warehouse promises on a 2-core machine.
"""
from __future__ import annotations

import argparse
import json
import logging
import statistics
import time

import duckdb
import numpy as np
import pandas as pd

from affect.schema import EXPRESSIONS, PROB_COLUMNS, STATUS_OK, VAD
from warehouse import connect, load_observations, load_roster, load_sessions, rebuild_aggregates

log = logging.getLogger("benchmarks.aggregate_speed")
COHORT = "bench"
MODEL_VERSION = "bench-v1"


def generate(rows: int, students: int, sessions: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(faces, images): one scored face per image, spread evenly over students x sessions."""
    rng = np.random.default_rng(seed)
    pair = np.arange(rows) % (students * sessions)
    probs = rng.dirichlet(np.ones(len(EXPRESSIONS)), size=rows)
    hashes = pd.Series(np.arange(rows)).map("{:016x}".format)
    faces = pd.DataFrame(
        {
            "content_hash": hashes,
            "model_version": MODEL_VERSION,
            "face_idx": np.zeros(rows, dtype=np.int32),
            "student_id": pd.Series(pair // sessions).map("s{:04d}".format),
            "session_id": pd.Series(pair % sessions).map("w{:02d}".format),
            "source": hashes,
            "box_x": 0.0, "box_y": 0.0, "box_w": 64.0, "box_h": 64.0,
            "det_score": 1.0,
            **{dimension: rng.uniform(-1, 1, rows) for dimension in VAD},
            **{column: probs[:, i] for i, column in enumerate(PROB_COLUMNS)},
            "expression": np.asarray(EXPRESSIONS)[probs.argmax(axis=1)],
            "status": STATUS_OK,
            "reason": None,
        }
    )
    images = faces[["content_hash", "model_version", "session_id", "student_id", "source", "status", "reason"]]
    return faces, images


def build_store(rows: int, students: int, sessions: int, seed: int) -> duckdb.DuckDBPyConnection:
    """An in-memory store holding the generated cohort, loaded through load_observations."""
    con = connect(":memory:")
    load_roster(con, COHORT, pd.DataFrame({"student_id": [f"s{i:04d}" for i in range(students)], "consent": True}))
    dates = pd.date_range("2025-09-01", periods=sessions, freq="7D")
    load_sessions(con, COHORT, pd.DataFrame({"session_id": [f"w{i:02d}" for i in range(sessions)], "held_on": dates}))
    faces, images = generate(rows, students, sessions, seed)
    started = time.perf_counter()
    result = load_observations(con, COHORT, faces, images)
    log.info("loaded %d faces in %.1f s", result.faces_loaded, time.perf_counter() - started)
    if result.faces_loaded != rows:
        raise RuntimeError(f"expected {rows} faces stored, got {result.faces_loaded}: {result.rejected_counts}")
    return con


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--sessions", type=int, default=12)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--bar-s", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=0)
    return parser


def main(args: argparse.Namespace) -> dict[str, object]:
    con = build_store(args.rows, args.students, args.sessions, args.seed)
    runs = []
    for run in range(args.runs):
        started = time.perf_counter()
        written = rebuild_aggregates(con, COHORT)
        runs.append(round(time.perf_counter() - started, 4))
        log.info("run %d: %.3f s, %s", run + 1, runs[-1], written)
    con.close()
    median = round(statistics.median(runs), 4)
    return {
        "benchmark": "aggregate_speed",
        "rows": args.rows,
        "groups": args.students * args.sessions,
        "median_s": median,
        "runs": runs,
        "bar_s": args.bar_s,
        "pass": median <= args.bar_s,
    }


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    print(json.dumps(main(get_args_parser().parse_args())))
