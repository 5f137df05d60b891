"""Repeated K-fold comparison of grade predictors with and without emotion features.

Every model x feature set is scored on the SAME folds (one list of splits is built
up front), so per-fold MSE differences are paired and the corrected resampled t-test
of Nadeau & Bengio (2003) applies. Everything learned (imputers, trees) is fitted
inside the folds by `cross_validate`, which clones the whole pipeline per split.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.model_selection import RepeatedKFold, cross_validate
from sklearn.pipeline import Pipeline

from academic.errors import InsufficientDataError
from academic.features import (
    FEATURE_SETS,
    LEARNING_EMOTION,
    LEARNING_ONLY,
    emotion_columns,
    labelled,
    labelled_xy,
    learning_columns,
)
from academic.models import MODEL_NAMES, make_pipeline

MIN_PER_FOLD = 2  # R² and a fold MSE need at least two held-out students.

_SCORING = {
    "mse": "neg_mean_squared_error",
    "rmse": "neg_root_mean_squared_error",
    "mae": "neg_mean_absolute_error",
    "r2": "r2",
}

_COMPARISON_COLUMNS = ["model", "mse_learning_only", "mse_learning_emotion", "mse_reduction",
                       "t", "df", "p_one_sided", "p_two_sided"]


@dataclass(frozen=True)
class CVResults:
    """Tidy outputs of one evaluation.

    summary:    one row per model x feature set (mse/rmse/mae/r2 mean and std over folds)
    folds:      one row per model x feature set x split (repeat, fold, mse, rmse, mae, r2)
    oof:        out-of-fold predictions: model, feature_set, repeat, pseudonym, actual, predicted
    comparison: one row per model: learning-only vs learning+emotion corrected t-test
    """

    summary: pd.DataFrame
    folds: pd.DataFrame
    oof: pd.DataFrame
    comparison: pd.DataFrame
    n_splits: int
    n_repeats: int
    seed: int
    model_params: Mapping[str, Mapping[str, Any]]
    estimator_params: Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class Champion:
    """The winning configuration refitted on all labelled students."""

    model: str
    feature_set: str
    pipeline: Pipeline
    X: pd.DataFrame
    y: pd.Series
    pseudonyms: pd.Series


def corrected_resampled_ttest(diffs: np.ndarray, n_train: int, n_test: int) -> tuple[float, float, float, float]:
    """Nadeau–Bengio corrected resampled t-test on paired per-split differences.

    With J = k * r splits and d_j = MSE_a,j - MSE_b,j:

        t = mean(d) / sqrt((1/J + n_test/n_train) * var(d, ddof=1)),   df = J - 1

    The plain paired t-test uses 1/J alone and is badly anti-conservative because the
    training sets overlap; the n_test/n_train term accounts for that correlation.
    Returns (t, df, p_one_sided for mean(d) > 0, p_two_sided).
    """
    diffs = np.asarray(diffs, dtype=float)
    n = len(diffs)
    df = n - 1
    mean = float(diffs.mean())
    var = float(diffs.var(ddof=1))
    if var == 0.0:
        t = 0.0 if mean == 0.0 else float(np.copysign(np.inf, mean))
    else:
        t = mean / np.sqrt((1.0 / n + n_test / n_train) * var)
    return t, float(df), float(stats.t.sf(t, df)), float(2 * stats.t.sf(abs(t), df))


def check_enough_labelled(n: int, n_splits: int) -> None:
    """Raise InsufficientDataError unless `n` labelled students fill `n_splits` folds.

    Callers check this before a run starts, so a small class ends in one message.
    """
    needed = MIN_PER_FOLD * n_splits
    if n < needed:
        raise InsufficientDataError(
            f"{n} labelled students (consenting, with a final grade) is too few for {n_splits}-fold CV: "
            f"need at least {needed} ({MIN_PER_FOLD} per fold). Add final grades or lower academic.n_splits."
        )


def _splits(n: int, n_splits: int, n_repeats: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    if n_splits < 2 or n_repeats < 1:
        raise ValueError(f"need n_splits >= 2 and n_repeats >= 1; got {n_splits} and {n_repeats}")
    check_enough_labelled(n, n_splits)
    cv = RepeatedKFold(n_splits=n_splits, n_repeats=n_repeats, random_state=seed)
    return list(cv.split(np.zeros((n, 1))))


def _pipeline_for(frame: pd.DataFrame, model: str, feature_set: str, seed: int,
                  model_params: Mapping[str, Mapping[str, Any]]) -> Pipeline:
    emotion = emotion_columns(frame) if feature_set == LEARNING_EMOTION else []
    return make_pipeline(model, learning_columns=learning_columns(frame), emotion_columns=emotion,
                         random_state=seed, **model_params.get(model, {}))


def _scalar_params(pipeline: Pipeline) -> dict[str, Any]:
    """The regressor's constructor arguments that are plain values (for tracking)."""
    params = pipeline.named_steps["model"].get_params(deep=True)
    return {k: v for k, v in sorted(params.items()) if v is None or isinstance(v, (bool, int, float, str))}


def _summarise(folds: pd.DataFrame) -> pd.DataFrame:
    grouped = folds.groupby(["model", "feature_set"], sort=False)
    summary = grouped[list(_SCORING)].agg(["mean", "std"])
    summary.columns = [f"{metric}_{stat}" for metric, stat in summary.columns]
    summary.insert(0, "n_splits_total", grouped.size())
    return summary.reset_index()


def compare_feature_sets(folds: pd.DataFrame, n_train: int, n_test: int) -> pd.DataFrame:
    """Per model: does adding emotion features lower the per-split MSE?"""
    rows = []
    for model, group in folds.groupby("model", sort=False):
        wide = group.pivot(index="split", columns="feature_set", values="mse")
        if not {LEARNING_ONLY, LEARNING_EMOTION} <= set(wide.columns):
            continue
        diffs = (wide[LEARNING_ONLY] - wide[LEARNING_EMOTION]).to_numpy()
        t, df, p_one, p_two = corrected_resampled_ttest(diffs, n_train, n_test)
        rows.append({
            "model": model,
            "mse_learning_only": float(wide[LEARNING_ONLY].mean()),
            "mse_learning_emotion": float(wide[LEARNING_EMOTION].mean()),
            "mse_reduction": float(diffs.mean()),
            "t": t, "df": df, "p_one_sided": p_one, "p_two_sided": p_two,
        })
    return pd.DataFrame(rows, columns=_COMPARISON_COLUMNS)


def evaluate(
    frame: pd.DataFrame,
    *,
    models: Sequence[str] = MODEL_NAMES,
    feature_sets: Sequence[str] = FEATURE_SETS,
    n_splits: int = 5,
    n_repeats: int = 5,
    seed: int = 0,
    model_params: Mapping[str, Mapping[str, Any]] | None = None,
) -> CVResults:
    """Cross-validate every model x feature set on one shared set of repeated K folds.

    `frame` is the output of `features.join_frames`; only students with a final grade
    are used. `model_params` maps a model name to constructor overrides.
    """
    model_params = dict(model_params or {})
    rows = labelled(frame)
    splits = _splits(len(rows), n_splits, n_repeats, seed)
    n_test = float(np.mean([len(test) for _, test in splits]))
    n_train = float(np.mean([len(train) for train, _ in splits]))

    fold_rows, oof_rows, estimator_params = [], [], {}
    for feature_set in feature_sets:
        X, y = labelled_xy(frame, feature_set)
        for model in models:
            pipeline = _pipeline_for(frame, model, feature_set, seed, model_params)
            estimator_params[model] = _scalar_params(pipeline)
            cv = cross_validate(pipeline, X, y, cv=splits, scoring=_SCORING, n_jobs=1,
                                return_estimator=True, return_indices=True, error_score="raise")
            for j, (estimator, test) in enumerate(zip(cv["estimator"], cv["indices"]["test"])):
                scores = {metric: float(cv[f"test_{metric}"][j]) for metric in _SCORING}
                fold_rows.append({
                    "model": model, "feature_set": feature_set, "split": j,
                    "repeat": j // n_splits, "fold": j % n_splits,
                    "mse": -scores["mse"], "rmse": -scores["rmse"], "mae": -scores["mae"], "r2": scores["r2"],
                })
                oof_rows.append(pd.DataFrame({
                    "model": model, "feature_set": feature_set, "repeat": j // n_splits,
                    "pseudonym": rows["pseudonym"].to_numpy()[test],
                    "actual": y.to_numpy()[test],
                    "predicted": estimator.predict(X.iloc[test]),
                }))
    folds = pd.DataFrame(fold_rows)
    return CVResults(
        summary=_summarise(folds),
        folds=folds,
        oof=pd.concat(oof_rows, ignore_index=True),
        comparison=compare_feature_sets(folds, n_train=n_train, n_test=n_test),
        n_splits=n_splits,
        n_repeats=n_repeats,
        seed=seed,
        model_params=model_params,
        estimator_params=estimator_params,
    )


def select_champion(results: CVResults) -> tuple[str, str]:
    """(model, feature_set) with the lowest mean CV MSE."""
    best = results.summary.sort_values(["mse_mean", "mse_std"]).iloc[0]
    return str(best["model"]), str(best["feature_set"])


def champion_residuals(results: CVResults, model: str, feature_set: str) -> np.ndarray:
    """Out-of-fold residuals (actual - predicted) of one configuration, for intervals."""
    oof = results.oof[(results.oof["model"] == model) & (results.oof["feature_set"] == feature_set)]
    return (oof["actual"] - oof["predicted"]).to_numpy()


def fit_champion(
    frame: pd.DataFrame,
    model: str,
    feature_set: str,
    *,
    seed: int = 0,
    model_params: Mapping[str, Mapping[str, Any]] | None = None,
) -> Champion:
    """Refit one configuration on all labelled students of `frame`."""
    X, y = labelled_xy(frame, feature_set)
    pipeline = _pipeline_for(frame, model, feature_set, seed, dict(model_params or {})).fit(X, y)
    return Champion(model=model, feature_set=feature_set, pipeline=pipeline, X=X, y=y,
                    pseudonyms=labelled(frame)["pseudonym"])
