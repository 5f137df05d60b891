"""`vadgrade ...`: one typer app; each command builds settings and calls one function.

Bad input (a corrupt gradebook, a missing dataset) ends in one clear message and exit
code 2, never a traceback.
"""
from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from flows.settings import CONFIG_ENV, Settings

app = typer.Typer(help="vadgrade: classroom affect (VAD + expression) and grade prediction on learning, +attendance, +affect.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
console = Console(stderr=True)
log = logging.getLogger("vadgrade")


# Commands that run Prefect flows, and so may start Prefect's ephemeral server.
FLOW_COMMANDS = {"run", "demo", "ingest", "train-predictors", "report", "serve"}


@app.callback()
def _setup(ctx: typer.Context,
           config: Annotated[Optional[Path], typer.Option(help="TOML settings file (default ./vadgrade.toml).")] = None,
           verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False) -> None:
    if config is not None:
        if not config.is_file():
            _fail(f"config file {config} not found")
        os.environ[CONFIG_ENV] = str(config)
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(message)s",
                        handlers=[RichHandler(console=console, show_path=False)], force=True)
    for noisy in ("alembic", "mlflow.store", "httpx", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if ctx.invoked_subcommand in FLOW_COMMANDS:
        from flows.processes import tie_prefect_server
        tie_prefect_server()            # a killed run must not leave Prefect's server behind


def _fail(message: str) -> None:
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(2)


def _settings(**overrides) -> Settings:
    from pydantic import ValidationError
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        _fail(f"invalid settings:\n{exc}")


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=console, transient=True)


def _expected_errors() -> tuple[type[Exception], ...]:
    """Errors that mean "fix your input": shown as one message, never as a traceback."""
    from affect.data import DatasetError
    from affect.detect import DetectorError
    from affect.faces import DecodeError
    from affect.int8 import Int8Error
    from academic.errors import InsufficientDataError, LeakageError, NoChampionError, UnknownVersionError
    from warehouse.errors import InputError
    return (DatasetError, DecodeError, DetectorError, Int8Error, InputError, InsufficientDataError, LeakageError,
            NoChampionError, UnknownVersionError, FileNotFoundError)


def _guard(fn):
    """Turn the product's input errors into one clear message + exit code 2."""
    from flows.privacy import WithheldError, original
    try:
        return fn()
    except Exception as exc:
        error = original(exc)           # a flow's error arrives with its text withheld from Prefect
        if isinstance(error, _expected_errors()):
            _fail(str(error))
        if isinstance(error, WithheldError):   # raised on a Dask worker: only its log has the text
            console.print(f"[bold red]error:[/] {error.kind} in {error.where} on a Dask worker; "
                          "its message is in that worker's log (kept out of Prefect: it may name students)")
            raise typer.Exit(1)
        if error is exc:
            raise
        raise error from None


class _NoTracebackForInputErrors(logging.Filter):
    """Prefect logs a failing task's traceback before the CLI can explain the error;
    for input errors keep its one-line message and drop the stack."""

    def __init__(self, expected: tuple[type[Exception], ...]):
        super().__init__()
        self.expected = expected

    def filter(self, record: logging.LogRecord) -> bool:
        from flows.privacy import original
        if record.exc_info and isinstance(original(record.exc_info[1]), self.expected):
            record.exc_info, record.exc_text = None, None
        return True


def _flow(fn):
    """Run a flow (after Prefect set up its logging) with input errors shown as one message."""
    quiet = _NoTracebackForInputErrors(_expected_errors())
    handlers = {h for name in ("", "prefect", "prefect.flow_runs", "prefect.task_runs")
                for h in logging.getLogger(name).handlers}
    for handler in handlers:
        handler.addFilter(quiet)
    try:
        return _guard(fn)
    finally:
        for handler in handlers:
            handler.removeFilter(quiet)


# --- affect -----------------------------------------------------------------------------

@app.command("train-extractor")
def train_extractor(
    data: Annotated[Path, typer.Option(help="FERPlus folder, FER2013 CSV, or class folders.")],
    out_dir: Annotated[Path, typer.Option(help="Checkpoints; an existing checkpoint is resumed.")] = Path(".vadgrade/extractor"),
    export_dir: Annotated[Optional[Path], typer.Option(help="Where the best weights are exported (default OUT_DIR/export).")] = None,
    epochs: int = 110, input_size: int = 48, batch_size: int = 64, lr: float = 2e-3,
    consistency_weight: Annotated[float, typer.Option(help="lambda of the consistency loss (0 = off).")] = 0.1,
    consistency_table: Annotated[Optional[Path], typer.Option(help="Sign-rule CSV (default: Huo & Ge preset).")] = None,
    vad_anchors: Annotated[Optional[Path], typer.Option(help="Per-class VAD anchors CSV (default: NRC lexicon).")] = None,
    fer2013_labels: Annotated[Optional[Path], typer.Option(help="fer2013_original_labels.csv: also train a head on the original FER2013 labels.")] = None,
    warmup_epochs: float = 1.0,
    expression_loss: Annotated[str, typer.Option(help="soft_ce or mse (on the vote distribution).")] = "soft_ce",
    small_input: Annotated[bool, typer.Option(help="Drop the stem max-pool (2x compute, finer features; the shipped model).")] = True,
    patience: int = 30, seed: int = 0, device: str = "auto", num_workers: int = 2,
    max_train_images: Optional[int] = None,
    init_weights: Annotated[Optional[Path], typer.Option(help="Warm start from best.pt or a weights folder.")] = None,
    time_limit_min: Annotated[Optional[float], typer.Option(help="Stop after the epoch that crosses this; rerun to resume.")] = None,
    mlflow: Annotated[bool, typer.Option(help="Log the run to MLflow (off: figures stay in the checkpoint and export).")] = True,
) -> None:
    """Train the VAD + expression network (resumes from OUT_DIR/checkpoint.pt)."""
    from affect.train import TrainConfig, main
    settings = _settings()
    cfg = TrainConfig(data=str(data), out_dir=str(out_dir), export_dir=str(export_dir) if export_dir else None,
                      epochs=epochs, input_size=input_size, batch_size=batch_size, lr=lr,
                      consistency_weight=consistency_weight,
                      consistency_table=str(consistency_table) if consistency_table else None,
                      vad_anchors=str(vad_anchors) if vad_anchors else None, expression_loss=expression_loss,
                      fer2013_labels=str(fer2013_labels) if fer2013_labels else None, warmup_epochs=warmup_epochs,
                      small_input=small_input, patience=patience, seed=seed, device=device,
                      num_workers=num_workers, max_train_images=max_train_images, time_limit_min=time_limit_min,
                      init_weights=str(init_weights) if init_weights else None,
                      mlflow_tracking_uri=settings.mlflow_uri, track_mlflow=mlflow)
    result = _guard(lambda: main(cfg))
    state = "finished" if result["finished"] else "paused (rerun to resume)"
    console.print(f"training {state}: best validation accuracy {result['best_accuracy']:.4f} "
                  f"at epoch {result['best_epoch']}" + (f"; exported {result['model_version']}" if result["finished"] else ""))


@app.command("evaluate-extractor")
def evaluate_extractor(
    data: Annotated[Path, typer.Option(help="FERPlus folder (or FER2013 CSV / class folders).")],
    split: str = "test",
    weights_dir: Annotated[Optional[Path], typer.Option(help="Default: the shipped weights.")] = None,
    fer2013_labels: Annotated[Optional[Path], typer.Option(help="fer2013_original_labels.csv for the 7-class FER2013 accuracy.")] = None,
    out: Annotated[Path, typer.Option(help="JSON report path.")] = Path(".vadgrade/extractor_eval.json"),
    device: str = "auto", tta_flip: bool = True,
    backend: Annotated[str, typer.Option(help="torch (the network as trained), int8 (the CPU fast path) or auto (as extract).")] = "torch",
    record: Annotated[bool, typer.Option(help="Also store the figures in the weights' metadata (metrics.SPLIT, or int8.metrics.SPLIT).")] = False,
) -> None:
    """Accuracy (FERPlus majority, FER2013 original labels), per class, confusion, VAD RMSE/CCC."""
    from affect.evaluate import evaluate_extractor as run
    from affect.network import BACKENDS
    if backend not in BACKENDS:
        _fail(f"--backend {backend}: must be one of {', '.join(BACKENDS)}")
    report = _guard(lambda: run(data, split=split, weights_dir=weights_dir, fer2013_labels_csv=fer2013_labels,
                                device=device, tta_flip=tta_flip, out_json=out, record=record, backend=backend))
    table = Table(title=f"{report['model_version']} on {split}")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("FERPlus majority accuracy", f"{report['ferplus_majority']['accuracy']:.4f} (n={report['ferplus_majority']['n']})")
    if "fer2013_original" in report:
        table.add_row("FER2013 original-label accuracy",
                      f"{report['fer2013_original']['accuracy']:.4f} (n={report['fer2013_original']['n']})")
        table.add_row("  same, FERPlus head's 7-class view",
                      f"{report['fer2013_original_ferplus_head']['accuracy']:.4f}")
    for dim, m in report["vad"].items():
        if isinstance(m, dict):
            table.add_row(f"{dim} CCC / RMSE", f"{m['ccc']:.3f} / {m['rmse']:.3f}")
    table.add_row("consistency violations", f"{report['consistency_violation_rate']:.3f}")
    Console().print(table)
    console.print(f"wrote {out}")


@app.command("quantise-extractor")
def quantise_extractor(
    data: Annotated[Path, typer.Option(help="FERPlus folder (or FER2013 CSV / class folders): its train split calibrates.")],
    weights_dir: Annotated[Optional[Path], typer.Option(help="Default: the shipped weights.")] = None,
    calibration: Annotated[int, typer.Option(min=32, help="Training crops, evenly spaced, that set the int8 ranges.")] = 320,
) -> None:
    """Make the int8 ONNX Runtime copy of the network (the CPU fast path) beside its weights.

    Measure it after with `vadgrade evaluate-extractor --backend int8 --no-tta-flip --record`."""
    from affect.data import load_split
    from affect.int8 import calibration_crops, quantise

    def run():
        return quantise(calibration_crops(load_split(data, "train").images, calibration), weights_dir)
    info = _guard(run)
    console.print(f"wrote {info.int8['file']} ({info.int8['model_version']}, "
                  f"{info.int8['calibration_crops']} calibration crops)")


@app.command("distil-extractor")
def distil_extractor(
    data: Annotated[Path, typer.Option(help="FERPlus folder: train teaches, valid sets the face threshold.")],
    negatives: Annotated[Path, typer.Option(help="WIDER-style folder (images/ + wider_dev_bbx_gt.txt): background patches of half its photos teach what is not a face.")],
    out_dir: Annotated[Path, typer.Option(help="Checkpoints; an existing checkpoint is resumed.")] = Path(".vadgrade/student"),
    weights_dir: Annotated[Optional[Path], typer.Option(help="Teacher, and where the student is exported (default: the shipped weights).")] = None,
    epochs: int = 100, width: float = 0.5, seed: int = 0,
    negative_patches: Annotated[int, typer.Option(min=100)] = 8000,
    calibration: Annotated[int, typer.Option(min=32, help="Training crops, evenly spaced, that set the int8 ranges.")] = 320,
    device: Annotated[str, typer.Option(help="Where the teacher labels the training crops.")] = "auto",
    time_limit_min: Annotated[Optional[float], typer.Option(help="Stop after the epoch that crosses this; rerun to resume.")] = None,
) -> None:
    """Distil the compact student (affect.distil) from the weights' torch network; when it has
    finished, quantise it into the weights as their CPU network (with its face output).

    Measure it after with `vadgrade evaluate-extractor --backend int8 --no-tta-flip --record`."""
    import numpy as np

    from affect.data import background_patches, load_split, read_wider, wider_halves
    from affect.distil import DistilConfig, distil, export_student
    from affect.int8 import calibration_crops
    from affect.network import load_network

    def run():
        train, valid = load_split(data, "train"), load_split(data, "valid")
        photos = read_wider(negatives)
        patches = background_patches(negatives, photos, wider_halves(photos)[0], negative_patches,
                                     np.random.default_rng(seed + 1))
        teacher = load_network(weights_dir, device, "torch")
        cfg = DistilConfig(epochs=epochs, width=width, seed=seed, time_limit_min=time_limit_min)
        result = distil(teacher, train, patches, valid, out_dir, cfg)
        if result["finished"]:
            result["info"] = export_student(out_dir / "student.pt", calibration_crops(train.images, calibration),
                                            valid.images, weights_dir)
        return result
    result = _guard(run)
    last = result["history"][-1] if result["history"] else {}
    if not result["finished"]:
        console.print(f"distillation paused at epoch {result['epochs_run']} of {epochs} "
                      f"(validation accuracy {last.get('valid_accuracy')}); rerun to resume")
        return
    int8 = result["info"].int8
    console.print(f"student finished: validation accuracy {last['valid_accuracy']:.4f}; wrote {int8['file']} "
                  f"({int8['model_version']}, face threshold {int8['face_threshold']})")


@app.command()
def extract(
    paths: Annotated[list[Path], typer.Argument(help="Image or video files, or folders (searched recursively).")],
    out: Annotated[Path, typer.Option(help=".csv or .parquet")] = Path("faces.csv"),
    batch_size: Optional[int] = None, device: Optional[str] = None,
    detect: Annotated[Optional[str], typer.Option(help="auto | always | never (inputs are face crops).")] = None,
    num_workers: Annotated[int, typer.Option(help="DataLoader workers that decode and detect.")] = 2,
    score_threshold: Annotated[Optional[float], typer.Option(help="YuNet's minimum face score in photos and frames.")] = None,
    frame_interval_s: Annotated[Optional[float], typer.Option(help="Videos: seconds between sampled frames.")] = None,
) -> None:
    """Score every face in the given images and videos; one row per face (no-face and bad files get a row too)."""
    from affect.extraction import write_faces
    _check_out(out)
    settings = _settings()
    files = _media_files(paths)
    frame = _score(files, settings, batch_size=batch_size or settings.affect.batch_size,
                   device=device or settings.affect.device, detect=detect or settings.affect.detect,
                   num_workers=num_workers, score_threshold=score_threshold or settings.affect.score_threshold,
                   frame_interval_s=frame_interval_s or settings.affect.frame_interval_s)
    write_faces(frame, out)
    counts = frame.drop_duplicates(["source", "frame_time_s"])["status"].value_counts().to_dict()
    console.print(f"{len(files)} files, {int((frame.status == 'ok').sum())} faces -> {out}  "
                  f"(per image or video frame: {counts})")


def _check_out(out: Path) -> None:
    from affect.extraction import OUTPUT_SUFFIXES
    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        _fail(f"--out {out}: must end in {' or '.join(OUTPUT_SUFFIXES)}")


def _media_files(paths: list[Path]) -> list[Path]:
    """The given files, and the images and videos found in the given folders (recursively)."""
    from affect.schema import IMAGE_SUFFIXES, VIDEO_SUFFIXES
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES)
        else:
            files.append(path)   # missing or odd files still get an error row
    if not files:
        _fail("no images or videos found in the given paths")
    return files


def _score(files: list[Path], settings: Settings, **options):
    """affect.extract over `files` with a progress bar; `options` override the settings."""
    import affect
    a = settings.affect
    options = {"batch_size": a.batch_size, "device": a.device, "backend": a.backend, "detect": a.detect,
               "score_threshold": a.score_threshold, "frame_interval_s": a.frame_interval_s, **options}
    with _progress() as bar:
        task = bar.add_task("extracting", total=len(files))
        return _guard(lambda: affect.extract(files, weights_dir=a.weights_dir, align=a.align, **options,
                                             on_progress=lambda done, total: bar.update(task, completed=done)))


@app.command()
def identify(
    paths: Annotated[list[Path], typer.Argument(help="Image or video files, or folders (searched recursively).")],
    enrolment: Annotated[Path, typer.Option(help="Enrolment folder: <student_id>/ with 2 to 5 photos each.")],
    out: Annotated[Path, typer.Option(help=".csv or .parquet")] = Path("faces.csv"),
    roster: Annotated[Optional[Path], typer.Option(help="roster.csv: enrol only students with consent.")] = None,
    num_workers: Annotated[int, typer.Option(help="DataLoader workers that decode, detect and match.")] = 2,
) -> None:
    """Check an enrolment before a run: the rows of `extract` plus the matched student_id
    (blank when none) and match_distance. Nothing is stored; the templates live only
    in this process. The pipeline matches frames with the same code (identity = "enrolment")."""
    from affect.extraction import write_faces
    from flows.enrolment import enrol_folder
    import warehouse
    _check_out(out)
    settings = _settings()
    files = _media_files(paths)
    consent = _guard(lambda: warehouse.read_roster(roster)) if roster is not None else None
    enrolled = _guard(lambda: enrol_folder(enrolment, consent, score_threshold=settings.affect.score_threshold))
    for item in enrolled.set_aside:
        console.print(f"[yellow]not enrolled[/] {item['path']}: {item['reason']}")
    if enrolled.enrolment is None:
        _fail(f"cannot match faces: {enrolled.problem}")
    _print_enrolment(enrolled.enrolment)
    frame = _score(files, settings, num_workers=num_workers, enrolment=enrolled.enrolment, keep_unmatched=True)
    write_faces(frame, out)
    faces = frame[frame["status"] == "ok"]
    console.print(f"{len(files)} files, {len(faces)} faces, {int(faces['student_id'].notna().sum())} matched to "
                  f"{faces['student_id'].nunique()} of {len(enrolled.enrolment.students)} students -> {out}")


def _print_enrolment(enrolment) -> None:
    """Per student: how their photos agree and how close a classmate comes (a classmate closer
    than their own photos makes matching them unreliable)."""
    table = Table(title="enrolment")
    for column in ("student", "photos", "own photos apart", "nearest classmate", "threshold", ""):
        table.add_column(column, justify="left" if column in ("student", "") else "right")
    for s, student in enumerate(enrolment.students):
        own, nearest = enrolment.own[s], enrolment.nearest[s]
        table.add_row(student, str(int((enrolment.owner == s).sum())), f"{own:.3f}", f"{nearest:.3f}",
                      f"{enrolment.thresholds[s]:.3f}",
                      "[yellow]a classmate is closer than their own photos: retake them[/]" if nearest <= own else "")
    Console().print(table)


# --- pipeline ---------------------------------------------------------------------------

CohortOpt = Annotated[Optional[str], typer.Option(help="Cohort/course id (default from settings).")]
DataDirOpt = Annotated[Optional[Path], typer.Option(help="Folder with gradebook.csv, roster.csv, sessions.csv, images/.")]


def _print_summary(summary: dict, settings: Settings) -> None:
    """Counts on screen (files set aside grouped by reason, a few named); everything in a JSON file."""
    from datetime import datetime, timezone

    from flows.erasure import without_erased
    # erased students' files are counted, never named; the cohort lets `forget --cohort` scrub only its runs
    summary = {"cohort": settings.cohort, **without_erased(summary, settings)}
    settings.home.mkdir(parents=True, exist_ok=True)
    path = settings.home / f"run-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(summary, indent=2, default=str) + "\n")
    images = summary.get("images", summary)
    aside = images.get("set_aside", []) if isinstance(images, dict) else []
    shown = {k: v for k, v in summary.items() if k != "images"}
    if isinstance(images, dict) and "images_scored" in images:
        shown["images"] = {k: v for k, v in images.items() if k != "set_aside"}
    console.print_json(json.dumps(shown, default=str))
    by_reason: dict[str, list[str]] = {}
    for item in aside:
        by_reason.setdefault(item["reason"], []).append(item["path"])
    for reason, paths in sorted(by_reason.items()):
        names = ", ".join(paths[:3]) + (f" (+{len(paths) - 3} more)" if len(paths) > 3 else "")
        console.print(f"[yellow]set aside[/] {len(paths)} x {reason}: {names}")
    console.print(f"full run summary: {path}")


def _run_pipeline(settings: Settings) -> dict:
    """Check the teacher's files first (one clear message), then run the whole flow."""
    from flows.pipeline import check_inputs, classroom_pipeline, extractor_version
    _guard(lambda: (check_inputs(settings), extractor_version(settings)))
    summary = _flow(lambda: classroom_pipeline(settings))
    _print_summary(summary, settings)
    return summary


@app.command()
def run(cohort: CohortOpt = None, data_dir: DataDirOpt = None) -> None:
    """Run the whole classroom pipeline once (ephemeral Prefect, no server needed)."""
    _run_pipeline(_settings(cohort=cohort, data_dir=data_dir))


@app.command()
def ingest(cohort: CohortOpt = None, data_dir: DataDirOpt = None) -> None:
    """Load roster, sessions and gradebook, then score new images into DuckDB."""
    from flows.pipeline import check_inputs, ingest_images, load_reference_data
    settings = _settings(cohort=cohort, data_dir=data_dir)
    _guard(lambda: check_inputs(settings, train=False))
    _print_summary(_flow(lambda: {"reference": load_reference_data(settings), "images": ingest_images(settings)}),
                   settings)


@app.command("train-predictors")
def train_predictors(cohort: CohortOpt = None) -> None:
    """Rebuild aggregates, cross-validate learning, +attendance, +affect, log to MLflow, register the champion
    (it takes the `champion` alias only if it beats the current one on the same folds)."""
    from flows.pipeline import build_aggregates, check_trainable, train_and_evaluate
    settings = _settings(cohort=cohort)
    _guard(lambda: check_trainable(settings))
    _print_summary(_flow(lambda: {"aggregates": build_aggregates(settings), "analysis": train_and_evaluate(settings)}),
                   settings)


@app.command()
def promote(version: Annotated[int, typer.Argument(help="The registered model version to make the champion.")],
            cohort: CohortOpt = None) -> None:
    """Point the cohort's `champion` alias at VERSION by hand; reports load it from now on.

    Training moves the alias only when its champion beats the current one on the same folds;
    this is the explicit override (e.g. back to an earlier version).
    """
    from academic.tracking import promote as move_alias
    settings = _settings(cohort=cohort)
    name = settings.registered_model_name
    previous = _guard(lambda: move_alias(name, str(version), tracking_uri=settings.mlflow_uri))
    console.print(f"{name}@champion: version {previous or '(none)'} -> {version}. "
                  "Run `vadgrade report` for a report from it.")


@app.command()
def report(cohort: CohortOpt = None) -> None:
    """Write the at-risk report (CSV + self-contained HTML) for a cohort from the champion model."""
    from flows.pipeline import stored_cohorts, write_report
    settings = _settings(cohort=cohort)
    known = stored_cohorts(settings)
    if settings.cohort not in known:
        _fail(f"unknown cohort {settings.cohort!r}: the store at {settings.db_path} holds "
              f"{', '.join(map(repr, known)) or 'no cohort yet (run vadgrade run first)'}")
    _print_summary(_flow(lambda: write_report(settings)), settings)


@app.command()
def export(table: Annotated[str, typer.Argument(help="Table name, e.g. agg_student.")],
           out: Annotated[Optional[Path], typer.Option(help="Parquet path.")] = None) -> None:
    """Export one warehouse table to Parquet."""
    import warehouse
    settings = _settings()
    target = out or settings.exports_dir / f"{table}.parquet"
    con = warehouse.connect(settings.db_path)
    try:
        _guard(lambda: warehouse.export_parquet(con, table, target))
    except ValueError as exc:
        _fail(str(exc))
    finally:
        con.close()
    console.print(f"wrote {target}")


@app.command()
def forget(
    student_id: Annotated[str, typer.Argument(help="The student's ID as in roster.csv.")],
    cohort: Annotated[Optional[str], typer.Option(help="Only this cohort (default: every cohort that holds the ID).")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase one student from the store and from the files vadgrade wrote (GDPR Art. 17, right to erasure).

    Under the home (VADGRADE_HOME), first: run summaries (run-*.json) of those cohorts lose every entry
    naming the student; at-risk reports that name them are deleted (run `vadgrade report`
    for new ones); Parquet exports under exports/ are rewritten without their rows; their
    stored face crops (affect.store_crops) are deleted, and so are the input examples of
    models logged by earlier versions (they held three students' feature rows).

    Then, in one transaction, the DuckDB store loses the student's enrolment templates (face
    embeddings, identity = "enrolment") and the cohort's frame fingerprints made from them
    (the next run matches those frames again), face observations, the images tied to them, their aggregates, gradebook row and test scores, and their roster
    row with consent, display name and pseudonym; the file is then rewritten so no deleted
    bytes remain in it. Only a salted hash of the ID is kept: a later ingest of a roster
    that still lists the student skips them, and later run summaries only count their files.

    NOT cleaned: MLflow runs, which only ever carry pseudonyms (earlier runs keep the
    student's pseudonymous out-of-fold predictions and models fitted with their data: run
    train-predictors for a champion without them, and delete old runs in MLflow if that is
    required); Prefect's database and storage under PREFECT_HOME (vadgrade sends them nothing
    that names a student, but builds before this erasure fix could log image paths there on
    a failed run: delete prefect.db and storage/ there if such runs failed); exports written
    elsewhere with --out; backups or copies of the home; and the data folder (roster.csv,
    gradebook.csv, images), which is yours to edit.
    """
    import duckdb

    import warehouse
    from flows.erasure import clean_home
    settings = _settings()
    path = settings.db_path
    if not path.is_file():
        _fail(f"no store at {path}: nothing to erase")
    try:
        con = warehouse.connect(path)
    except duckdb.IOException as exc:         # e.g. another vadgrade process is writing
        _fail(f"cannot open {path}: {exc}")
    try:
        cohorts = _guard(lambda: warehouse.student_cohorts(con, student_id, cohort))
        if not yes and not typer.confirm(f"Erase everything stored about {student_id!r} in cohort(s) "
                                         f"{', '.join(cohorts)} from {path} and the files under "
                                         f"{settings.home}? This cannot be undone."):
            console.print("nothing erased")
            raise typer.Exit(1)
        traces = _guard(lambda: warehouse.student_traces(con, student_id, cohort))
        # Files first: if this fails, the rows (and the pseudonyms that find report rows) remain
        # and forget can simply run again.
        cleaned = clean_home(settings, student_id.strip(), traces, cohorts)
        deleted = _guard(lambda: warehouse.forget_student(con, student_id, cohort))
    finally:
        con.close()
    warehouse.compact(path)
    table = Table(title=f"erased {student_id!r} from {', '.join(cohorts)}")
    table.add_column("table")
    table.add_column("rows deleted", justify="right")
    for name, rows in deleted.items():
        table.add_row(name, str(rows))
    table.add_row("[bold]total[/]", f"[bold]{sum(deleted.values())}[/]")
    Console().print(table)
    files = Table(title="files under the home")
    files.add_column("place")
    files.add_column("cleaned")
    for place, done in cleaned.items():
        files.add_row(place, done)
    Console().print(files)
    console.print(f"rewrote {path}. Not cleaned: MLflow runs (pseudonyms only; retrain for a champion "
                  "without the student), Prefect's database, exports written elsewhere, backups and the "
                  "data folder (see vadgrade forget --help)")


@app.command()
def ui(port: int = 5000) -> None:
    """Start the MLflow dashboard on 127.0.0.1 for this store (Ctrl-C or SIGTERM stops all of it).

    Prints the address of the analyses' runs (the UI's home page opens on GenAI tracing).
    MLflow's telemetry stays off (MLFLOW_DISABLE_TELEMETRY, set by `flows` and inherited).
    """
    from academic.tracking import find_experiment, runs_page
    from flows.processes import run_process_group
    settings = _settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    experiment = find_experiment(settings.mlflow_uri, settings.academic.experiment, settings.artifacts_dir)
    page = runs_page(experiment) if experiment else ""
    console.print(f"MLflow UI on http://127.0.0.1:{port}/{page}  (tracking {settings.mlflow_uri})", soft_wrap=True)
    cmd = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", settings.mlflow_uri,
           "--host", "127.0.0.1", "--port", str(port)]
    raise typer.Exit(run_process_group(cmd))


@app.command()
def serve() -> None:
    """Serve the pipeline as a Prefect deployment on the configured cron schedule."""
    from flows.deployments import serve_pipeline
    serve_pipeline(_settings())


@app.command()
def demo() -> None:
    """Run the whole pipeline on the embedded synthetic sample cohort and say where to look."""
    settings = _settings()
    summary = _run_pipeline(settings)
    console.print("\n[bold]Where to look[/]")
    console.print(f"  DuckDB warehouse : {settings.db_path.resolve()}")
    console.print("  MLflow dashboard : .venv/bin/vadgrade ui   (then open the address it prints: the analyses' runs)")
    for name, path in summary.get("report", {}).get("paths", {}).items():
        console.print(f"  report ({name:4s})    : {Path(path).resolve()}")
    console.print("  The sample cohort is synthetic; predictions are support signals, not verdicts.")


if __name__ == "__main__":  # pragma: no cover
    app()
