"""Prefect flows from classroom images to the at-risk report. Orchestration only.

Each task is a few lines around one library call: `affect.extract`, `warehouse.*`,
`academic.*`. Extraction fans out over chunks of images (with retries); the flow itself
is the single writer into DuckDB, one transaction per chunk, so a run killed midway
keeps every stored chunk and the next run scores only what is missing.
"""
from __future__ import annotations

import logging
from functools import lru_cache

import pandas as pd
from prefect import flow, task, unmapped
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

import affect
import warehouse
from academic.evaluate import evaluate, fit_champion, select_champion
from academic.features import fingerprint, join_frames
from academic.report import build_report, write_report as write_report_files
from academic.tracking import load_champion, log_analysis, promote
from affect.schema import STATUS_OK
from affect.weights import load_model, read_info
from flows.settings import Settings
from warehouse import intake

log = logging.getLogger(__name__)


def _settings(settings: Settings | None) -> Settings:
    return settings if settings is not None else Settings()


@lru_cache(maxsize=2)
def _model(weights_dir: str | None, device: str):
    """One network per process, shared by every extraction task."""
    return load_model(weights_dir, device)


# --- tasks --------------------------------------------------------------------------------

def read_reference(settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Roster, sessions and gradebook, validated; raises InputError listing every bad row.

    The CLI calls this before starting a flow, so bad files end in one clear message.
    """
    data, wh = settings.data_dir, settings.warehouse
    return (warehouse.read_roster(data / "roster.csv"), warehouse.read_sessions(data / "sessions.csv"),
            warehouse.read_gradebook(data / "gradebook.csv", wh.n_tests,
                                     gpa_range=wh.gpa_range, score_range=wh.score_range))


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def load_reference_task(settings: Settings) -> dict:
    """Validate roster, sessions and gradebook, then upsert them (nothing written on bad input)."""
    roster, sessions, grades = read_reference(settings)
    con = warehouse.connect(settings.db_path)
    try:
        # Students erased on request (vadgrade forget) are skipped by the loads and counted here.
        erased = warehouse.erased_students(con, settings.cohort, roster["student_id"])
        return {"students": warehouse.load_roster(con, settings.cohort, roster),
                "students_erased_skipped": len(erased),
                "sessions": warehouse.load_sessions(con, settings.cohort, sessions),
                "graded_rows": warehouse.load_gradebook(con, settings.cohort, grades)}
    finally:
        con.close()


@task(cache_policy=NO_CACHE)
def plan_task(settings: Settings) -> tuple[pd.DataFrame, list[dict], pd.DataFrame | None]:
    """Images still to score for the current model (consent applied before any file is opened)."""
    root = settings.data_dir / "images"
    plan = intake.discover(root)
    manifest = settings.data_dir / "manifest.csv"
    if manifest.is_file():
        extra = intake.read_manifest(manifest, settings.data_dir)
        plan = intake.IntakePlan(pd.concat([plan.images, extra.images], ignore_index=True),
                                 plan.set_aside + extra.set_aside)
    roster = warehouse.read_roster(settings.data_dir / "roster.csv")
    seats, seat_file = None, root / "seat_map.csv"
    if seat_file.is_file():
        try:
            seats = intake.read_seat_map(seat_file)
        except warehouse.InputError as exc:     # frames wait for a fixed seat map; the rest goes on
            plan.set_aside.append({"path": str(seat_file), "reason": str(exc)})
    version = read_info(settings.affect.weights_dir).model_version
    con = warehouse.connect(settings.db_path)
    try:
        done = warehouse.scored_hashes(con, version)
        erased = warehouse.erased_students(con, settings.cohort, roster["student_id"])
    finally:
        con.close()
    # Erased students count as not consenting: their images stay unopened, their seats masked.
    roster = roster.assign(consent=roster["consent"] & ~roster["student_id"].isin(erased))
    plan = intake.apply_consent(plan, roster, erased)
    todo, aside = intake.new_images(plan, done, seats, roster)
    return todo, aside, seats


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def extract_task(chunk: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Score one chunk of images; every image comes back with at least one row."""
    a = settings.affect
    faces = affect.extract(chunk["path"].tolist(), batch_size=a.batch_size, device=a.device,
                           model=_model(str(a.weights_dir) if a.weights_dir else None, a.device),
                           detect=a.detect, score_threshold=a.score_threshold, align=a.align,
                           frame_interval_s=a.frame_interval_s, num_workers=a.num_workers, masks=chunk["masks"].tolist(),
                           crops_dir=(a.crops_dir or settings.home / "crops") if a.store_crops else None)
    return faces


# --- flows --------------------------------------------------------------------------------

@flow(name="load-reference-data")
def load_reference_data(settings: Settings | None = None) -> dict:
    return load_reference_task(_settings(settings))


@flow(name="ingest-images", task_runner=ThreadPoolTaskRunner(max_workers=2))
def ingest_images(settings: Settings | None = None) -> dict:
    """Discover new images, score them in chunks, store each chunk in one transaction."""
    settings = _settings(settings)
    todo, aside, seats = plan_task(settings)
    size = settings.flows.images_per_task
    chunks = [todo.iloc[i:i + size].reset_index(drop=True) for i in range(0, len(todo), size)]
    futures = extract_task.with_options(retries=settings.flows.task_retries).map(chunks, unmapped(settings))
    totals = {"images_scored": 0, "faces_stored": 0, "images_rejected": 0, "faces_outside_seats": 0}
    problems = list(aside)
    con = warehouse.connect(settings.db_path)
    try:
        for chunk, future in zip(chunks, futures):
            faces, images, outside = intake.attach_students(future.result(), chunk, seats)
            result = warehouse.load_observations(con, settings.cohort, faces, images)
            totals["images_scored"] += result.images_loaded
            totals["faces_stored"] += result.faces_loaded
            totals["images_rejected"] += result.images_rejected
            totals["faces_outside_seats"] += outside
            problems += [{"path": r.source, "reason": r.reason}
                         for r in images[images.status != STATUS_OK].itertuples()]
            problems += [{"path": str(r.source), "reason": f"observation rejected: {r.reason}"}
                         for r in result.rejected.drop_duplicates("content_hash").itertuples()]
            log.info("stored chunk: %d images, %d faces", result.images_loaded, result.faces_loaded)
    finally:
        con.close()
    return {**totals, "images_found": len(todo) + len(aside), "set_aside": problems}


@flow(name="build-aggregates")
def build_aggregates(settings: Settings | None = None) -> dict:
    settings = _settings(settings)
    con = warehouse.connect(settings.db_path)
    try:
        return warehouse.rebuild_aggregates(con, settings.cohort)
    finally:
        con.close()


def _frames(settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, str]:
    """learning, emotion features, session trends and the extractor version, from DuckDB."""
    version = read_info(settings.affect.weights_dir).model_version
    con = warehouse.connect(settings.db_path, read_only=True)
    try:
        return (warehouse.learning_frame(con, settings.cohort),
                warehouse.emotion_features(con, settings.cohort, version),
                warehouse.session_trends(con, settings.cohort, version), version)
    finally:
        con.close()


@flow(name="train-predictors")
def train_and_evaluate(settings: Settings | None = None) -> dict:
    """Repeated K-fold CV with vs without emotion; log to MLflow; register and promote the champion."""
    settings = _settings(settings)
    a = settings.academic
    learning, emotion, _, version = _frames(settings)
    frame = join_frames(learning, emotion)
    results = evaluate(frame, n_splits=a.n_splits, n_repeats=a.n_repeats, seed=a.seed)
    model, feature_set = select_champion(results)
    champion = fit_champion(frame, model, feature_set, seed=a.seed)
    run = log_analysis(results, champion, tracking_uri=settings.mlflow_uri,
                       artifact_location=settings.artifacts_dir.resolve(), experiment=a.experiment,
                       cohort=settings.cohort, data_fingerprint=fingerprint(frame), extractor_version=version,
                       registered_model_name=a.registered_model)
    promote(a.registered_model, run.model_version, tracking_uri=settings.mlflow_uri)
    return {"parent_run_id": run.parent_run_id, "champion": f"{model} / {feature_set}",
            "registered_version": run.model_version,
            "mse": results.summary.set_index(["model", "feature_set"])[["mse_mean", "mse_std"]]
            .round(2).reset_index().to_dict("records"),
            "emotion_vs_learning_only": results.comparison[["model", "mse_reduction", "p_one_sided"]]
            .round(4).to_dict("records")}


@flow(name="write-report")
def write_report(settings: Settings | None = None) -> dict:
    """Predict every consenting student with the champion; write CSV + HTML locally."""
    settings = _settings(settings)
    learning, emotion, trends, _ = _frames(settings)
    champ = load_champion(settings.academic.registered_model, tracking_uri=settings.mlflow_uri)
    roster = warehouse.read_roster(settings.data_dir / "roster.csv")
    names = dict(zip(roster["student_id"], roster["display_name"].fillna("")))
    frame = build_report(learning, emotion, champ.pipeline, residuals=champ.residuals,
                         pass_mark=settings.academic.pass_mark, display_names=names)
    paths = write_report_files(frame, trends, out_dir=settings.reports_dir / settings.cohort, cohort=settings.cohort,
                               model_label=f"{settings.academic.registered_model} v{champ.version} "
                                           f"({champ.model}, {champ.feature_set})")
    return {"students": len(frame), "at_risk": int(frame["at_risk"].sum()),
            "paths": {k: str(v) for k, v in paths.items()}}


@flow(name="classroom-pipeline")
def classroom_pipeline(settings: Settings | None = None) -> dict:
    """Reference data -> images -> aggregates -> predictors -> report."""
    settings = _settings(settings)
    return {"reference": load_reference_data(settings), "images": ingest_images(settings),
            "aggregates": build_aggregates(settings), "analysis": train_and_evaluate(settings),
            "report": write_report(settings)}
