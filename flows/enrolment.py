"""Enrolment for identity = "enrolment": consenting students' photos -> templates -> calibrated matcher.

The steps are library calls (warehouse.intake finds and plans the photos with consent
first, affect.identity embeds them, affect.matching calibrates); this module only puts
them in order, for the pipeline (templates kept in DuckDB, the only place they live)
and for `vadgrade identify` (nothing kept). Templates and student ids never reach a
log or a summary from here: results carry counts and set-aside reasons only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

import warehouse
from affect.identity import EMBEDDING_MODEL, EMBEDDING_SIZE, photo_templates, template_bytes, template_from_bytes
from affect.matching import Enrolment, EnrolmentError, calibrate
from warehouse import intake


@dataclass
class Enrolled:
    """A calibrated enrolment (None when it cannot be calibrated), with what was left out and why."""

    enrolment: Enrolment | None
    set_aside: list[dict] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    problem: str = ""                    # why there is no enrolment


def embed_plan(plan: intake.EnrolmentPlan, stored: pd.DataFrame | None = None,
               *, score_threshold: float) -> tuple[pd.DataFrame, list[dict]]:
    """student_id, content_hash, template (bytes) per usable photo, and the photos set aside.

    `stored` templates (same columns) are reused by student and content hash, so a photo
    is embedded once.
    """
    known = {} if stored is None else {(r.student_id, r.content_hash): r.template for r in stored.itertuples()}
    new = np.array([(s, h) not in known for s, h in zip(plan.photos["student_id"], plan.photos["content_hash"])], bool)
    todo = plan.photos[new]
    fresh = dict(zip(todo["path"], photo_templates(todo["path"].tolist(), score_threshold=score_threshold)))
    templates, problems = [], []
    for rec in plan.photos.itertuples():
        result = known.get((rec.student_id, rec.content_hash))
        if result is None:
            result = fresh[rec.path]
            result = result if isinstance(result, str) else template_bytes(result)
        templates.append(None if isinstance(result, str) else result)
        problems.append(result if isinstance(result, str) else None)
    usable, aside = intake.usable_enrolment(plan.photos.assign(template=templates), problems)
    return usable[["student_id", "content_hash", "template"]], plan.set_aside + aside


def calibrated(templates: pd.DataFrame, set_aside: list[dict], found: int) -> Enrolled:
    """An Enrolled from usable templates (or the reason none can be calibrated)."""
    counts = {"enrolment_photos_found": found, "enrolment_photos_used": len(templates),
              "students_enrolled": int(templates["student_id"].nunique())}
    try:
        vectors = [template_from_bytes(t) for t in templates["template"]]
        enrolment = calibrate(templates["student_id"].tolist(),
                              np.stack(vectors) if vectors else np.zeros((0, EMBEDDING_SIZE)))
    except EnrolmentError as exc:
        return Enrolled(None, set_aside, {**counts, "students_enrolled": 0}, str(exc))
    return Enrolled(enrolment, set_aside, counts)


def enrol_cohort(con: duckdb.DuckDBPyConnection, data_dir: Path, cohort: str, *, score_threshold: float) -> Enrolled:
    """Enrol the cohort's consenting students from `<data_dir>/enrolment`, keeping the templates in the store.

    The store's templates become exactly this enrolment's (warehouse.replace_templates):
    a student who withdrew consent, left the roster or changed photos loses the old ones.
    """
    found = intake.find_enrolment(data_dir / intake.ENROLMENT, data_dir)
    plan = intake.plan_enrolment(found, warehouse.roster_state(con, cohort),
                                 warehouse.erased_students(con, cohort, found.images["student_id"]))
    templates, aside = embed_plan(plan, warehouse.stored_templates(con, cohort, EMBEDDING_MODEL),
                                  score_threshold=score_threshold)
    warehouse.replace_templates(con, cohort, EMBEDDING_MODEL, templates)
    return calibrated(templates, aside, plan.found)


def enrol_folder(folder: Path, roster: pd.DataFrame | None = None, *, score_threshold: float) -> Enrolled:
    """Enrol from `<folder>/<student_id>/*` without a store (vadgrade identify); `roster` applies consent."""
    found = intake.find_enrolment(folder)
    if roster is None:
        roster = pd.DataFrame({"student_id": sorted(set(found.images["student_id"])), "consent": True})
    plan = intake.plan_enrolment(found, roster)
    templates, aside = embed_plan(plan, score_threshold=score_threshold)
    return calibrated(templates, aside, plan.found)
