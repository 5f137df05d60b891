"""Matplotlib figures for the analysis; each takes tidy frames and returns a Figure.

The caller logs and closes them. The Agg backend is used explicitly through
`Figure` objects, so nothing depends on a display or on pyplot's global state.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from academic.features import FEATURE_SETS, LEARNING_EMOTION, LEARNING_ONLY

_COLOURS = {LEARNING_ONLY: "#8c8c8c", LEARNING_EMOTION: "#2f6db5"}


def ablation_chart(summary: pd.DataFrame, comparison: pd.DataFrame) -> Figure:
    """CV MSE (mean, std error bars) per model, learning-only next to learning+emotion."""
    models = list(dict.fromkeys(summary["model"]))
    fig = Figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.add_subplot()
    width = 0.38
    x = np.arange(len(models))
    for i, feature_set in enumerate(FEATURE_SETS):
        rows = summary.set_index(["model", "feature_set"]).reindex([(m, feature_set) for m in models])
        ax.bar(x + (i - 0.5) * width, rows["mse_mean"], width, yerr=rows["mse_std"], capsize=4,
               color=_COLOURS[feature_set], label=feature_set)
    p_values = comparison.set_index("model")["p_one_sided"] if not comparison.empty else pd.Series(dtype=float)
    labels = [f"{m}\np = {p_values[m]:.3g}" if m in p_values else m for m in models]
    ax.set_xticks(x, labels)
    ax.set_ylim(0, 1.25 * float((summary["mse_mean"] + summary["mse_std"].fillna(0)).max()))
    ax.set_ylabel("CV mean squared error (lower is better)")
    ax.set_xlabel("p: one-sided corrected resampled t-test, emotion lowers MSE")
    ax.set_title("Final-grade prediction with and without emotion features")
    ax.legend(frameon=False, loc="upper right", ncols=2)
    return fig


def predicted_vs_actual(oof: pd.DataFrame, title: str) -> Figure:
    """Out-of-fold predictions against actual grades, one point per student and repeat."""
    fig = Figure(figsize=(5, 5), layout="constrained")
    ax = fig.add_subplot()
    ax.scatter(oof["actual"], oof["predicted"], s=10, alpha=0.35, color="#2f6db5")
    low = float(min(oof["actual"].min(), oof["predicted"].min()))
    high = float(max(oof["actual"].max(), oof["predicted"].max()))
    ax.plot([low, high], [low, high], color="#444", linewidth=1, linestyle="--")
    ax.set_xlabel("actual final grade")
    ax.set_ylabel("out-of-fold predicted grade")
    ax.set_title(title)
    return fig


def importance_chart(importances: pd.DataFrame, top: int = 15) -> Figure:
    """Horizontal bars of permutation importance (MSE increase), largest on top."""
    rows = importances.head(top).iloc[::-1]
    fig = Figure(figsize=(6, 0.3 * len(rows) + 1.2), layout="constrained")
    ax = fig.add_subplot()
    ax.barh(rows["feature"], rows["importance_mean"], xerr=rows["importance_std"], color="#2f6db5")
    ax.set_xlabel("MSE increase when shuffled")
    ax.set_title("What the champion relies on")
    return fig
