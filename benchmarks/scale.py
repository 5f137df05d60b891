"""Ingest throughput on the Dask task runner with 1 vs N workers, on the same images.

Usage: python benchmarks/scale.py [--workers 1 2] [--runs 3] [--data-dir sample_data/demo]
       [--address tcp://scheduler:8786]   (a running cluster instead of a LocalCluster)

Each run ingests the cohort into an empty home through `flows.pipeline.ingest_images`
with `task_runner = "dask"`: a LocalCluster of that many single-threaded worker
processes is started, the extraction tasks run on it, and the flow stores every chunk.
The time includes starting the cluster (each worker loads the network once), because a
scheduled run pays it too. Prints one JSON line: median seconds and images/s per worker
count, and the speed-up of the largest count over the smallest.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from flows.pipeline import ingest_images, load_reference_data  # noqa: E402
from flows.settings import FlowSettings, Settings  # noqa: E402


def _one_run(data_dir: Path, workers: int, address: str, chunk: int) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home), data_dir=data_dir, cohort="bench",
                            flows=FlowSettings(task_runner="dask", dask_workers=workers, dask_address=address,
                                               images_per_task=chunk))
        load_reference_data(settings)
        t0 = time.perf_counter()
        summary = ingest_images(settings)
        return time.perf_counter() - t0, summary["images_scored"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=REPO / "sample_data" / "demo")
    parser.add_argument("--address", default="", help="a running Dask scheduler (default: LocalCluster)")
    parser.add_argument("--images-per-task", type=int, default=64,
                        help="chunk size: several chunks per worker so all workers get work")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    from prefect.testing.utilities import prefect_test_harness
    figures = {}
    with prefect_test_harness(server_startup_timeout=120):
        for workers in args.workers:
            runs = [_one_run(args.data_dir, workers, args.address, args.images_per_task) for _ in range(args.runs)]
            seconds = statistics.median(t for t, _ in runs)
            figures[str(workers)] = {"runs_s": [round(t, 1) for t, _ in runs], "median_s": round(seconds, 1),
                                     "images": runs[0][1], "images_per_s": round(runs[0][1] / seconds, 1)}
    low, high = figures[str(min(args.workers))], figures[str(max(args.workers))]
    print(json.dumps({"benchmark": "scale", "cpu_count": os.cpu_count(), "address": args.address or "LocalCluster",
                      "images_per_task": args.images_per_task, "workers": figures,
                      "speedup": round(low["median_s"] / high["median_s"], 2)}))


if __name__ == "__main__":
    main()
