"""Per-student prediction intervals by CV+, and how often they cover on this cohort.

A pooled interval (the champion's prediction plus fixed quantiles of all its
out-of-fold errors) gives every student the same width, whether the model is sure
about them or not. CV+ (Barber, Candès, Ramdas & Tibshirani, "Predictive inference
with the jackknife+", Ann. Statist. 2021) refits the pipeline on each fold of one
K-fold split. For a student x and every labelled student i, held out in fold k(i):

    lower_i = mu_{-k(i)}(x) - R_i,    upper_i = mu_{-k(i)}(x) + R_i,
    R_i = |y_i - mu_{-k(i)}(x_i)|     (i's out-of-fold error)

and the interval runs from the floor(alpha (n + 1))-th smallest lower_i to the
ceil((1 - alpha)(n + 1))-th smallest upper_i, alpha = 1 - level. Students on whom
the fold models disagree get wider intervals. Coverage of a new student is at least
1 - 2 alpha minus a small K-fold term in theory and close to `level` in practice;
`nested_coverage` measures it on the cohort at hand instead of promising it.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from academic.evaluate import MIN_PER_FOLD, cv_splits

DEFAULT_LEVEL = 0.8


def _order_statistics(n: int, level: float) -> tuple[int, int]:
    """1-based ranks of the lower and upper CV+ bounds among n values (0 / n+1: unbounded)."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie strictly between 0 and 1; got {level}")
    alpha = 1.0 - level
    return math.floor(alpha * (n + 1)), math.ceil((1.0 - alpha) * (n + 1))


def cv_plus_intervals(pipeline: Pipeline, X: pd.DataFrame, y: pd.Series, X_new: pd.DataFrame, *,
                      n_splits: int = 5, seed: int = 0, level: float = DEFAULT_LEVEL) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) CV+ bounds for each row of `X_new` from labelled `X`, `y`.

    `pipeline` is cloned (its settings kept, anything fitted dropped) and refitted once
    per fold of the first repeat of `evaluate.cv_splits(len(X), n_splits, 1, seed)`:
    the same folds the evaluation used when `X` holds the same students in the same order.
    """
    X, y = X.reset_index(drop=True), y.reset_index(drop=True).to_numpy(dtype=float)
    n = len(X)
    residuals, fold_of = np.empty(n), np.empty(n, dtype=int)
    predictions = np.empty((n_splits, len(X_new)))
    for k, (train, test) in enumerate(cv_splits(n, n_splits, 1, seed)):
        fitted = clone(pipeline).fit(X.iloc[train], y[train])
        residuals[test] = np.abs(y[test] - fitted.predict(X.iloc[test]))
        fold_of[test] = k
        predictions[k] = fitted.predict(X_new)
    mu = predictions[fold_of]                      # [n, m]: the model that never saw i, at each x
    low_rank, high_rank = _order_statistics(n, level)
    low = np.sort(mu - residuals[:, None], axis=0)[low_rank - 1] if low_rank >= 1 else np.full(len(X_new), -np.inf)
    high = np.sort(mu + residuals[:, None], axis=0)[high_rank - 1] if high_rank <= n else np.full(len(X_new), np.inf)
    return low, high


def nested_coverage(pipeline: Pipeline, X: pd.DataFrame, y: pd.Series, *, n_splits: int = 5, seed: int = 0,
                    level: float = DEFAULT_LEVEL) -> dict[str, float]:
    """Measured coverage of CV+ intervals: each fold of one K-fold split plays the new
    students, CV+ is built from the other folds alone, and we count who lands inside.

    Costs n_splits² fits. Returns interval_coverage (share inside), interval_width
    (mean width in grade points), interval_level and interval_n (students checked): with ~50 students
    the coverage itself is uncertain by about ±0.06. A class too small to split its
    training folds again gets fewer inner folds, or NaN when not even two fit.
    """
    X, y = X.reset_index(drop=True), y.reset_index(drop=True)
    inner = min(n_splits, (len(X) - math.ceil(len(X) / n_splits)) // MIN_PER_FOLD)
    if inner < 2:
        return {"interval_coverage": float("nan"), "interval_width": float("nan"), "interval_level": level,
                "interval_n": float(len(X))}
    inside, widths = [], []
    for train, test in cv_splits(len(X), n_splits, 1, seed):
        low, high = cv_plus_intervals(pipeline, X.iloc[train], y.iloc[train], X.iloc[test],
                                      n_splits=inner, seed=seed, level=level)
        actual = y.to_numpy(dtype=float)[test]
        inside.append((low <= actual) & (actual <= high))
        widths.append(high - low)
    return {"interval_coverage": float(np.concatenate(inside).mean()),
            "interval_width": float(np.concatenate(widths).mean()),
            "interval_level": level, "interval_n": float(len(X))}
