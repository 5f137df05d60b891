"""Grade-predictor pipelines: one factory, three model families.

Every predictor is `Pipeline([("prep", ColumnTransformer), ("model", regressor)])`, so
imputation is learned inside each CV fold (cross_validate clones the whole pipeline)
and the refitted champion carries its own preprocessing into MLflow.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sklearn.base import RegressorMixin
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import AdaBoostRegressor, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.tree import DecisionTreeRegressor
from xgboost import XGBRegressor

MODEL_NAMES: tuple[str, ...] = ("adaboost", "random_forest", "xgboost")


def _regressor(name: str, random_state: int, params: dict[str, Any]) -> RegressorMixin:
    # Sizes fit class-sized data (tens to hundreds of students): more trees change the
    # CV MSE by well under its fold-to-fold std and cost 5 x 5 x 2 refits each.
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


def make_preprocessor(learning_columns: Sequence[str], emotion_columns: Sequence[str] = ()) -> ColumnTransformer:
    """Median-impute learning columns; median-impute emotion columns plus missing indicators.

    A student with no face observations is informative in itself (absent, camera-shy),
    so the emotion block adds indicators rather than pretending the median was seen.
    """
    blocks = [("learning", SimpleImputer(strategy="median"), list(learning_columns))]
    if emotion_columns:
        blocks.append(("emotion", SimpleImputer(strategy="median", add_indicator=True), list(emotion_columns)))
    return ColumnTransformer(blocks, remainder="drop", verbose_feature_names_out=False)


def make_pipeline(
    model: str,
    *,
    learning_columns: Sequence[str],
    emotion_columns: Sequence[str] = (),
    random_state: int = 0,
    **model_params: Any,
) -> Pipeline:
    """An unfitted pipeline for `model`; `model_params` override the defaults.

    `n_jobs` is always 1 and `random_state` always the given seed, so runs repeat exactly
    and never fight the extractor's training for cores.
    """
    return Pipeline([
        ("prep", make_preprocessor(learning_columns, emotion_columns)),
        ("model", _regressor(model, random_state, dict(model_params))),
    ])
