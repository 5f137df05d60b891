"""A synthetic cohort with a known answer, for tests, benchmarks and the sample data.

Real grade data cannot ship with the project, and a test of "affect features help"
is only meaningful when we know whether they should. This generator plants (or
withholds) that signal on purpose, at a stated size.

Latent model (per student i, session s = 1..S, test k = 1..K):

    ability      a_i ~ N(0, 1)          drives GPA, class tests and the final grade
    growth       g_i ~ N(0, 1)          a learning trend across the term's class tests
    engagement   e_i ~ N(0, 1)          the affect trait; independent of a_i and g_i

    gpa_i        = clip(2.9 + 0.45 a_i + N(0, 0.3), 0, 4)
    test_ik      = clip(62 + 12 a_i + 1.2 g_i (k - (K+1)/2) + N(0, 7), 0, 100)
    valence_is   = tanh(0.55 e_i + m_s + N(0, 0.35))           m_s: a shared session mood
    arousal_is   = tanh(0.40 e_i + 0.5 m_s + N(0, 0.35))
    dominance_is = tanh(0.30 e_i + N(0, 0.35))
    final_i      = clip(62 + 12 a_i + 4 g_i + affect_effect * e_i + N(0, 5), 0, 100)

Calibration (a linear fit on 200,000 generated students): at affect_effect = 3 (the
demo), GPA and the tests explain 79 % of the final grade's variance (83 % at 0; real
gradebooks with term grades sit near 80 %), sd(final) ~ 13.9 and ~19 % of students
end below 50. `affect_effect` is in grade points per SD of engagement: at 3, engagement
correlates r ~ 0.21 with the final grade and, were it measured perfectly, would add
0.05 to R² beyond learning, an MSE reduction of at most affect_effect² = 9.

Expression probabilities per session are a softmax over fixed linear scores of
(valence, arousal, dominance), so `emo_share_<expression>` also reflect e_i.
Because e_i is independent of ability and growth, it reaches the final grade only
through the affect features: with `affect_effect=0` they carry no information
about the grade.

Realistic gaps: ~3 % of test scores are missing, ~10 % of students have no emotion
rows at all, and ~8 % of (student, session) observations are absent (no face seen).
Absence is random: attendance carries no planted signal, so the +attendance step of
a comparison is a built-in null.

`face_observations` turns the per-session moods into per-face extractor output (a
noisy reading of each face) and `through_warehouse` loads it with the cohort into an
in-memory DuckDB and reads the features back with the warehouse's own SQL, so tests
and benchmarks can evaluate on exactly the features the pipeline builds.
"""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

import warehouse
from affect.schema import BOX_COLUMNS, EXPRESSIONS, PROB_COLUMNS, STATUS_OK, VAD

FINAL_NOISE_SD = 5.0
# Per-face reading noise of `face_observations`, added before tanh (atanh of the intended
# mood + N(0, sd)), so readings stay inside (-1, 1) without piling up at the ends. The
# shipped extractor reads the demo's generated faces with per-face r = 0.64 (valence) and
# 0.52 (arousal) against the intended session mood (benchmarks/sample_faces.py); 0.8
# gives 0.60 and 0.53.
READING_NOISE_SD = 0.8

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

    Mirrors what the warehouse aggregates: sessions seen (one observation each, so
    `emo_n_faces` equals `emo_n_sessions` here), mean, std and slope across sessions
    for each VAD dimension, plus the mean share of each expression.
    """
    rows = []
    for student_id, group in trends.sort_values("session_order").groupby("student_id", sort=True):
        order = group["session_order"].to_numpy(dtype=float)
        row: dict[str, object] = {"student_id": student_id, "emo_n_faces": len(group), "emo_n_sessions": len(group)}
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
    affect_effect: float = 3.0,
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
    final = 62 + 12 * ability + 4 * growth + affect_effect * engagement + rng.normal(0, FINAL_NOISE_SD, n_students)
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


def face_observations(trends: pd.DataFrame, *, faces_per_session: int = 3, reading_noise: float = READING_NOISE_SD,
                      seed: int = 0, model_version: str = "synthetic") -> tuple[pd.DataFrame, pd.DataFrame]:
    """(faces, images) as `affect.extract` + intake would hand them to `warehouse.load_observations`.

    Each observed (student, session) of `trends` gets `faces_per_session` crops; each
    crop's V/A/D is tanh(atanh(intended session mood) + N(0, reading_noise)), an
    imperfect extractor, and its expression probabilities follow from that reading.
    """
    rng = np.random.default_rng(seed)
    rows = trends.loc[trends.index.repeat(faces_per_session)].reset_index(drop=True)
    face_no = np.tile(np.arange(faces_per_session), len(trends)).astype(str)
    intended = np.arctanh(np.clip(rows[list(VAD)].to_numpy(dtype=float), -0.999, 0.999))
    vad = np.tanh(intended + rng.normal(0, reading_noise, intended.shape))
    probs = _expression_probabilities(vad)
    source = rows["session_id"] + "/" + rows["student_id"] + "/" + face_no + ".png"
    faces = pd.DataFrame({
        "content_hash": [hashlib.sha256(f"{model_version}:{path}".encode()).hexdigest() for path in source],
        "model_version": model_version, "source": source, "face_idx": 0,
        "session_id": rows["session_id"], "student_id": rows["student_id"],
        **dict(zip(BOX_COLUMNS, (0.0, 0.0, 48.0, 48.0))), "det_score": 1.0,
        **{dim: vad[:, j] for j, dim in enumerate(VAD)},
        **{column: probs[:, j] for j, column in enumerate(PROB_COLUMNS)},
        "expression": np.asarray(EXPRESSIONS)[probs.argmax(axis=1)], "status": STATUS_OK, "reason": None,
    })
    images = faces[["content_hash", "model_version", "session_id", "student_id", "source", "status", "reason"]]
    return faces, images


def through_warehouse(learning: pd.DataFrame, faces: pd.DataFrame, images: pd.DataFrame, *,
                      cohort: str = "synthetic") -> tuple[pd.DataFrame, pd.DataFrame]:
    """(learning_frame, emotion_features) as the warehouse's SQL builds them from a generated cohort.

    Everyone consents; sessions are the ones with images, ordered by id. An in-memory
    DuckDB, so nothing is written to disk.
    """
    con = warehouse.connect(":memory:")
    try:
        warehouse.load_roster(con, cohort, pd.DataFrame({"student_id": learning["student_id"], "consent": True}))
        warehouse.load_sessions(con, cohort, pd.DataFrame({"session_id": sorted(set(images["session_id"]))}))
        warehouse.load_gradebook(con, cohort, learning.drop(columns="pseudonym"))
        warehouse.load_observations(con, cohort, faces, images)
        warehouse.rebuild_aggregates(con, cohort)
        return warehouse.learning_frame(con, cohort), warehouse.emotion_features(con, cohort)
    finally:
        con.close()
