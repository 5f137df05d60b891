"""Grade-predictor pipelines: one factory, four model families.

Every predictor is `Pipeline([("prep", ColumnTransformer), ("model", regressor)])`, so
imputation is learned inside each CV fold (cross_validate clones the whole pipeline)
and the refitted champion carries its own preprocessing into MLflow. On grades alone a
plain linear model often beats the ensembles, so without the linear baseline (`ridge`)
the ensembles cannot show that they earn their place; it adds ("scale",
StandardScaler()) before its model so the penalty sees comparable scales.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import AdaBoostRegressor, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.tree import DecisionTreeRegressor
from xgboost import XGBRegressor

LINEAR_BASELINE = "ridge"
MODEL_NAMES: tuple[str, ...] = (LINEAR_BASELINE, "adaboost", "random_forest", "xgboost")
# Penalties searched by RidgeCV's efficient leave-one-out inside each training fold, on
# standardised features. None below 1: with about as many features as students (~45
# with affect, ~40 per training fold) a nearly unpenalised fit interpolates.
RIDGE_ALPHAS: tuple[float, ...] = tuple(float(a) for a in np.logspace(0, 4, 9))


def _regressor(name: str, random_state: int, params: dict[str, Any]) -> RegressorMixin:
    if name == LINEAR_BASELINE:
        return RidgeCV(**{"alphas": RIDGE_ALPHAS, **params})
    # Sizes fit class-sized data (tens to hundreds of students): more trees change the
    # CV MSE by well under its fold-to-fold std and cost 5 x 5 x 3 refits each.
    if name == "adaboost":
        defaults = {"estimator": DecisionTreeRegressor(max_depth=3, random_state=random_state),
                    "n_estimators": 100, "learning_rate": 0.1}
        return AdaBoostRegressor(**{**defaults, **params, "random_state": random_state})
    if name == "random_forest":
        defaults = {"n_estimators": 150, "min_samples_leaf": 2, "max_features": 0.5}
        return RandomForestRegressor(**{**defaults, **params, "random_state": random_state, "n_jobs": 1})
    if name == "xgboost":
        defaults = {"n_estimators": 300, "max_depth": 3, "learning_rate": 0.05, "subsample": 0.8,
                    "colsample_bytree": 0.8, "min_child_weight": 2}
        return XGBRegressor(**{**defaults, **params, "random_state": random_state, "n_jobs": 1})
    raise ValueError(f"unknown model {name!r}; expected one of {MODEL_NAMES}")


def make_preprocessor(learning_columns: Sequence[str], attendance_columns: Sequence[str] = (),
                      affect_columns: Sequence[str] = ()) -> ColumnTransformer:
    """Median-impute learning columns; attendance counts of a never-seen student are 0, plus
    a missing indicator; median-impute affect columns without indicators, then hold a
    held-out student's affect values inside the training fold's range.

    A student with no face observations is informative in itself (absent, camera-shy).
    That information belongs to attendance: were the affect block to add indicators too
    (std needs two faces, a slope two sessions), "affect adds to attendance" could again
    mean only "being seen adds".

    The range clip changes nothing for trees (a monotone map; they never extrapolate)
    but bounds the linear baseline: in the demo one student's lowest arousal sat 19 SD
    above every other student's and a fold's ridge predicted them ~100 points off.
    Learning columns are not clipped: a test score below anyone's should lower a
    prediction further, and the at-risk students are the ones at that edge.
    """
    blocks = [("learning", SimpleImputer(strategy="median"), list(learning_columns))]
    if attendance_columns:
        blocks.append(("attendance", SimpleImputer(strategy="constant", fill_value=0.0, add_indicator=True),
                       list(attendance_columns)))
    if affect_columns:
        # keep_empty_features: a block with no reading at all (a cohort before its first images,
        # a fold without any student's slope) stays a constant column instead of vanishing.
        affect = Pipeline([("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                           ("range", MinMaxScaler(clip=True))])
        blocks.append(("affect", affect, list(affect_columns)))
    return ColumnTransformer(blocks, remainder="drop", verbose_feature_names_out=False)


def make_pipeline(
    model: str,
    *,
    learning_columns: Sequence[str],
    attendance_columns: Sequence[str] = (),
    affect_columns: Sequence[str] = (),
    random_state: int = 0,
    **model_params: Any,
) -> Pipeline:
    """An unfitted pipeline for `model`; `model_params` override the defaults.

    `n_jobs` is always 1 and `random_state` always the given seed, so runs repeat exactly
    and never fight the extractor's training for cores.
    """
    scale = [("scale", StandardScaler())] if model == LINEAR_BASELINE else []
    return Pipeline([
        ("prep", make_preprocessor(learning_columns, attendance_columns, affect_columns)),
        *scale,
        ("model", _regressor(model, random_state, dict(model_params))),
    ])
