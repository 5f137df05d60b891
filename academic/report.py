"""At-risk report: champion predictions, honest intervals, the factors behind each one.

`build_report` is pure (frames in, one frame out); `write_report` writes the CSV and a
single self-contained HTML page (inline CSS, inline vanilla JS, inline SVG), so the
file can be opened offline and never calls out to a CDN with student data in the URL.
The report is local: it may show display names; student_id is never written.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader
from markupsafe import Markup
from sklearn.pipeline import Pipeline

from affect.schema import VAD
from academic.conformal import DEFAULT_LEVEL, cv_plus_intervals
from academic.explain import occlusion_contributions
from academic.features import TARGET, class_test_columns, emotion_columns, join_frames, labelled

log = logging.getLogger(__name__)

AT_RISK, BORDERLINE, ON_TRACK = "at risk", "borderline", "on track"
NO_FACES = "no faces observed"
GRADE_RANGE = (0.0, 100.0)
_VAD_COLOURS = {"valence": "#2f6db5", "arousal": "#d9822b", "dominance": "#7a7a7a"}


def _top_factors(contributions: pd.DataFrame, faces: pd.Series, top_k: int) -> list[str]:
    """'class tests -8.1; valence +2.0': the observed groups that moved each prediction most,
    then 'no faces observed' for a student without faces (no emotion factor is invented)."""
    out = []
    for (_, row), has_faces in zip(contributions.iterrows(), faces):
        observed = row.dropna()
        ranked = observed.reindex(observed.abs().sort_values(ascending=False).index).head(top_k)
        parts = [f"{name} {value:+.1f}" for name, value in ranked.items()]
        out.append("; ".join(parts if has_faces else [*parts, NO_FACES]))
    return out


def build_report(
    learning: pd.DataFrame,
    emotion: pd.DataFrame,
    pipeline: Pipeline,
    *,
    n_splits: int = 5,
    seed: int = 0,
    pass_mark: float = 50.0,
    level: float = DEFAULT_LEVEL,
    display_names: Mapping[str, str] | None = None,
    top_k: int = 3,
) -> pd.DataFrame:
    """One row per student of `learning`: predicted grade, interval, band, top factors.

    The interval is a per-student CV+ interval at `level` (see `academic.conformal`):
    `pipeline`'s settings refitted on the `n_splits` folds (seed `seed`, the evaluation's
    first repeat) of the labelled students, widened where needed to hold the champion's
    own prediction, clipped to 0..100. Factors are occlusion contributions (see
    `explain.occlusion_contributions`) against this cohort's medians, only for groups
    the student has values in; a student without faces says NO_FACES instead. Students that
    already have a final grade were part of the champion's training data, so their
    predictions are in-sample and look better than they would for new students.
    """
    frame = join_frames(learning, emotion)
    X = frame.reindex(columns=list(pipeline.feature_names_in_)).astype(float)
    predicted = pipeline.predict(X)
    known = labelled(frame)
    low, high = cv_plus_intervals(pipeline, known.reindex(columns=X.columns).astype(float), known[TARGET], X,
                                  n_splits=n_splits, seed=seed, level=level)
    contributions = occlusion_contributions(pipeline, X, reference=X)
    faces = frame[emotion_columns(frame)].notna().any(axis=1)
    names = display_names or {}

    report = pd.DataFrame({
        "student_id": frame["student_id"],
        "pseudonym": frame["pseudonym"],
        "display_name": [names.get(sid, "") for sid in frame["student_id"]],
        "predicted_grade": predicted.round(1),
        "interval_low": np.clip(np.minimum(low, predicted), *GRADE_RANGE).round(1),
        "interval_high": np.clip(np.maximum(high, predicted), *GRADE_RANGE).round(1),
        "interval_level": f"{level:.0%}",
        "pass_mark": float(pass_mark),
        TARGET: frame[TARGET],
        "top_factors": _top_factors(contributions, faces, top_k),
    })
    report["at_risk"] = report["predicted_grade"] < pass_mark
    report["band"] = np.where(report["at_risk"], AT_RISK,
                              np.where(report["interval_low"] < pass_mark, BORDERLINE, ON_TRACK))
    for name in contributions.columns:
        report[f"contrib_{name.replace(' ', '_')}"] = contributions[name].round(2).to_numpy()
    for column in class_test_columns(frame):
        report[column] = frame[column]
    return report.sort_values(["at_risk", "predicted_grade"], ascending=[False, True], ignore_index=True)


def _points(values: Sequence[float], lo: float, hi: float, width: float, height: float, pad: float) -> list[str]:
    """SVG polylines for one series; a NaN breaks the line instead of faking a value."""
    n = len(values)
    step = (width - 2 * pad) / max(n - 1, 1)
    segments, current = [], []
    for i, value in enumerate(values):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            if current:
                segments.append(current)
            current = []
            continue
        y = pad + (hi - min(max(value, lo), hi)) / (hi - lo) * (height - 2 * pad)
        current.append(f"{pad + i * step:.1f},{y:.1f}")
    if current:
        segments.append(current)
    return [" ".join(seg) for seg in segments]


def sparkline(series: Mapping[str, Sequence[float]], *, lo: float, hi: float, colours: Mapping[str, str],
              reference: float | None = None, label: str = "", width: int = 140, height: int = 40) -> Markup:
    """An inline SVG sparkline with one line per series and an optional dashed reference."""
    pad = 2.0
    parts = [f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'role="img" aria-label="{label}"><title>{label}</title>']
    if reference is not None:
        y = pad + (hi - reference) / (hi - lo) * (height - 2 * pad)
        parts.append(f'<line x1="0" x2="{width}" y1="{y:.1f}" y2="{y:.1f}" class="ref"/>')
    for name, values in series.items():
        for points in _points(list(values), lo, hi, width, height, pad):
            if " " not in points:
                x, y = points.split(",")
                parts.append(f'<circle cx="{x}" cy="{y}" r="1.6" fill="{colours[name]}"/>')
            else:
                parts.append(f'<polyline points="{points}" fill="none" stroke="{colours[name]}" stroke-width="1.4"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _vad_series(trends: pd.DataFrame) -> dict[str, dict[str, list[float]]]:
    """Per student: VAD per session, aligned on the cohort's session order (gaps stay NaN)."""
    orders = sorted(trends["session_order"].unique())
    out = {}
    for student_id, group in trends.groupby("student_id"):
        aligned = group.groupby("session_order")[list(VAD)].mean().reindex(orders)
        out[student_id] = {dim: aligned[dim].tolist() for dim in VAD}
    return out


def _direction(value: float) -> str:
    return "flat" if abs(value) < 0.05 else ("up" if value > 0 else "down")


def _factor(part: str) -> tuple[str, str, str]:
    """'valence +2.0' -> (name, value, direction); a note such as 'no faces observed' has no value."""
    name, _, value = part.rpartition(" ")
    try:
        return name, value, _direction(float(value))
    except ValueError:
        return part, "", "flat"


def _rows(frame: pd.DataFrame, trends: pd.DataFrame) -> list[dict]:
    vad = _vad_series(trends)
    tests = class_test_columns(frame)
    rows = []
    for record in frame.to_dict("records"):
        pass_mark = record["pass_mark"]
        student_vad = vad.get(record["student_id"])
        factors = [_factor(part) for part in record["top_factors"].split("; ") if part]
        rows.append({
            **record,
            "label": record["display_name"] or record["pseudonym"],
            "final": "" if pd.isna(record[TARGET]) else f"{record[TARGET]:.1f}",
            "factors": factors,
            "tests_svg": sparkline({"tests": [record[c] for c in tests]}, lo=0, hi=100,
                                   colours={"tests": "#333"}, reference=pass_mark,
                                   label=f"class tests 1-{len(tests)}; dashed line: pass mark"),
            # One small band per dimension: three noisy lines on one axis are unreadable.
            "vad_svg": Markup("").join(
                sparkline({dim: student_vad[dim]}, lo=-1, hi=1, colours=_VAD_COLOURS, reference=0.0,
                          label=f"{dim} per session, -1 to 1", height=14)
                for dim in VAD) if student_vad else None,
        })
    return rows


def _coverage(level: str) -> int:
    """'80%' -> 80: the share of new students an interval of that level is built to cover."""
    return round(float(level.rstrip("%")))


def write_report(
    frame: pd.DataFrame,
    trends: pd.DataFrame,
    *,
    out_dir: str | Path,
    cohort: str,
    model_label: str,
    stem: str = "at_risk_report",
) -> dict[str, Path]:
    """Write `<stem>.csv` and a self-contained `<stem>.html`; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / f"{stem}.csv", "html": out / f"{stem}.html"}
    frame.drop(columns=["student_id"]).to_csv(paths["csv"], index=False)

    env = Environment(loader=PackageLoader("academic", "templates"), autoescape=True,
                      trim_blocks=True, lstrip_blocks=True)
    html = env.get_template("report.html.j2").render(
        cohort=cohort,
        model_label=model_label,
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        pass_mark=float(frame["pass_mark"].iloc[0]),
        coverage=_coverage(str(frame["interval_level"].iloc[0])),
        counts=frame["band"].value_counts().to_dict(),
        n_students=len(frame),
        rows=_rows(frame, trends),
        vad_colours=_VAD_COLOURS,
    )
    paths["html"].write_text(html, encoding="utf-8")
    log.info("wrote report for %d students to %s", len(frame), out)
    return paths
