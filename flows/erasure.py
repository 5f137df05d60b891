"""Erasure outside the DuckDB store: the files vadgrade itself wrote under its home.

`vadgrade forget` calls `clean_home` after reading the student's traces
(`warehouse.student_traces`) and before deleting their rows. If cleaning fails, the rows
are still there, so the command can simply be run again. `clean_home` cleans:

- run summaries `<home>/run-*.json`: entries naming the student are removed and counted;
- at-risk reports under `<home>/reports/`: files naming the student (by pseudonym) are
  deleted, and `vadgrade report` writes new ones;
- Parquet exports under `<home>/exports/`: rewritten without the student's rows;
- stored face crops (`affect.store_crops`): the crops of every stored image showing them;
- `input_example.json` / `serving_input_example.json` of models logged by earlier
  versions, which held three students' feature rows.

Runs after an erasure never name the student again: `without_erased` takes the set-aside
files of erased students out of each run summary and only counts them.
"""
from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

import warehouse
from flows.settings import Settings
from warehouse import StudentTraces
from warehouse.intake import ERASED_REASON

log = logging.getLogger(__name__)

REMOVED_KEY = "entries_naming_erased_students_removed"   # added to a scrubbed run summary
ERASED_ASIDE_KEY = "set_aside_of_erased_students"          # counts what a later run left out
INPUT_EXAMPLES = ("input_example.json", "serving_input_example.json")


def id_pattern(student_id: str) -> re.Pattern[str]:
    """The ID as a whole token: it matches in `.../S01/1.png` and `S01.png`, but not inside `S010`."""
    return re.compile(rf"(?<![\w-]){re.escape(student_id)}(?![\w-])")


def _names(value: Any, pattern: re.Pattern[str]) -> bool:
    return bool(pattern.search(json.dumps(value, default=str, ensure_ascii=False)))


def _scrub(value: Any, pattern: re.Pattern[str]) -> tuple[Any, int]:
    """`value` without the list entries that name the student (other strings redacted), and how many went."""
    if isinstance(value, dict):
        out, removed = {}, 0
        for key, item in value.items():
            out[key], n = _scrub(item, pattern)
            removed += n
        return out, removed
    if isinstance(value, list):
        kept = [item for item in value if not _names(item, pattern)]
        return kept, len(value) - len(kept)
    if isinstance(value, str) and pattern.search(value):
        return pattern.sub("[erased]", value), 1
    return value, 0


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def scrub_run_summaries(home: Path, student_id: str, cohorts: Iterable[str] | None = None) -> int:
    """Remove the entries naming `student_id` from the `run-*.json` of `cohorts` (None: every one);
    returns how many went. A summary that does not say its cohort (written before they did) is
    scrubbed whatever the cohort: it may be about the student."""
    pattern, removed = id_pattern(student_id), 0
    cohorts = None if cohorts is None else set(cohorts)
    for path in sorted(home.glob("run-*.json")):
        summary = json.loads(path.read_text(encoding="utf-8"))
        if cohorts is not None and summary.get("cohort", next(iter(cohorts), None)) not in cohorts:
            continue
        summary, n = _scrub(summary, pattern)
        if n:
            summary[REMOVED_KEY] = summary.get(REMOVED_KEY, 0) + n
            _write_atomically(path, json.dumps(summary, indent=2, default=str) + "\n")
            removed += n
    return removed


def delete_reports(reports_dir: Path, student_id: str, pseudonyms: Iterable[str]) -> list[Path]:
    """Delete every report file that names the student (reports show pseudonyms, never IDs)."""
    pattern, pseudonyms = id_pattern(student_id), list(pseudonyms)
    gone = []
    for path in sorted(p for p in reports_dir.rglob("*") if p.is_file()) if reports_dir.is_dir() else []:
        text = path.read_text(encoding="utf-8", errors="replace")
        if any(p in text for p in pseudonyms) or pattern.search(text):
            path.unlink()
            gone.append(path)
    return gone


def _rows_about(frame: pd.DataFrame, student_id: str, pseudonyms: Iterable[str], cohorts: Iterable[str]) -> pd.Series:
    """Rows of an exported table that are about the student: their ID, pseudonym or image paths."""
    mine = pd.Series(False, index=frame.index)
    if "student_id" in frame:
        mine |= frame["student_id"].astype("string").eq(student_id).fillna(False).astype(bool)
    if "pseudonym" in frame:
        mine |= frame["pseudonym"].isin(list(pseudonyms))
    pattern = id_pattern(student_id)
    for column in frame.select_dtypes(include=["object", "string"]).columns:
        mine |= frame[column].astype("string").str.contains(pattern).fillna(False).astype(bool)
    if "cohort" in frame:
        mine &= frame["cohort"].isin(list(cohorts))
    return mine


def scrub_exports(exports_dir: Path, student_id: str, pseudonyms: Iterable[str], cohorts: Iterable[str]) -> int:
    """Rewrite each Parquet export without the student's rows; returns how many rows went."""
    removed = 0
    for path in sorted(exports_dir.rglob("*.parquet")) if exports_dir.is_dir() else []:
        frame = pd.read_parquet(path)
        mine = _rows_about(frame, student_id, pseudonyms, cohorts)
        if mine.any():
            tmp = path.with_name(path.name + ".tmp")
            frame[~mine].to_parquet(tmp, index=False)
            os.replace(tmp, path)
            removed += int(mine.sum())
    return removed


def delete_crops(crops_dir: Path, faces: Iterable[tuple[str, float | None, int | None]]) -> int:
    """Delete the stored crops of these (source, frame_time_s, face_idx); face_idx None: every face of the source."""
    if not crops_dir.is_dir():
        return 0
    from affect.extraction import crop_name, crop_stem     # here: affect imports torch, which forget rarely needs
    deleted = 0
    for source, frame_time_s, face_idx in faces:
        targets = (crops_dir.glob(f"{crop_stem(source)}_*.png") if face_idx is None
                   else [crops_dir / crop_name(source, face_idx, frame_time_s)])
        for path in targets:
            if path.is_file():
                path.unlink()
                deleted += 1
    return deleted


def delete_input_examples(artifacts_dir: Path) -> int:
    """Models logged before this version kept three students' feature rows as input examples."""
    deleted = 0
    for name in INPUT_EXAMPLES:
        for path in artifacts_dir.rglob(name) if artifacts_dir.is_dir() else []:
            path.unlink()
            deleted += 1
    return deleted


def clean_home(settings: Settings, student_id: str, traces: StudentTraces, cohorts: Iterable[str]) -> dict[str, str]:
    """Clean every file vadgrade wrote about the student outside the store; what was done, per place."""
    cohorts = list(cohorts)
    reports = delete_reports(settings.reports_dir, student_id, traces.pseudonyms)
    done = {
        f"run summaries ({settings.home}/run-*.json)":
            f"entries removed: {scrub_run_summaries(settings.home, student_id, cohorts)}",
        f"at-risk reports ({settings.reports_dir})":
            f"files deleted: {len(reports)}" + (" (run vadgrade report for new ones)" if reports else ""),
        f"Parquet exports ({settings.exports_dir})":
            f"rows removed: {scrub_exports(settings.exports_dir, student_id, traces.pseudonyms, cohorts)}",
        f"face crops ({settings.stored_crops_dir})":
            f"files deleted: {delete_crops(settings.stored_crops_dir, traces.faces)}",
        f"model input examples ({settings.artifacts_dir})":
            f"files deleted: {delete_input_examples(settings.artifacts_dir)}",
    }
    log.info("cleaned the home of an erased student: %s", "; ".join(done.values()))
    return done


def _erased_in(items: list[dict], settings: Settings) -> set[str]:
    """Which words in the set-aside paths and reasons are IDs of students erased from this cohort.

    Empty when the store cannot be read (none yet, or another process holds its lock).
    """
    text = " ".join(f"{item.get('path', '')} {item.get('reason', '')}" for item in items)
    words = {word for word in re.split(r"[\\/\s()'\",:]+", text) if word}
    if not words or not settings.db_path.is_file():
        return set()
    try:
        con = warehouse.connect(settings.db_path, read_only=True)
    except duckdb.Error as exc:
        log.warning("cannot read %s to find erased students (%s): only their unopened images are counted",
                    settings.db_path, exc)
        return set()
    try:
        return warehouse.erased_students(con, settings.cohort, words)
    finally:
        con.close()


def without_erased(summary: dict, settings: Settings) -> dict:
    """The run summary minus the set-aside files of students erased from this cohort, which are counted instead.

    The intake still finds their files in the teacher's folder (and sets them aside unopened),
    so a summary that listed them would name the student again after `vadgrade forget`.
    """
    images = summary.get("images")
    if not isinstance(images, dict) or not images.get("set_aside"):
        return summary
    patterns = [id_pattern(student_id) for student_id in _erased_in(images["set_aside"], settings)]
    kept = [item for item in images["set_aside"]
            if item.get("reason") != ERASED_REASON and not any(_names(item, p) for p in patterns)]
    if len(kept) == len(images["set_aside"]):
        return summary
    counted = {**images, "set_aside": kept, ERASED_ASIDE_KEY: len(images["set_aside"]) - len(kept)}
    return {**summary, "images": counted}
