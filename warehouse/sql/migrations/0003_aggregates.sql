-- Materialised aggregates, rebuilt by warehouse.aggregates.rebuild_aggregates from the
-- queries of the same name. model_version is part of the key so that re-scoring with
-- a new model never mixes two models' outputs in one figure.
-- p_<expr>_mean: mean probability; share_<expr>: share of faces whose top class it is.

CREATE TABLE agg_student_session (
    cohort           VARCHAR NOT NULL,
    model_version    VARCHAR NOT NULL,
    student_id       VARCHAR NOT NULL,
    session_id       VARCHAR NOT NULL,
    n_faces          BIGINT NOT NULL,
    valence_mean     DOUBLE, valence_std   DOUBLE, valence_min   DOUBLE, valence_max   DOUBLE,
    arousal_mean     DOUBLE, arousal_std   DOUBLE, arousal_min   DOUBLE, arousal_max   DOUBLE,
    dominance_mean   DOUBLE, dominance_std DOUBLE, dominance_min DOUBLE, dominance_max DOUBLE,
    p_neutral_mean   DOUBLE, p_happiness_mean DOUBLE, p_surprise_mean DOUBLE, p_sadness_mean DOUBLE,
    p_anger_mean     DOUBLE, p_disgust_mean   DOUBLE, p_fear_mean     DOUBLE, p_contempt_mean DOUBLE,
    share_neutral    DOUBLE, share_happiness  DOUBLE, share_surprise  DOUBLE, share_sadness   DOUBLE,
    share_anger      DOUBLE, share_disgust    DOUBLE, share_fear      DOUBLE, share_contempt  DOUBLE,
    PRIMARY KEY (cohort, model_version, student_id, session_id)
);

-- Position of each session in its cohort's timeline: the x of every trend.
CREATE VIEW session_order AS
SELECT
    cohort,
    session_id,
    held_on,
    row_number() OVER (PARTITION BY cohort ORDER BY held_on NULLS LAST, session_id) AS session_no
FROM sessions;

-- Slopes: OLS slope of the per-session means against the cohort's session order
-- (held_on, then session_id); NULL with fewer than two sessions.
CREATE TABLE agg_student (
    cohort           VARCHAR NOT NULL,
    model_version    VARCHAR NOT NULL,
    student_id       VARCHAR NOT NULL,
    n_faces          BIGINT NOT NULL,
    n_sessions       BIGINT NOT NULL,
    valence_mean     DOUBLE, valence_std   DOUBLE, valence_min   DOUBLE, valence_max   DOUBLE,
    arousal_mean     DOUBLE, arousal_std   DOUBLE, arousal_min   DOUBLE, arousal_max   DOUBLE,
    dominance_mean   DOUBLE, dominance_std DOUBLE, dominance_min DOUBLE, dominance_max DOUBLE,
    p_neutral_mean   DOUBLE, p_happiness_mean DOUBLE, p_surprise_mean DOUBLE, p_sadness_mean DOUBLE,
    p_anger_mean     DOUBLE, p_disgust_mean   DOUBLE, p_fear_mean     DOUBLE, p_contempt_mean DOUBLE,
    share_neutral    DOUBLE, share_happiness  DOUBLE, share_surprise  DOUBLE, share_sadness   DOUBLE,
    share_anger      DOUBLE, share_disgust    DOUBLE, share_fear      DOUBLE, share_contempt  DOUBLE,
    valence_slope    DOUBLE,
    arousal_slope    DOUBLE,
    dominance_slope  DOUBLE,
    PRIMARY KEY (cohort, model_version, student_id)
);
