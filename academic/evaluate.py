"""Repeated K-fold comparison of grade predictors on nested feature sets.

Every model x feature set is scored on the SAME folds (one list of splits is built
up front), so per-fold MSE differences are paired and the corrected resampled t-test
of Nadeau & Bengio (2003) applies, once per step (learning -> +attendance,
+attendance -> +affect). Beside each test stands the smallest MSE reduction that
test would detect with 80 % power, from the same fold-to-fold variance: a p above
0.05 next to a large detectable effect says "this cohort cannot tell", not "no
effect". Everything learned (imputers, scalers, trees) is fitted inside the folds by
`cross_validate`, which clones the whole pipeline per split.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy import optimize, stats
from sklearn.base import clone
from sklearn.model_selection import RepeatedKFold, cross_validate
from sklearn.pipeline import Pipeline

from academic.errors import InsufficientDataError
from academic.features import (
    AFFECT_BLOCK,
    ATTENDANCE_BLOCK,
    FEATURE_SETS,
    LEARNING_BLOCK,
    STEPS,
    TARGET,
    feature_blocks,
    labelled,
    labelled_xy,
)
from academic.models import MODEL_NAMES, make_pipeline

MIN_PER_FOLD = 2  # R² and a fold MSE need at least two held-out students.
ALPHA = 0.05      # one-sided level of every step's test
POWER = 0.80      # power at which the minimum detectable effect is stated

_SCORING = {
    "mse": "neg_mean_squared_error",
    "rmse": "neg_root_mean_squared_error",
    "mae": "neg_mean_absolute_error",
    "r2": "r2",
}

_COMPARISON_COLUMNS = ["model", "added", "baseline", "extended", "mse_baseline", "mse_extended",
                       "mse_reduction", "t", "df", "p_one_sided", "p_two_sided", "p_holm", "detected",
                       "mde_mse", "mde_rmse", "mde_r2", "rmse_baseline", "rmse_extended"]


@dataclass(frozen=True)
class CVResults:
    """Tidy outputs of one evaluation.

    summary:    one row per model x feature set (mse/rmse/mae/r2 mean and std over folds)
    folds:      one row per model x feature set x split (repeat, fold, mse, rmse, mae, r2)
    oof:        out-of-fold predictions: model, feature_set, repeat, pseudonym, actual, predicted
    comparison: one row per model x step (`added` = attendance | affect): baseline and
                extended feature set, their mean MSE, the corrected t-test of the paired
                per-split differences, `p_holm` (the one-sided p adjusted by Holm's method
                over the models tested at that step), `detected` (p_holm < ALPHA), the minimum
                detectable MSE reduction (`mde_mse`; 80 % power, one-sided ALPHA / number of
                models) and the
                same in grade points of RMSE (`mde_rmse`) and in R² (`mde_r2`)
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


def _standard_error(diffs: np.ndarray, n_train: float, n_test: float) -> float:
    """Nadeau–Bengio standard error of mean(d): sqrt((1/J + n_test/n_train) * var(d, ddof=1))."""
    return float(np.sqrt((1.0 / len(diffs) + n_test / n_train) * diffs.var(ddof=1)))


def corrected_resampled_ttest(diffs: np.ndarray, n_train: float, n_test: float) -> tuple[float, float, float, float]:
    """Nadeau–Bengio corrected resampled t-test on paired per-split differences.

    With J = k * r splits and d_j = MSE_a,j - MSE_b,j:

        t = mean(d) / sqrt((1/J + n_test/n_train) * var(d, ddof=1)),   df = J - 1

    The plain paired t-test uses 1/J alone and is badly anti-conservative because the
    training sets overlap; the n_test/n_train term accounts for that correlation.
    Returns (t, df, p_one_sided for mean(d) > 0, p_two_sided).
    """
    diffs = np.asarray(diffs, dtype=float)
    df = len(diffs) - 1
    mean = float(diffs.mean())
    se = _standard_error(diffs, n_train, n_test)
    if se == 0.0:
        t = 0.0 if mean == 0.0 else float(np.copysign(np.inf, mean))
    else:
        t = mean / se
    return t, float(df), float(stats.t.sf(t, df)), float(2 * stats.t.sf(abs(t), df))


def minimum_detectable_difference(diffs: np.ndarray, n_train: float, n_test: float, *,
                                  alpha: float = ALPHA, power: float = POWER) -> float:
    """Smallest true mean(d) that the one-sided corrected test detects with `power`.

    A sensitivity figure, not "observed power": it uses only the spread of the paired
    per-split differences, never their mean. With se the test's corrected standard
    error and df = J - 1, it solves P(T' > t_{1-alpha, df}) = power for a noncentral
    t T' with noncentrality delta / se, and returns delta.
    """
    diffs = np.asarray(diffs, dtype=float)
    df = len(diffs) - 1
    se = _standard_error(diffs, n_train, n_test)
    if se == 0.0:
        return 0.0
    critical = float(stats.t.ppf(1 - alpha, df))
    shortfall = lambda nc: float(stats.nct.sf(critical, df, nc)) - power  # noqa: E731
    high = critical + 1.0
    while shortfall(high) < 0:
        high *= 2
    return float(optimize.brentq(shortfall, 0.0, high)) * se


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


def cv_splits(n: int, n_splits: int, n_repeats: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (train, test) index pairs every configuration is scored on.

    The first `n_splits` pairs (repeat 0) are also the folds of the report's CV+
    intervals (`academic.conformal`), so both speak of the same held-out students.
    """
    if n_splits < 2 or n_repeats < 1:
        raise ValueError(f"need n_splits >= 2 and n_repeats >= 1; got {n_splits} and {n_repeats}")
    check_enough_labelled(n, n_splits)
    cv = RepeatedKFold(n_splits=n_splits, n_repeats=n_repeats, random_state=seed)
    return list(cv.split(np.zeros((n, 1))))


def split_sizes(splits: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[float, float]:
    """Mean (n_train, n_test) over `splits`: the sizes the corrected t-test needs."""
    return (float(np.mean([len(train) for train, _ in splits])),
            float(np.mean([len(test) for _, test in splits])))


def _pipeline_for(frame: pd.DataFrame, model: str, feature_set: str, seed: int,
                  model_params: Mapping[str, Mapping[str, Any]]) -> Pipeline:
    blocks = feature_blocks(frame, feature_set)
    return make_pipeline(model, learning_columns=blocks[LEARNING_BLOCK],
                         attendance_columns=blocks.get(ATTENDANCE_BLOCK, []),
                         affect_columns=blocks.get(AFFECT_BLOCK, []),
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


def _compare_step(model: str, step: tuple[str, str, str], wide: pd.DataFrame, n_train: float,
                  n_test: float, target_variance: float, alpha: float) -> dict[str, Any]:
    """One row of the comparison: does adding `step`'s block lower `model`'s per-split MSE?
    (`alpha`: the level the minimum detectable effect is stated at)."""
    added, baseline, extended = step
    diffs = (wide[baseline] - wide[extended]).to_numpy()
    t, df, p_one, p_two = corrected_resampled_ttest(diffs, n_train, n_test)
    mse_baseline, mse_extended = float(wide[baseline].mean()), float(wide[extended].mean())
    mde = minimum_detectable_difference(diffs, n_train, n_test, alpha=alpha)
    return {
        "model": model, "added": added, "baseline": baseline, "extended": extended,
        "mse_baseline": mse_baseline, "mse_extended": mse_extended, "mse_reduction": float(diffs.mean()),
        "t": t, "df": df, "p_one_sided": p_one, "p_two_sided": p_two,
        "mde_mse": mde,
        # RMSE is what a teacher reads: how far the typical error would have to fall.
        "mde_rmse": float(np.sqrt(mse_baseline) - np.sqrt(max(mse_baseline - mde, 0.0))),
        "mde_r2": mde / target_variance if target_variance > 0 else float("nan"),
        "rmse_baseline": float(np.sqrt(mse_baseline)), "rmse_extended": float(np.sqrt(mse_extended)),
    }


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjustment: reject p_holm < alpha and the family-wise error stays <= alpha."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate((len(p) - np.arange(len(p))) * p[order])
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(stepped, 1.0)
    return adjusted


def compare_feature_sets(folds: pd.DataFrame, n_train: float, n_test: float,
                         target_variance: float = float("nan")) -> pd.DataFrame:
    """Per model and step (+attendance, +affect): the paired corrected t-test and its power.

    Each step is tested once per model on the same data, so a step is `detected` for a
    model only when its p survives Holm's adjustment over all the models tested at that
    step: four looks at one question do not make four chances. The minimum detectable
    effect is stated at ALPHA / (number of models), the level Holm's first step holds a
    test to, so a reduction that large is detected with 80 % power whatever the other
    models show. `target_variance` (of the labelled final grades) turns the detectable
    MSE reduction into an R² gain.
    """
    rows = []
    alpha = ALPHA / max(1, folds["model"].nunique())
    for model, group in folds.groupby("model", sort=False):
        wide = group.pivot(index="split", columns="feature_set", values="mse")
        rows += [_compare_step(str(model), step, wide, n_train, n_test, target_variance, alpha)
                 for step in STEPS if {step[1], step[2]} <= set(wide.columns)]
    table = pd.DataFrame(rows, columns=_COMPARISON_COLUMNS)
    table["p_holm"] = table.groupby("added", sort=False)["p_one_sided"].transform(holm)
    table["detected"] = table["p_holm"] < ALPHA
    return table


def _score_cell(frame: pd.DataFrame, model: str, feature_set: str, splits: list[tuple[np.ndarray, np.ndarray]],
                n_splits: int, seed: int, model_params: Mapping[str, Mapping[str, Any]]
                ) -> tuple[list[dict], list[pd.DataFrame], dict[str, Any]]:
    """One model on one feature set over every split: per-fold scores, out-of-fold predictions, its parameters."""
    rows = labelled(frame)
    X, y = labelled_xy(frame, feature_set)
    pipeline = _pipeline_for(frame, model, feature_set, seed, model_params)
    cv = cross_validate(pipeline, X, y, cv=splits, scoring=_SCORING, n_jobs=1,
                        return_estimator=True, return_indices=True, error_score="raise")
    fold_rows, oof_rows = [], []
    for j, (estimator, test) in enumerate(zip(cv["estimator"], cv["indices"]["test"])):
        scores = {metric: float(cv[f"test_{metric}"][j]) for metric in _SCORING}
        fold_rows.append({"model": model, "feature_set": feature_set, "split": j,
                          "repeat": j // n_splits, "fold": j % n_splits,
                          "mse": -scores["mse"], "rmse": -scores["rmse"], "mae": -scores["mae"], "r2": scores["r2"]})
        oof_rows.append(pd.DataFrame({
            "model": model, "feature_set": feature_set, "repeat": j // n_splits,
            "pseudonym": rows["pseudonym"].to_numpy()[test],
            "actual": y.to_numpy()[test],
            "predicted": estimator.predict(X.iloc[test]),
        }))
    return fold_rows, oof_rows, _scalar_params(pipeline)


def evaluate(
    frame: pd.DataFrame,
    *,
    models: Sequence[str] = MODEL_NAMES,
    feature_sets: Sequence[str] = FEATURE_SETS,
    n_splits: int = 5,
    n_repeats: int = 5,
    seed: int = 0,
    model_params: Mapping[str, Mapping[str, Any]] | None = None,
    n_jobs: int = 1,
) -> CVResults:
    """Cross-validate every model x feature set on one shared set of repeated K folds.

    `frame` is the output of `features.join_frames`; only students with a final grade
    are used. `model_params` maps a model name to constructor overrides.
    n_jobs: processes that score model x feature-set cells side by side (joblib; -1 = every
    core). Each cell is seeded on its own, so the results do not depend on it.
    """
    model_params = dict(model_params or {})
    rows = labelled(frame)
    splits = cv_splits(len(rows), n_splits, n_repeats, seed)
    n_train, n_test = split_sizes(splits)
    cells = [(model, feature_set) for feature_set in feature_sets for model in models]
    scored = Parallel(n_jobs=n_jobs)(delayed(_score_cell)(frame, model, feature_set, splits, n_splits, seed, model_params)
                                     for model, feature_set in cells)
    fold_rows = [row for cell_rows, _, _ in scored for row in cell_rows]
    oof_rows = [oof for _, cell_oof, _ in scored for oof in cell_oof]
    estimator_params = {model: params for (model, _), (_, _, params) in zip(cells, scored)}
    folds = pd.DataFrame(fold_rows)
    return CVResults(
        summary=_summarise(folds),
        folds=folds,
        oof=pd.concat(oof_rows, ignore_index=True),
        comparison=compare_feature_sets(folds, n_train=n_train, n_test=n_test,
                                        target_variance=float(rows[TARGET].var(ddof=1))),
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


def flag_metrics(results: CVResults, model: str, feature_set: str, pass_mark: float) -> dict[str, float]:
    """The at-risk flag (predicted < pass_mark) read as a classifier of actual < pass_mark.

    Out of fold, pooled over the repeats (each labelled student counts once per
    repeat, each time predicted by a model that never saw them). recall: the share of
    students below the pass mark that the flag finds; precision: the share of flagged
    students who were below it. NaN when nobody is below the mark (recall) or nobody
    is flagged (precision): with few failing students both are rough.
    """
    oof = results.oof[(results.oof["model"] == model) & (results.oof["feature_set"] == feature_set)]
    below, flagged = oof["actual"] < pass_mark, oof["predicted"] < pass_mark
    hits = float((below & flagged).sum())
    return {
        "flag_recall": hits / below.sum() if below.any() else float("nan"),
        "flag_precision": hits / flagged.sum() if flagged.any() else float("nan"),
        "n_below_pass": float(below.sum() / results.n_repeats),
        "n_flagged": float(flagged.sum() / results.n_repeats),
        "pass_mark": float(pass_mark),      # the mark these figures were read at
    }


def split_mse(pipeline: Pipeline, frame: pd.DataFrame, results: CVResults) -> np.ndarray:
    """Per-split MSE of `pipeline`'s configuration on the labelled students of `frame`,
    scored on the very splits `results` used (so it pairs with `results.folds`).

    The pipeline is cloned (settings kept, anything fitted dropped) and refitted per
    training fold: this re-scores e.g. a registered champion's configuration on today's
    students. Its input columns (`feature_names_in_`) must all be in `frame`.
    """
    rows = labelled(frame)
    X = rows[list(pipeline.feature_names_in_)].astype(float)
    splits = cv_splits(len(rows), results.n_splits, results.n_repeats, results.seed)
    cv = cross_validate(clone(pipeline), X, rows[TARGET].astype(float), cv=splits,
                        scoring={"mse": _SCORING["mse"]}, n_jobs=1, error_score="raise")
    return -cv["test_mse"]


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
