"""How often does the +affect comparison detect a planted effect, by effect size and class size?

For every planted `affect_effect` (grade points per SD of engagement) and number of
labelled students n, `--reps` cohorts are generated with `academic.synthetic.make_cohort`;
their session moods become per-face readings of an imperfect extractor
(`face_observations`, calibrated to how the shipped extractor reads the demo faces),
go into an in-memory DuckDB and come back as features through the warehouse's own SQL
(`through_warehouse`: load_*, rebuild_aggregates, emotion_features, learning_frame).
`academic.evaluate` then runs the real comparison; a cohort "detects" the effect when
the +affect step's one-sided corrected t-test gives p < 0.05.

Prints one JSON line and writes it, with a plot of detection rate against effect size
(one line per n), to `--out` (power.json, power.png). Per cell it also reports the mean
minimum detectable MSE reduction the cohorts themselves estimated (80 % power) and how
often the +attendance step fired although attendance is random in the generator (a
false-positive rate).

Kept short on purpose: the ridge baseline only (the generator is linear, so the
ensembles detect less, not more; add them with --models), 5 folds x 2 repeats (the
pipeline uses 5 x 5: slightly more power) and 12 cohorts per cell, so each detection
rate is uncertain by about ±0.13; ~6 min on a 2-core machine shared with other work.
The committed results/power.json and power.png come from `--reps 20` (±0.1; 11 min there).
"""
from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from academic.evaluate import evaluate
from academic.features import join_frames
from academic.synthetic import FINAL_NOISE_SD, face_observations, make_cohort, through_warehouse

log = logging.getLogger("benchmarks.power")
RESULTS = Path(__file__).resolve().parent / "results"
DEMO_EFFECT = 3.0          # sample_data/generate.py AFFECT_EFFECT
# Variance of the final grade without the affect term: 12² (ability) + 4² (growth) + noise².
_BASE_VARIANCE = 12.0 ** 2 + 4.0 ** 2 + FINAL_NOISE_SD ** 2


def simulate(effect: float, n: int, seed: int, args: argparse.Namespace) -> pd.DataFrame:
    """One generated cohort through the warehouse SQL and the comparison: one row per model x step."""
    learning, _, trends = make_cohort(n, affect_effect=effect, seed=seed)
    faces, images = face_observations(trends, seed=seed)
    frame = join_frames(*through_warehouse(learning, faces, images))
    params = {name: {"n_estimators": args.trees} for name in args.models if name != "ridge"}
    results = evaluate(frame, models=args.models, n_splits=args.n_splits, n_repeats=args.n_repeats,
                       seed=seed, model_params=params)
    return results.comparison.assign(effect=effect, n=n, seed=seed)


def run_grid(args: argparse.Namespace) -> pd.DataFrame:
    """Every effect x n x rep; the same seeds for every effect (common random numbers)."""
    rows = []
    for i, n in enumerate(args.sizes):
        for effect in args.effects:
            started = time.perf_counter()
            rows += [simulate(effect, n, 1000 * i + rep, args) for rep in range(args.reps)]
            log.info("n=%d effect=%.1f: %d cohorts in %.1f s", n, effect, args.reps, time.perf_counter() - started)
    return pd.concat(rows, ignore_index=True)


def summarise(comparisons: pd.DataFrame) -> pd.DataFrame:
    """Per model x n x effect: detection rate of +affect, its mean MDE, and the +attendance false-positive rate."""
    affect = comparisons[comparisons["added"] == "affect"]
    attendance = comparisons[comparisons["added"] == "attendance"]
    keys = ["model", "n", "effect"]
    table = affect.groupby(keys).agg(detection_rate=("detected", "mean"), mde_mse=("mde_mse", "mean"),
                                     mde_rmse=("mde_rmse", "mean"), mse_reduction=("mse_reduction", "mean"),
                                     cohorts=("detected", "size"))
    table["attendance_false_positive_rate"] = attendance.groupby(keys)["detected"].mean()
    return table.reset_index()


def planted_share(effect: float) -> float:
    """R² that engagement adds beyond learning if it were measured perfectly (clipping ignored)."""
    return effect ** 2 / (_BASE_VARIANCE + effect ** 2)


def plot(table: pd.DataFrame, model: str) -> Figure:
    """Detection rate of the +affect step against the planted effect, one line per n."""
    fig = Figure(figsize=(6.5, 4.2), layout="constrained")
    ax = fig.add_subplot()
    rows = table[table["model"] == model]
    for n, group in rows.groupby("n"):
        ax.plot(group["effect"], group["detection_rate"], marker="o", label=f"n = {n}")
    ax.axhline(0.8, color="#888", linestyle="--", linewidth=1)
    ax.text(0, 0.81, "80 % power", color="#666", fontsize=7, va="bottom")
    ax.axhline(0.05, color="#888", linestyle=":", linewidth=1)
    ax.text(0, 0.06, "5 % (false alarms at effect 0)", color="#666", fontsize=7, va="bottom")
    ax.axvline(DEMO_EFFECT, color="#c44", linewidth=1)
    ax.text(DEMO_EFFECT, 1.02, " demo", color="#c44", fontsize=8, va="bottom")
    ax.set_ylim(0, 1.08)
    ax.set_xlabel("planted affect effect (grade points per SD of engagement)")
    ax.set_ylabel("share of cohorts with p < 0.05 (+affect step)")
    ax.set_title(f"Power of the +affect comparison ({model}, warehouse SQL features)", fontsize=10)
    ax.legend(frameon=False, title="labelled students", fontsize=8, loc="center left")
    return fig


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--effects", type=float, nargs="+", default=[0.0, 3.0, 6.0, 9.0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[30, 60, 120, 240])
    parser.add_argument("--reps", type=int, default=12)
    parser.add_argument("--models", nargs="+", default=["ridge"])
    parser.add_argument("--trees", type=int, default=50, help="n_estimators of any tree model")
    parser.add_argument("--n-splits", type=int, default=5)
    parser.add_argument("--n-repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    return parser


def main(args: argparse.Namespace) -> dict[str, object]:
    started = time.perf_counter()
    table = summarise(run_grid(args))
    args.out.mkdir(parents=True, exist_ok=True)
    fig = plot(table, args.models[0])
    fig.savefig(args.out / "power.png", dpi=120)
    figures = {
        "benchmark": "power",
        "models": args.models, "effects": args.effects, "sizes": args.sizes, "reps": args.reps,
        "cv": f"{args.n_splits}x{args.n_repeats}",
        "planted_r2": {str(e): round(planted_share(e), 4) for e in args.effects},
        "cells": table.round(4).to_dict("records"),
        "seconds": round(time.perf_counter() - started, 1),
    }
    (args.out / "power.json").write_text(json.dumps(figures) + "\n")
    return figures


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    print(json.dumps(main(get_args_parser().parse_args())))
