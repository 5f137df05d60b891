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
from prefect import unmapped
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

import affect
import warehouse
from academic.errors import InsufficientDataError, LeakageError
from academic.conformal import nested_coverage
from academic.evaluate import check_enough_labelled, evaluate, fit_champion, flag_metrics, select_champion
from academic.features import fingerprint, join_frames
from academic.promotion import decide as decide_promotion
from academic.report import build_report, write_report as write_report_files
from academic.tracking import find_champion, load_champion, log_analysis, promote
from affect.matching import Enrolment
from affect.network import load_network, network_version, resolve_backend
from flows.enrolment import Enrolled, enrol_cohort
# Every flow and task below persists no result and keeps its exceptions' text (image paths
# name students) out of Prefect's database and storage: see flows/privacy.py.
from flows.privacy import original, private_flow as flow, private_task as task
from flows.settings import FlowSettings, Settings
from warehouse import intake

log = logging.getLogger(__name__)


def _settings(settings: Settings | None) -> Settings:
    return settings if settings is not None else Settings()


@lru_cache(maxsize=2)
def _network(weights_dir: str | None, device: str, backend: str):
    """One network per process, shared by every extraction task."""
    return load_network(weights_dir, device, backend)


def extractor_version(settings: Settings) -> str:
    """The extractor version this run's rows are stored under (torch or int8, see affect.network)."""
    a = settings.affect
    return network_version(a.weights_dir, a.device, a.backend)


def worker_settings(settings: Settings) -> Settings:
    """The settings extraction tasks get: the backend resolved here, once.

    Left at "auto", a GPU worker of a Dask cluster would pick torch and a CPU worker the
    int8 network, and one run would store rows under two model versions. Resolved on the
    flow's machine, every worker scores with the network whose version this run stores
    (the int8 network runs on the CPU, also on a GPU worker; set backend = "torch" to use GPUs).
    """
    a = settings.affect
    backend = resolve_backend(a.backend, a.device, a.weights_dir)
    update = {"backend": backend, **({"device": "cpu"} if backend == "int8" else {})}
    return settings.model_copy(update={"affect": a.model_copy(update=update)})


def check_scored_by(faces: pd.DataFrame, version: str) -> None:
    """Refuse rows a worker scored with another network (e.g. another vadgrade version installed there)."""
    other = sorted(set(faces["model_version"].dropna()) - {version})
    if other:
        raise warehouse.InputError("extraction workers", [
            f"rows scored by {', '.join(other)}, but this run stores {version}: every worker needs the same "
            "vadgrade version and [affect] settings as the machine running the flow; nothing of them was stored"])


# --- tasks --------------------------------------------------------------------------------

def read_reference(settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Roster, sessions and gradebook, validated; raises InputError listing every bad row.

    The CLI calls this before starting a flow, so bad files end in one clear message.
    """
    data, wh = settings.data_dir, settings.warehouse
    return (warehouse.read_roster(data / "roster.csv"), warehouse.read_sessions(data / "sessions.csv"),
            warehouse.read_gradebook(data / "gradebook.csv", wh.n_tests,
                                     gpa_range=wh.gpa_range, score_range=wh.score_range))


# Input the user must fix: failing again on a retry would only repeat the message.
INPUT_ERRORS: tuple[type[Exception], ...] = (warehouse.InputError, InsufficientDataError, LeakageError)


def _retry_unless_bad_input(task, task_run, state) -> bool:
    """Prefect retry condition: retry I/O hiccups, never the user's bad input."""
    try:
        state.result()
    except Exception as exc:   # noqa: BLE001 - anything but bad input may be transient
        return not isinstance(original(exc), INPUT_ERRORS)
    return True


def check_inputs(settings: Settings, *, train: bool = True) -> None:
    """Everything a run will read from the teacher, checked before the flow writes anything.

    Raises InputError (a file and every bad line) or InsufficientDataError (too few
    labelled, consenting students to cross-validate), so the CLI can say so in one message.
    """
    roster, _, grades = read_reference(settings)
    intake.check_layout(settings.data_dir, enrolment=settings.identity == "enrolment")
    if train:
        consenting = set(roster.loc[roster["consent"], "student_id"])
        labelled = grades["final_grade"].notna() & grades["student_id"].isin(consenting)
        check_enough_labelled(int(labelled.sum()), settings.academic.n_splits)


def check_trainable(settings: Settings) -> None:
    """The store holds the cohort and enough labelled students to cross-validate (else a clear error)."""
    known = stored_cohorts(settings)
    if settings.cohort not in known:
        raise warehouse.InputError(f"cohort {settings.cohort!r}", [
            f"not in the store at {settings.db_path}; known cohorts: {', '.join(known) or 'none (run vadgrade run first)'}"])
    con = warehouse.connect(settings.db_path, read_only=True)
    try:
        learning = warehouse.learning_frame(con, settings.cohort)
    finally:
        con.close()
    check_enough_labelled(int(learning["final_grade"].notna().sum()), settings.academic.n_splits)


def stored_cohorts(settings: Settings) -> list[str]:
    """Cohorts the store holds; empty when there is no store yet."""
    if not settings.db_path.is_file():
        return []
    con = warehouse.connect(settings.db_path, read_only=True)
    try:
        return warehouse.cohorts(con)["cohort"].tolist()
    finally:
        con.close()


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2, retry_condition_fn=_retry_unless_bad_input)
def load_reference_task(settings: Settings) -> dict:
    """Validate roster, sessions and gradebook, then upsert them (nothing written on bad input)."""
    roster, sessions, grades = read_reference(settings)
    con = warehouse.connect(settings.db_path)
    try:
        # Students erased on request (vadgrade forget) are skipped by the loads and counted here.
        erased = warehouse.erased_students(con, settings.cohort, roster["student_id"])
        loaded = warehouse.load_roster(con, settings.cohort, roster)
        return {"students": loaded, "students_erased_skipped": len(erased),
                # Kept in the store until erased, but left out of analyses and reports.
                "students_off_roster": int((~warehouse.roster_state(con, settings.cohort)["on_roster"]).sum()),
                "sessions": warehouse.load_sessions(con, settings.cohort, sessions),
                "graded_rows": warehouse.load_gradebook(con, settings.cohort, grades)}
    finally:
        con.close()


@task(cache_policy=NO_CACHE)
def plan_task(settings: Settings, enrolment_key: str | None = None) -> intake.Intake:
    """Images still to score for the current model (sessions and consent applied before any file is opened).

    `enrolment_key`: the enrolment frames are matched with now (None: seats); frames stored
    under another one are planned again, so a change of enrolment reaches every frame.
    """
    found = intake.find_images(settings.data_dir)
    version = extractor_version(settings)
    con = warehouse.connect(settings.db_path)
    try:
        done, stale = warehouse.stored_hashes(con, settings.cohort, version, enrolment_key)
        return intake.plan_images(found, roster=warehouse.roster_state(con, settings.cohort),
                                  sessions=warehouse.session_ids(con, settings.cohort),
                                  erased=warehouse.erased_students(con, settings.cohort, found.student_ids),
                                  done=done, stale=stale, identity=settings.identity == "enrolment")
    finally:
        con.close()


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2, retry_condition_fn=_retry_unless_bad_input)
def enrol_task(settings: Settings) -> Enrolled:
    """Enrol the consenting students' photos (templates kept in DuckDB only) and calibrate the matcher."""
    con = warehouse.connect(settings.db_path)
    try:
        return enrol_cohort(con, settings.data_dir, settings.cohort, score_threshold=settings.affect.score_threshold)
    finally:
        con.close()


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5, retry_condition_fn=_retry_unless_bad_input)
def extract_task(chunk: pd.DataFrame, settings: Settings, enrolment: Enrolment | None = None) -> pd.DataFrame:
    """Score one chunk of images; every image comes back with at least one row (frame faces matched to `enrolment`)."""
    a = settings.affect
    faces = affect.extract(chunk["path"].tolist(), batch_size=a.batch_size, device=a.device,
                           model=_network(str(a.weights_dir) if a.weights_dir else None, a.device, a.backend),
                           detect=a.detect, score_threshold=a.score_threshold, align=a.align,
                           frame_interval_s=a.frame_interval_s, num_workers=a.num_workers, masks=chunk["masks"].tolist(),
                           crops_dir=settings.stored_crops_dir if a.store_crops else None, enrolment=enrolment,
                           identify=(chunk["layout"] == "frame").tolist() if enrolment is not None else None)
    return faces


# --- flows --------------------------------------------------------------------------------

@flow(name="load-reference-data")
def load_reference_data(settings: Settings | None = None) -> dict:
    return load_reference_task(_settings(settings))


def task_runner(flows: FlowSettings):
    """Threads in this process, or Dask workers (a running scheduler, or a LocalCluster).

    Each Dask worker process loads the network once (`_network` caches per process);
    only the extraction tasks travel, so every write still happens in the flow.
    """
    if flows.task_runner == "local":
        return ThreadPoolTaskRunner(max_workers=2)
    from prefect_dask import DaskTaskRunner
    if flows.dask_address:
        return DaskTaskRunner(address=flows.dask_address)
    return DaskTaskRunner(cluster_kwargs={"n_workers": flows.dask_workers, "threads_per_worker": 1,
                                          "processes": True, "dashboard_address": None})


def ingest_images(settings: Settings | None = None) -> dict:
    """Discover new images, score them in chunks on the configured task runner, store each chunk."""
    settings = _settings(settings)
    return _ingest_images.with_options(task_runner=task_runner(settings.flows))(settings)


@flow(name="ingest-images")
def _ingest_images(settings: Settings) -> dict:
    """Discover new images, score them in chunks, store each chunk in one transaction."""
    identity = settings.identity == "enrolment"
    enrolled = enrol_task(settings) if identity else Enrolled(None)
    key = enrolled.enrolment.key if enrolled.enrolment is not None else None   # None: seats
    plan = plan_task(settings, key)
    if identity and enrolled.enrolment is None:
        plan = intake.without_frames(plan, f"nobody to match its faces to: {enrolled.problem} (not opened)")
    size = settings.flows.images_per_task
    chunks = [plan.todo.iloc[i:i + size].reset_index(drop=True) for i in range(0, len(plan.todo), size)]
    runner = settings.flows.task_runner
    log.info("extracting %d images in %d chunks on the %s task runner%s", len(plan.todo), len(chunks), runner,
             f" (Dask scheduler {settings.flows.dask_address or 'LocalCluster'})" if runner == "dask" else "")
    version = extractor_version(settings)     # torch or the int8 CPU copy: their rows are kept apart
    futures = extract_task.with_options(retries=settings.flows.task_retries).map(
        chunks, unmapped(worker_settings(settings)), unmapped(enrolled.enrolment))
    dropped = "faces_unmatched" if identity else "faces_outside_seats"
    totals = {"extractor_version": version,
              "images_found": plan.found, "images_already_stored": plan.already_stored, "images_scored": 0,
              "faces_stored": 0, "images_rejected": 0, dropped: 0,
              "frames_matched_again": len(plan.rematch), **enrolled.counts}
    problems = plan.set_aside + enrolled.set_aside
    con = warehouse.connect(settings.db_path)
    try:
        for chunk, future in zip(chunks, futures):
            faces_of_chunk = future.result()
            check_scored_by(faces_of_chunk, version)
            faces, images, outside = intake.attach_students(faces_of_chunk, chunk, plan.seats, identity=identity,
                                                            enrolment_key=key)
            result = warehouse.load_observations(con, settings.cohort, faces, images, replace=plan.rematch)
            totals["images_scored"] += result.images_loaded
            totals["faces_stored"] += result.faces_loaded
            totals["images_rejected"] += result.images_rejected
            totals[dropped] += outside
            problems += intake.problems_of(faces_of_chunk)
            sources = dict(zip(images["content_hash"], images["source"]))
            problems += [{"path": sources.get(r.content_hash, r.content_hash), "reason": f"not stored: {r.reason}"}
                         for r in result.rejected.drop_duplicates("content_hash").itertuples()]
            log.info("stored chunk: %d images, %d faces", result.images_loaded, result.faces_loaded)
    finally:
        con.close()
    return {**totals, "set_aside": problems}


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
    version = extractor_version(settings)
    con = warehouse.connect(settings.db_path, read_only=True)
    try:
        return (warehouse.learning_frame(con, settings.cohort),
                warehouse.emotion_features(con, settings.cohort, version),
                warehouse.session_trends(con, settings.cohort, version), version)
    finally:
        con.close()


@flow(name="train-predictors")
def train_and_evaluate(settings: Settings | None = None) -> dict:
    """Repeated K-fold CV of learning, +attendance, +affect; log to MLflow; register the champion,
    and move the alias to it only if it beats the current champion on the same folds."""
    settings = _settings(settings)
    a = settings.academic
    learning, emotion, _, version = _frames(settings)
    frame = join_frames(learning, emotion)
    results = evaluate(frame, n_splits=a.n_splits, n_repeats=a.n_repeats, seed=a.seed, n_jobs=a.n_jobs)
    model, feature_set = select_champion(results)
    champion = fit_champion(frame, model, feature_set, seed=a.seed)
    # How far the report can be trusted: the at-risk flag as a classifier, the intervals' coverage.
    checks = {**flag_metrics(results, model, feature_set, a.pass_mark),
              **nested_coverage(champion.pipeline, champion.X, champion.y, n_splits=a.n_splits, seed=a.seed)}
    current = find_champion(settings.registered_model_name, tracking_uri=settings.mlflow_uri)
    promotion = decide_promotion(results, champion, frame, current)
    run = log_analysis(results, champion, tracking_uri=settings.mlflow_uri,
                       artifact_location=settings.artifacts_dir.resolve(), experiment=a.experiment,
                       cohort=settings.cohort, data_fingerprint=fingerprint(frame), extractor_version=version,
                       registered_model_name=settings.registered_model_name, champion_checks=checks,
                       promotion=promotion)
    if promotion.promote:
        promote(settings.registered_model_name, run.model_version, tracking_uri=settings.mlflow_uri)
    return {"parent_run_id": run.parent_run_id, "champion": f"{model} / {feature_set}",
            "registered_version": run.model_version, "promotion": promotion.summary(run.model_version),
            "mse": results.summary.set_index(["model", "feature_set"])[["mse_mean", "mse_std", "rmse_mean"]]
            .round(2).reset_index().to_dict("records"),
            "n_labelled": len(champion.y),
            # Each step beside the smallest MSE reduction (and RMSE drop, grade points) it could detect.
            "steps": results.comparison[["model", "added", "mse_reduction", "p_one_sided", "p_holm", "detected",
                                         "mde_mse", "mde_rmse"]].round(4).to_dict("records"),
            "champion_checks": {k: round(v, 3) for k, v in checks.items()}}


@flow(name="write-report")
def write_report(settings: Settings | None = None) -> dict:
    """Predict every consenting student with the champion; write CSV + HTML locally."""
    settings = _settings(settings)
    learning, emotion, trends, _ = _frames(settings)
    champ = load_champion(settings.registered_model_name, tracking_uri=settings.mlflow_uri)
    roster = warehouse.read_roster(settings.data_dir / "roster.csv")
    names = dict(zip(roster["student_id"], roster["display_name"].fillna("")))
    frame = build_report(learning, emotion, champ.pipeline, n_splits=settings.academic.n_splits,
                         seed=settings.academic.seed, pass_mark=settings.academic.pass_mark, display_names=names)
    paths = write_report_files(frame, trends, out_dir=settings.reports_dir / settings.cohort, cohort=settings.cohort,
                               model_label=f"{settings.registered_model_name} v{champ.version} "
                                           f"({champ.model}, {champ.feature_set})", checks=champ.checks)
    return {"students": len(frame), "at_risk": int(frame["at_risk"].sum()),
            "paths": {k: str(v) for k, v in paths.items()}}


@flow(name="classroom-pipeline")
def classroom_pipeline(settings: Settings | None = None) -> dict:
    """Reference data -> images -> aggregates -> predictors -> report."""
    settings = _settings(settings)
    return {"reference": load_reference_data(settings), "images": ingest_images(settings),
            "aggregates": build_aggregates(settings), "analysis": train_and_evaluate(settings),
            "report": write_report(settings)}
