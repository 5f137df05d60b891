"""Matplotlib figures for the analysis; each takes tidy frames and returns a Figure.

The caller logs and closes them. The Agg backend is used explicitly through
`Figure` objects, so nothing depends on a display or on pyplot's global state.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from academic.features import FEATURE_SETS, LEARNING, LEARNING_ATTENDANCE, LEARNING_ATTENDANCE_AFFECT

_COLOURS = {LEARNING: "#8c8c8c", LEARNING_ATTENDANCE: "#9cc3e6", LEARNING_ATTENDANCE_AFFECT: "#2f6db5"}


def _step_label(model: str, comparison: pd.DataFrame) -> str:
    """'ridge\n+attendance p = 0.41\n+affect p = 0.03': the model and each step's Holm-adjusted test."""
    rows = comparison[comparison["model"] == model]
    return "\n".join([model, *(f"+{r.added} p = {r.p_holm:.2g}" for r in rows.itertuples())])


def ablation_chart(summary: pd.DataFrame, comparison: pd.DataFrame) -> Figure:
    """CV RMSE in grade points (mean, std error bars) per model, one bar per nested feature set.

    RMSE, not MSE: "about 8 points off" reads as a grade; squared points (60-80) do not.
    The p-values under each model still come from the paired test on per-split MSE.
    """
    models = list(dict.fromkeys(summary["model"]))
    sets = [s for s in FEATURE_SETS if s in set(summary["feature_set"])]
    fig = Figure(figsize=(8.5, 4.6), layout="constrained")
    ax = fig.add_subplot()
    width = 0.8 / len(sets)
    x = np.arange(len(models))
    for i, feature_set in enumerate(sets):
        rows = summary.set_index(["model", "feature_set"]).reindex([(m, feature_set) for m in models])
        ax.bar(x + (i - (len(sets) - 1) / 2) * width, rows["rmse_mean"], width, yerr=rows["rmse_std"], capsize=3,
               color=_COLOURS[feature_set], label=feature_set)
    ax.set_xticks(x, [_step_label(m, comparison) for m in models], fontsize=8)
    ax.set_ylim(0, 1.25 * float((summary["rmse_mean"] + summary["rmse_std"].fillna(0)).max()))
    ax.set_ylabel("typical error, grade points\n(CV RMSE, lower is better)")
    ax.set_xlabel("whiskers: ±1 SD over the folds; p: one-sided corrected resampled t-test that the added\n"
                  "block lowers the error (paired per-split MSE)", fontsize=9)
    ax.set_title("Final-grade prediction: learning, + attendance, + affect")
    ax.legend(frameon=False, loc="upper right", ncols=len(sets), fontsize=8)
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
    """Horizontal bars of permutation importance (RMSE increase, grade points), largest on top."""
    rows = importances.head(top).iloc[::-1]
    fig = Figure(figsize=(6, 0.3 * len(rows) + 1.2), layout="constrained")
    ax = fig.add_subplot()
    ax.barh(rows["feature"], rows["importance_mean"], xerr=rows["importance_std"], color="#2f6db5")
    ax.set_xlabel("how much further off the predictions get when shuffled (RMSE, grade points)")
    ax.set_title("What the champion relies on")
    return fig
