"""MLflow edge: log one analysis, register its champion, move the alias, load it back.

Layout of one analysis:

    parent run "grade-predictors <cohort>"     description in words; CV settings, per step and
                                               model the paired test and minimum detectable
                                               effect, champion checks and RMSE
    ├── child "<model> / learning"             params, mse/rmse/mae/r2 mean+std, fold_mse
    ├── child "<model> / learning+attendance"  ... + the test of the step that added attendance
    ├── child "<model> / learning+attendance+affect"  ... + the test of the step that added affect
    └── ...
    parent artifacts: ablation_chart.png, predicted_vs_actual.png, cv_table.csv,
    folds.csv, comparison.csv, oof_predictions.csv, feature_importances.csv/.png,
    and the refitted champion under "model" (its signature, and no input example: an
    example would copy students' feature rows into every registered model).

Every analysis registers a new version of `registered_model_name`; logging never moves
the `champion` alias. `promote(...)` does, called either by the pipeline when
`academic.promotion.decide` says the new champion beats the current one on the same
folds, or by `vadgrade promote VERSION`.

The experiment is tagged as model development (`mlflow.experimentKind`) and each parent
run carries a description in words (`mlflow.note.content`, what the UI shows first on a
run's page). MLflow 3.17's UI picks its GenAI or model-training view from its own switch
or the address, not from that tag, so `runs_page` gives the address to open.

Privacy: only the `pseudonym` column ever reaches MLflow; `student_id` and display
names are never logged (the feature frame X holds no identifiers at all).
"""
from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import mlflow
import mlflow.sklearn
import pandas as pd
from matplotlib.figure import Figure
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient
from sklearn.pipeline import Pipeline

from academic import plots
from academic.errors import NoChampionError, UnknownVersionError
from academic.evaluate import Champion, CVResults
from academic.explain import permutation_importances
from academic.wording import describe_analysis

if TYPE_CHECKING:
    from academic.promotion import Promotion

log = logging.getLogger(__name__)

CHAMPION_ALIAS = "champion"
# Marks the experiment as model training, not GenAI (MLflow's own kinds; see `runs_page` for the UI).
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}
DESCRIPTION_TAG = "mlflow.note.content"     # what the UI shows as an experiment's or run's description
EXPERIMENT_DESCRIPTION = "Open a run to read what it found; expand it (+) for one run per model and feature set."
# Per comparison step (evaluate.compare_feature_sets): test, effect and minimum detectable effect.
STEP_METRICS: tuple[str, ...] = ("p_one_sided", "p_two_sided", "p_holm", "mse_reduction", "t", "mde_mse", "mde_rmse",
                                 "mde_r2")
MODEL_ARTIFACT = "model"
# What the registry answers for a model, version or alias that is not there (3.17, SQLite and REST).
_NOT_FOUND = ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")
# MLflow saves scikit-learn models with skops (no arbitrary code on load). skops still
# asks for these types to be named: tree node storage and the XGBoost booster. They are
# exactly what `academic.models` builds, and only this project writes to the store.
SKOPS_TRUSTED_TYPES: tuple[str, ...] = (
    "numpy.dtype", "sklearn.tree._tree.Tree", "xgboost.core.Booster", "xgboost.sklearn.XGBRegressor",
)


def _pip_requirements() -> list[str]:
    """Pinned runtime needs of the logged pipeline; naming them skips MLflow's slow inference."""
    return [f"{name}=={metadata.version(name)}" for name in ("mlflow", "scikit-learn", "xgboost", "skops", "pandas", "numpy")]


@dataclass(frozen=True)
class AnalysisRun:
    """Where one logged analysis lives in MLflow."""

    experiment_id: str
    parent_run_id: str
    child_run_ids: dict[tuple[str, str], str]
    model_uri: str
    registered_model_name: str
    model_version: str


@dataclass(frozen=True)
class LoadedChampion:
    """A registered champion and how far it can be trusted.

    checks: what its analysis measured, e.g. flag_recall, flag_precision, pass_mark,
    interval_coverage, interval_level, rmse_mean (the parent run's `champion_*` metrics).
    """

    pipeline: Pipeline
    model: str
    feature_set: str
    version: str
    checks: dict[str, float]


@contextmanager
def _tracking(tracking_uri: str) -> Iterator[MlflowClient]:
    """Point MLflow's fluent API at `tracking_uri` for the duration, then restore it."""
    previous_tracking, previous_registry = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    try:
        yield MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    finally:
        mlflow.set_tracking_uri(previous_tracking)
        mlflow.set_registry_uri(previous_registry)


def _experiment_id(client: MlflowClient, name: str, artifact_location: str | Path) -> str:
    """Experiment `name` if it keeps its artifacts in `artifact_location`, else one named after
    that location: a copied or moved store then never writes into the folder it came from.

    MLflow (3.17) stores an experiment's artifact location as an absolute URI and resolves
    a relative one against the working directory, so the location cannot follow a folder.
    """
    location = Path(artifact_location).resolve()
    for candidate in (name, f"{name} @ {location}"):
        existing = client.get_experiment_by_name(candidate)
        if existing is None:
            return client.create_experiment(candidate, artifact_location=location.as_uri(),
                                            tags={**EXPERIMENT_KIND, DESCRIPTION_TAG: EXPERIMENT_DESCRIPTION})
        if existing.artifact_location == location.as_uri():
            return _mark_model_development(client, existing.experiment_id)
        log.info("experiment %r keeps its artifacts in %s, not in %s: using %r", candidate,
                 existing.artifact_location, location, f"{name} @ {location}")
    return _mark_model_development(client, existing.experiment_id)   # named after this location: created here before


def find_experiment(tracking_uri: str, name: str, artifact_location: str | Path) -> str | None:
    """The id of the experiment `log_analysis` writes into for this store (see `_experiment_id`),
    or None before the first analysis."""
    location = Path(artifact_location).resolve()
    client = MlflowClient(tracking_uri=tracking_uri)
    own = client.get_experiment_by_name(name)
    if own is not None and own.artifact_location == location.as_uri():
        return own.experiment_id
    located = client.get_experiment_by_name(f"{name} @ {location}")
    return located.experiment_id if located is not None else None


def runs_page(experiment_id: str) -> str:
    """The UI's path to an experiment's runs in its model-training view.

    MLflow 3.17's UI takes the view from its GenAI / Model training switch (GenAI until a
    user flips it) or from `workflowType` in the address, not from the experiment's kind
    tag, so a plain link to the experiment lands on an empty GenAI overview.
    """
    return f"#/experiments/{experiment_id}/runs?workflowType=machine_learning"


def _mark_model_development(client: MlflowClient, experiment_id: str) -> str:
    """Tag an experiment made by an earlier version as model development too."""
    for key, value in EXPERIMENT_KIND.items():
        client.set_experiment_tag(experiment_id, key, value)
    return experiment_id


def _log_figure(fig: Figure, name: str) -> None:
    mlflow.log_figure(fig, name)
    fig.clear()


def _log_frame(frame: pd.DataFrame, name: str, directory: Path) -> None:
    path = directory / name
    frame.to_csv(path, index=False)
    mlflow.log_artifact(str(path))


def _log_child(results: CVResults, row: pd.Series, experiment_id: str,
               tags: dict[str, str]) -> str:
    model, feature_set = str(row["model"]), str(row["feature_set"])
    with mlflow.start_run(run_name=f"{model} / {feature_set}", experiment_id=experiment_id, nested=True) as run:
        mlflow.set_tags({**tags, "model": model, "feature_set": feature_set})
        mlflow.log_params({"model": model, "feature_set": feature_set,
                           **{f"model.{k}": v for k, v in results.estimator_params[model].items()}})
        metrics = {k: float(row[k]) for k in row.index if k.endswith(("_mean", "_std"))}
        steps = results.comparison[(results.comparison["model"] == model)
                                   & (results.comparison["extended"] == feature_set)]
        for step in steps.to_dict("records"):
            metrics |= {k: float(step[k]) for k in STEP_METRICS}
        mlflow.log_metrics(metrics)
        folds = results.folds[(results.folds["model"] == model) & (results.folds["feature_set"] == feature_set)]
        for split, mse in zip(folds["split"], folds["mse"]):
            mlflow.log_metric("fold_mse", float(mse), step=int(split))
        return run.info.run_id


def log_analysis(
    results: CVResults,
    champion: Champion,
    *,
    tracking_uri: str,
    artifact_location: str | Path,
    experiment: str = "vadgrade-academic",
    cohort: str,
    data_fingerprint: str,
    extractor_version: str,
    registered_model_name: str = "vadgrade-grade",
    importance_repeats: int = 10,
    champion_checks: Mapping[str, float] | None = None,
    promotion: Promotion | None = None,
) -> AnalysisRun:
    """Log `results` as one parent run with a child per model x feature set, log the
    refitted `champion` and register it as a new version (the alias is left alone).

    `importance_repeats` shuffles per column for the permutation importances; it is
    the slow part of logging, so tests lower it. `champion_checks` (interval coverage,
    at-risk flag recall/precision, ...) are logged on the parent as `champion_<name>`.
    `promotion`, the decision taken about the alias, goes into the run's description and
    its `promotion` tag (promoted | kept); acting on it is the caller's `promote` call.
    """
    tags = {"cohort": cohort, "data_fingerprint": data_fingerprint, "extractor_version": extractor_version}
    with _tracking(tracking_uri) as client, tempfile.TemporaryDirectory() as tmp:
        experiment_id = _experiment_id(client, experiment, artifact_location)
        with mlflow.start_run(run_name=f"grade-predictors {cohort}", experiment_id=experiment_id) as parent:
            checks = dict(champion_checks or {})
            mlflow.set_tags({**tags, "role": "analysis",
                             DESCRIPTION_TAG: describe_analysis(results, champion, checks, promotion)})
            if promotion is not None:
                mlflow.set_tag("promotion", "promoted" if promotion.promote else "kept")
            mlflow.log_params({
                "n_splits": results.n_splits, "n_repeats": results.n_repeats, "seed": results.seed,
                "n_labelled": len(champion.y), "champion_model": champion.model,
                "champion_feature_set": champion.feature_set,
            })
            child_ids = {
                (str(row["model"]), str(row["feature_set"])): _log_child(results, row, experiment_id, tags)
                for _, row in results.summary.iterrows()
            }
            best = results.summary.set_index(["model", "feature_set"]).loc[(champion.model, champion.feature_set)]
            mlflow.log_metrics({f"champion_{k}": float(best[k])
                                for k in ("mse_mean", "mse_std", "rmse_mean", "rmse_std", "r2_mean")})
            mlflow.log_metrics({f"{k}_{step['added']}_{step['model']}": float(step[k])
                                for step in results.comparison.to_dict("records") for k in STEP_METRICS})
            mlflow.log_metrics({f"champion_{k}": float(v) for k, v in checks.items()})

            directory = Path(tmp)
            _log_figure(plots.ablation_chart(results.summary, results.comparison), "ablation_chart.png")
            oof = results.oof[(results.oof["model"] == champion.model)
                              & (results.oof["feature_set"] == champion.feature_set)]
            _log_figure(plots.predicted_vs_actual(oof, f"{champion.model} / {champion.feature_set}"),
                        "predicted_vs_actual.png")
            importances = permutation_importances(champion.pipeline, champion.X, champion.y,
                                                  n_repeats=importance_repeats, seed=results.seed)
            _log_figure(plots.importance_chart(importances), "feature_importances.png")
            _log_frame(importances, "feature_importances.csv", directory)
            _log_frame(results.summary, "cv_table.csv", directory)
            _log_frame(results.folds, "folds.csv", directory)
            _log_frame(results.comparison, "comparison.csv", directory)
            _log_frame(results.oof, "oof_predictions.csv", directory)

            info = mlflow.sklearn.log_model(
                champion.pipeline,
                name=MODEL_ARTIFACT,
                signature=infer_signature(champion.X, champion.pipeline.predict(champion.X)),
                registered_model_name=registered_model_name,
                pip_requirements=_pip_requirements(),
                skops_trusted_types=list(SKOPS_TRUSTED_TYPES),
            )
        version = str(info.registered_model_version)
        client.set_model_version_tag(registered_model_name, version, "model", champion.model)
        client.set_model_version_tag(registered_model_name, version, "feature_set", champion.feature_set)
        client.set_model_version_tag(registered_model_name, version, "analysis_run_id", parent.info.run_id)
    log.info("logged analysis %s; registered %s version %s", parent.info.run_id, registered_model_name, version)
    return AnalysisRun(experiment_id=experiment_id, parent_run_id=parent.info.run_id, child_run_ids=child_ids,
                       model_uri=info.model_uri, registered_model_name=registered_model_name,
                       model_version=version)


def promote(registered_model_name: str, version: str, *, tracking_uri: str,
            alias: str = CHAMPION_ALIAS) -> str | None:
    """Point `alias` (default `champion`) at `version`, what reports load from now on;
    return the version that held it before (None if none did).

    Raises UnknownVersionError when `registered_model_name` has no such version.
    """
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    try:
        client.get_model_version(registered_model_name, str(version))
    except MlflowException as exc:
        if exc.error_code not in _NOT_FOUND:
            raise
        known = ", ".join(_versions(client, registered_model_name)) or "none"
        raise UnknownVersionError(f"{registered_model_name} has no version {version!r}: versions are {known}") from None
    previous = _alias_version(client, registered_model_name, alias)
    client.set_registered_model_alias(registered_model_name, alias, str(version))
    log.info("alias %s of %s now points at version %s (was %s)", alias, registered_model_name, version, previous)
    return previous


def _versions(client: MlflowClient, registered_model_name: str) -> list[str]:
    found = client.search_model_versions(f"name = '{registered_model_name}'")
    return sorted((str(v.version) for v in found), key=int)


def _alias_version(client: MlflowClient, registered_model_name: str, alias: str) -> str | None:
    """The version holding `alias`, or None when no version does (or the model is not registered)."""
    try:
        return str(client.get_model_version_by_alias(registered_model_name, alias).version)
    except MlflowException as exc:
        if exc.error_code not in _NOT_FOUND:
            raise
        return None


def find_champion(registered_model_name: str = "vadgrade-grade", *, tracking_uri: str,
                  alias: str = CHAMPION_ALIAS) -> LoadedChampion | None:
    """Load the version holding `alias`, with what its analysis measured; None when no version holds it."""
    with _tracking(tracking_uri) as client:
        version = _alias_version(client, registered_model_name, alias)
        if version is None:
            return None
        tags = client.get_model_version(registered_model_name, version).tags
        pipeline = mlflow.sklearn.load_model(f"models:/{registered_model_name}/{version}")
        metrics = client.get_run(tags["analysis_run_id"]).data.metrics
    return LoadedChampion(pipeline=pipeline, model=tags["model"], feature_set=tags["feature_set"], version=version,
                          checks={k.removeprefix("champion_"): v for k, v in metrics.items()
                                  if k.startswith("champion_")})


def load_champion(registered_model_name: str = "vadgrade-grade", *, tracking_uri: str,
                  alias: str = CHAMPION_ALIAS) -> LoadedChampion:
    """Like `find_champion`, but raises NoChampionError when no version holds the alias
    (nothing trained and promoted for this cohort yet)."""
    champion = find_champion(registered_model_name, tracking_uri=tracking_uri, alias=alias)
    if champion is None:
        raise NoChampionError(f"no model registered as {registered_model_name}@{alias}: "
                              "train and promote one for this cohort first")
    return champion
