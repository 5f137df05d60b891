"""The extractor's confusion matrix as a figure for the MLflow dashboard.

Returns a matplotlib `Figure` (no pyplot state, no display); the caller logs it.
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure


def confusion_figure(block: dict, title: str) -> Figure:
    """Row-normalised confusion heatmap of an `affect.evaluate.accuracy_block`, counts in each cell."""
    counts = np.asarray(block["confusion_matrix"], float)
    share = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    classes = block["classes"]
    fig = Figure(figsize=(6.4, 5.6), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for (i, j), n in np.ndenumerate(counts):
        ax.text(j, i, f"{int(n)}", ha="center", va="center", fontsize=7,
                color="white" if share[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true (majority label)")
    ax.set_title(f"{title}: accuracy {block['accuracy']:.3f} (n = {block['n']})")
    fig.colorbar(image, ax=ax, label="share of the true class")
    return fig
