"""A synthetic cohort with a known answer, for tests and the sample data.

Real grade data cannot ship with the project, and a test of "emotion features help"
is only meaningful when we know whether they should. This generator plants (or
withholds) that signal on purpose.

Latent model (per student i, session s = 1..S, test k = 1..K):

    ability      a_i ~ N(0, 1)          drives GPA, class tests and the final grade
    growth       g_i ~ N(0, 1)          a learning trend across the term's class tests
    engagement   e_i ~ N(0, 1)          the affect trait; independent of a_i and g_i

    gpa_i        = clip(2.9 + 0.45 a_i + N(0, 0.3), 0, 4)
    test_ik      = clip(62 + 12 a_i + 1.2 g_i (k - (K+1)/2) + N(0, 7), 0, 100)
    valence_is   = tanh(0.55 e_i + m_s + N(0, 0.35))           m_s: a shared session mood
    arousal_is   = tanh(0.40 e_i + 0.5 m_s + N(0, 0.35))
    dominance_is = tanh(0.30 e_i + N(0, 0.35))
    final_i      = clip(62 + 11 a_i + 4 g_i + 7 * emotion_effect * e_i + N(0, 5), 0, 100)

Expression probabilities per session are a softmax over fixed linear scores of
(valence, arousal, dominance), so `emo_share_<expression>` also reflect e_i.
Because e_i is independent of ability and growth, it reaches the final grade only
through the emotion features: with `emotion_effect=0` they carry no information
about the grade; with `emotion_effect=1` the engagement term has about the same
variance as the ability term left after GPA and tests.

Realistic gaps: ~3 % of test scores are missing, ~10 % of students have no emotion
rows at all, and ~8 % of (student, session) observations are absent (no face seen).
"""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from affect.schema import EXPRESSIONS, VAD

# Expression score = w_v * valence + w_a * arousal + w_d * dominance + bias.
_EXPRESSION_WEIGHTS: dict[str, tuple[float, float, float, float]] = {
    "neutral": (0.0, -1.0, 0.0, 1.0),
    "happiness": (2.5, 0.5, 0.3, 0.0),
    "surprise": (0.3, 2.0, -0.3, -0.8),
    "sadness": (-2.5, -0.8, -0.5, -0.3),
    "anger": (-1.8, 1.5, 0.8, -1.0),
    "disgust": (-1.5, 0.5, 0.3, -1.2),
    "fear": (-1.2, 1.5, -1.0, -1.2),
    "contempt": (-0.8, 0.0, 0.8, -1.5),
}


def pseudonym_for(student_id: str, salt: str) -> str:
    """A stable, non-reversible label for a student (what MLflow and exports may show)."""
    return "anon-" + hashlib.sha256(f"{salt}:{student_id}".encode()).hexdigest()[:10]


def _slope(values: np.ndarray, order: np.ndarray) -> float:
    """Least-squares slope per session, NaN when fewer than three observations."""
    keep = ~np.isnan(values)
    if keep.sum() < 3:
        return float("nan")
    return float(np.polyfit(order[keep], values[keep], 1)[0])


def emotion_features(trends: pd.DataFrame) -> pd.DataFrame:
    """Per-student `emo_` features from per-session VAD and expression shares.

    Mirrors what the warehouse aggregates: mean, std and slope across sessions for
    each VAD dimension, plus the mean share of each expression.
    """
    rows = []
    for student_id, group in trends.sort_values("session_order").groupby("student_id", sort=True):
        order = group["session_order"].to_numpy(dtype=float)
        row: dict[str, object] = {"student_id": student_id}
        for dim in VAD:
            values = group[dim].to_numpy(dtype=float)
            row[f"emo_{dim}_mean"] = float(np.nanmean(values))
            row[f"emo_{dim}_std"] = float(np.nanstd(values, ddof=1)) if len(values) > 1 else float("nan")
            row[f"emo_{dim}_slope"] = _slope(values, order)
        for name in EXPRESSIONS:
            row[f"emo_share_{name}"] = float(group[f"p_{name}"].mean())
        rows.append(row)
    return pd.DataFrame(rows)


def _expression_probabilities(vad: np.ndarray) -> np.ndarray:
    weights = np.array([_EXPRESSION_WEIGHTS[name] for name in EXPRESSIONS])  # (8, 4)
    scores = vad @ weights[:, :3].T + weights[:, 3]
    scores -= scores.max(axis=1, keepdims=True)
    exp = np.exp(scores)
    return exp / exp.sum(axis=1, keepdims=True)


def make_cohort(
    n_students: int = 60,
    n_tests: int = 12,
    n_sessions: int = 12,
    emotion_effect: float = 1.0,
    seed: int = 0,
    *,
    unlabelled_fraction: float = 0.0,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Generate `(learning_df, emotion_df, trends_df)` following the module's latent model.

    `unlabelled_fraction` of students get `final_grade = NaN` (the ones a report predicts).
    """
    rng = np.random.default_rng(seed)
    ids = [f"S{seed:03d}-{i:05d}" for i in range(n_students)]
    ability = rng.normal(size=n_students)
    growth = rng.normal(size=n_students)
    engagement = rng.normal(size=n_students)

    learning = pd.DataFrame({
        "student_id": ids,
        "pseudonym": [pseudonym_for(sid, salt=f"synthetic-{seed}") for sid in ids],
        "gpa": np.clip(2.9 + 0.45 * ability + rng.normal(0, 0.3, n_students), 0, 4).round(2),
    })
    centre = (n_tests + 1) / 2
    for k in range(1, n_tests + 1):
        score = 62 + 12 * ability + 1.2 * growth * (k - centre) + rng.normal(0, 7, n_students)
        score = np.clip(score, 0, 100).round(1)
        score[rng.random(n_students) < 0.03] = np.nan
        learning[f"test_{k:02d}"] = score
    final = 62 + 11 * ability + 4 * growth + 7 * emotion_effect * engagement + rng.normal(0, 5, n_students)
    final = np.clip(final, 0, 100).round(1)
    final[rng.random(n_students) < unlabelled_fraction] = np.nan
    learning["final_grade"] = final

    mood = rng.normal(0, 0.2, n_sessions)
    student_idx, session_idx = np.meshgrid(np.arange(n_students), np.arange(n_sessions), indexing="ij")
    student_idx, session_idx = student_idx.ravel(), session_idx.ravel()
    e, m = engagement[student_idx], mood[session_idx]
    noise = rng.normal(0, 0.35, (len(student_idx), 3))
    vad = np.tanh(np.column_stack([0.55 * e + m, 0.40 * e + 0.5 * m, 0.30 * e]) + noise)
    probs = _expression_probabilities(vad)
    trends = pd.DataFrame({
        "student_id": np.asarray(ids)[student_idx],
        "session_id": [f"session-{s + 1:02d}" for s in session_idx],
        "session_order": session_idx + 1,
        **{dim: vad[:, j].round(4) for j, dim in enumerate(VAD)},
        **{f"p_{name}": probs[:, j].round(4) for j, name in enumerate(EXPRESSIONS)},
    })
    no_emotion = set(np.asarray(ids)[rng.random(n_students) < 0.10])
    observed = ~trends["student_id"].isin(no_emotion) & (rng.random(len(trends)) >= 0.08)
    trends = trends[observed].reset_index(drop=True)

    emotion = emotion_features(trends)
    trends = trends[["student_id", "session_id", "session_order", *VAD]]
    return learning, emotion, trends
