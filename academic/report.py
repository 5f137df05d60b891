"""At-risk report: champion predictions, honest intervals, the factors behind each one.

`build_report` is pure (frames in, one frame out); `write_report` writes the CSV and a
single self-contained HTML page (inline CSS, inline vanilla JS, inline SVG), so the
file can be opened offline and never calls out to a CDN with student data in the URL.
The report is local: it may show display names; student_id is never written.
"""
from __future__ import annotations

import logging
import math
import re
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
from academic.explain import GROUP_DESCRIPTIONS, occlusion_contributions
from academic.features import TARGET, class_test_columns, emotion_columns, join_frames, labelled
from academic.wording import trust_sentences

log = logging.getLogger(__name__)

AT_RISK, BORDERLINE, ON_TRACK = "at risk", "borderline", "on track"
NO_FACES = "no faces observed"
GRADE_RANGE = (0.0, 100.0)
_VAD_COLOURS = {"valence": "#2f6db5", "arousal": "#d9822b", "dominance": "#7a7a7a"}
_TICK = "#5f6368"
_TICK_CLEARANCE = 20.0   # grade points a pass-mark label keeps from the 0 and 100 labels


def contribution_column(group: str) -> str:
    """'attendance (faces seen, sessions seen)' -> 'contrib_attendance_faces_seen_sessions_seen'."""
    return "contrib_" + re.sub(r"\W+", "_", group).strip("_")


def _top_factors(contributions: pd.DataFrame, faces: pd.Series, top_k: int) -> list[str]:
    """'class tests -8.1; valence +2.0': the observed groups that moved each prediction most,
    then 'no faces observed' for a student without faces (no emotion factor is invented)."""
    out = []
    for (_, row), has_faces in zip(contributions.iterrows(), faces):
        observed = row.dropna()
        ranked = observed.reindex(observed.abs().sort_values(ascending=False).index).head(top_k)
        parts = [f"{name} {round(value, 1) + 0.0:+.1f}" for name, value in ranked.items()]   # + 0.0: no "-0.0"
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
    predictions are in-sample (`in_sample`) and look better than they would for new students.
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
        "in_sample": frame[TARGET].notna(),
        "top_factors": _top_factors(contributions, faces, top_k),
    })
    report["at_risk"] = report["predicted_grade"] < pass_mark
    report["band"] = np.where(report["at_risk"], AT_RISK,
                              np.where(report["interval_low"] < pass_mark, BORDERLINE, ON_TRACK))
    for name in contributions.columns:
        report[contribution_column(name)] = contributions[name].round(2).to_numpy()
    for column in class_test_columns(frame):
        report[column] = frame[column]
    # Students still to be graded first: they are whom the report is for.
    return report.sort_values(["in_sample", "at_risk", "predicted_grade"], ascending=[True, False, True],
                              ignore_index=True)


def _y(value: float, lo: float, hi: float, height: float, pad: float) -> float:
    return pad + (hi - min(max(value, lo), hi)) / (hi - lo) * (height - 2 * pad)


def _points(values: Sequence[float], lo: float, hi: float, width: float, height: float, pad: float,
            left: float = 0.0) -> list[str]:
    """SVG polylines for one series starting at x = `left`; a NaN breaks the line instead of faking a value."""
    n = len(values)
    step = (width - left - 2 * pad) / max(n - 1, 1)
    segments, current = [], []
    for i, value in enumerate(values):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            if current:
                segments.append(current)
            current = []
            continue
        current.append(f"{left + pad + i * step:.1f},{_y(value, lo, hi, height, pad):.1f}")
    if current:
        segments.append(current)
    return [" ".join(seg) for seg in segments]


def sparkline(series: Mapping[str, Sequence[float]], *, lo: float, hi: float, colours: Mapping[str, str],
              reference: float | None = None, label: str = "", width: int = 140, height: int = 40,
              ticks: Sequence[tuple[str, float, str]] = (), gutter: int = 0) -> Markup:
    """An inline SVG sparkline with one line per series and an optional dashed reference.

    `ticks` are (text, value, colour) labels drawn in a left `gutter` of that many pixels,
    so the reader sees the scale (0 and 100, the pass mark, a band's name).
    """
    pad = 2.0
    parts = [f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'role="img" aria-label="{label}"><title>{label}</title>']
    for text, value, colour in ticks:
        y = min(max(_y(value, lo, hi, height, pad), 4.0), height - 4.0)
        parts.append(f'<text x="{gutter - 3}" y="{y:.1f}" class="tick" fill="{colour}">{text}</text>')
    if reference is not None:
        y = _y(reference, lo, hi, height, pad)
        parts.append(f'<line x1="{gutter}" x2="{width}" y1="{y:.1f}" y2="{y:.1f}" class="ref"/>')
    for name, values in series.items():
        for points in _points(list(values), lo, hi, width, height, pad, left=gutter):
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


def _range(values: Sequence[float], decimals: int) -> str:
    """'lowest 17, highest 40' over the observed values (the sparkline's min-max in words)."""
    seen = [v for v in values if v is not None and not math.isnan(v)]
    return f"lowest {min(seen):.{decimals}f}, highest {max(seen):.{decimals}f}" if seen else "nothing observed"


def _tests_svg(scores: Sequence[float], pass_mark: float) -> Markup:
    """Class tests on 0..100 with the scale and the pass mark labelled at the left."""
    ticks = [("100", 100.0, _TICK), ("0", 0.0, _TICK)]
    if _TICK_CLEARANCE <= pass_mark <= 100 - _TICK_CLEARANCE:   # else it would overprint 0 or 100
        ticks.append((f"{pass_mark:g}", pass_mark, _TICK))
    return sparkline({"tests": scores}, lo=0, hi=100, colours={"tests": "#333"}, reference=pass_mark,
                     label=f"class tests 1-{len(scores)} on 0-100: {_range(scores, 0)}; "
                           f"dashed line: pass mark {pass_mark:g}",
                     width=160, gutter=20, ticks=ticks)


def _vad_svg(series: Mapping[str, Sequence[float]]) -> Markup:
    """One small band per dimension, -1 (bottom) to +1 (top): three noisy lines on one axis are unreadable."""
    return Markup("").join(
        sparkline({dim: series[dim]}, lo=-1, hi=1, colours=_VAD_COLOURS, reference=0.0,
                  label=f"{dim} per session, -1 (bottom) to +1 (top): {_range(series[dim], 2)}; dashed line: 0",
                  width=160, height=16, gutter=20, ticks=[(dim[0].upper(), 0.0, _VAD_COLOURS[dim])])
        for dim in VAD)


def _rows(frame: pd.DataFrame, trends: pd.DataFrame) -> list[dict]:
    vad = _vad_series(trends)
    tests = class_test_columns(frame)
    rows = []
    for record in frame.to_dict("records"):
        student_vad = vad.get(record["student_id"])
        rows.append({
            **record,
            "label": record["display_name"] or record["pseudonym"],
            "final": "" if pd.isna(record[TARGET]) else f"{record[TARGET]:.1f}",
            "factors": [_factor(part) for part in record["top_factors"].split("; ") if part],
            "tests_svg": _tests_svg([record[c] for c in tests], record["pass_mark"]),
            "vad_svg": _vad_svg(student_vad) if student_vad else None,
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
    checks: Mapping[str, float] | None = None,
    stem: str = "at_risk_report",
) -> dict[str, Path]:
    """Write `<stem>.csv` and a self-contained `<stem>.html`; return their paths.

    `checks` are what the champion's analysis measured (`tracking.LoadedChampion.checks`):
    its typical error, the at-risk flag's recall and precision, the intervals' coverage.
    The first screen says them in words, so nobody reads a flag without its hit rate.
    """
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
        counts_to_grade=frame.loc[~frame["in_sample"], "band"].value_counts().to_dict(),
        n_students=len(frame),
        rows=_rows(frame, trends),
        vad_colours=_VAD_COLOURS,
        trust=trust_sentences(checks or {}),
        groups={name: text for name, text in GROUP_DESCRIPTIONS.items() if contribution_column(name) in frame.columns},
        vad_words={dim: GROUP_DESCRIPTIONS[dim] for dim in VAD},
        n_in_sample=int(frame["in_sample"].sum()),
        n_to_grade=int((~frame["in_sample"]).sum()),
    )
    paths["html"].write_text(html, encoding="utf-8")
    log.info("wrote report for %d students to %s", len(frame), out)
    return paths
