import numpy as np

from academic.synthetic import make_cohort


def test_shapes_and_columns():
    learning, emotion, trends = make_cohort(40, n_tests=8, n_sessions=6, seed=3, unlabelled_fraction=0.25)
    assert list(learning.columns) == ["student_id", "pseudonym", "gpa",
                                      *[f"test_{k:02d}" for k in range(1, 9)], "final_grade"]
    assert learning["student_id"].is_unique and learning["pseudonym"].is_unique
    assert learning["final_grade"].isna().any() and learning["final_grade"].notna().any()
    assert learning["gpa"].between(0, 4).all()
    assert list(trends.columns) == ["student_id", "session_id", "session_order", "valence", "arousal", "dominance"]
    assert trends[["valence", "arousal", "dominance"]].abs().le(1).all().all()
    assert trends["session_order"].between(1, 6).all()
    assert emotion.columns[0] == "student_id"
    assert all(c.startswith("emo_") for c in emotion.columns[1:])
    assert {"emo_valence_mean", "emo_valence_std", "emo_valence_slope", "emo_share_happiness"} <= set(emotion.columns)
    # Some students have no emotion rows at all, as in a real classroom.
    assert len(emotion) < len(learning)


def test_same_seed_same_cohort():
    first, second = make_cohort(30, seed=11), make_cohort(30, seed=11)
    for a, b in zip(first, second):
        assert a.equals(b)


def test_emotion_effect_zero_leaves_grade_unrelated_to_affect():
    learning, emotion, _ = make_cohort(400, emotion_effect=0.0, seed=1)
    merged = learning.merge(emotion, on="student_id")
    # Valence is driven by engagement, which with effect 0 does not reach the grade.
    assert abs(np.corrcoef(merged["emo_valence_mean"], merged["final_grade"])[0, 1]) < 0.15

    learning, emotion, _ = make_cohort(400, emotion_effect=1.0, seed=1)
    merged = learning.merge(emotion, on="student_id")
    assert np.corrcoef(merged["emo_valence_mean"], merged["final_grade"])[0, 1] > 0.3
