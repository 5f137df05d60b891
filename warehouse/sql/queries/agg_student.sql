-- Per student x model, built from agg_student_session (dbt-style ref: rebuild that
-- first), so the million faces are scanned once. Spread over all of a student's faces
-- is recombined exactly from the per-session count/mean/std (Chan et al.'s pooled
-- sum of squares); min/max, probability means and shares combine by count.
-- Trends: OLS slope of the per-session means against session_order.session_no
-- (held_on, then session_id, within the cohort), so missed sessions keep true spacing.
WITH sessions_of AS (
    SELECT
        a.*,
        o.session_no,
        sum(a.n_faces) OVER student AS student_faces,
        sum(a.n_faces * a.valence_mean) OVER student / sum(a.n_faces) OVER student AS student_valence,
        sum(a.n_faces * a.arousal_mean) OVER student / sum(a.n_faces) OVER student AS student_arousal,
        sum(a.n_faces * a.dominance_mean) OVER student / sum(a.n_faces) OVER student AS student_dominance
    FROM agg_student_session AS a
    JOIN session_order AS o ON o.cohort = a.cohort AND o.session_id = a.session_id
    WHERE $cohort IS NULL OR a.cohort = $cohort
    WINDOW student AS (PARTITION BY a.cohort, a.model_version, a.student_id)
)
SELECT
    cohort,
    model_version,
    student_id,
    sum(n_faces)::BIGINT AS n_faces,
    count(*)      AS n_sessions,
    any_value(student_valence) AS valence_mean,
    sqrt((sum(coalesce(valence_std, 0) ^ 2 * (n_faces - 1)) + sum(n_faces * (valence_mean - student_valence) ^ 2))
         / nullif(sum(n_faces) - 1, 0)) AS valence_std,
    min(valence_min) AS valence_min,
    max(valence_max) AS valence_max,
    any_value(student_arousal) AS arousal_mean,
    sqrt((sum(coalesce(arousal_std, 0) ^ 2 * (n_faces - 1)) + sum(n_faces * (arousal_mean - student_arousal) ^ 2))
         / nullif(sum(n_faces) - 1, 0)) AS arousal_std,
    min(arousal_min) AS arousal_min,
    max(arousal_max) AS arousal_max,
    any_value(student_dominance) AS dominance_mean,
    sqrt((sum(coalesce(dominance_std, 0) ^ 2 * (n_faces - 1)) + sum(n_faces * (dominance_mean - student_dominance) ^ 2))
         / nullif(sum(n_faces) - 1, 0)) AS dominance_std,
    min(dominance_min) AS dominance_min,
    max(dominance_max) AS dominance_max,
    sum(n_faces * p_neutral_mean) / sum(n_faces)   AS p_neutral_mean,
    sum(n_faces * p_happiness_mean) / sum(n_faces) AS p_happiness_mean,
    sum(n_faces * p_surprise_mean) / sum(n_faces)  AS p_surprise_mean,
    sum(n_faces * p_sadness_mean) / sum(n_faces)   AS p_sadness_mean,
    sum(n_faces * p_anger_mean) / sum(n_faces)     AS p_anger_mean,
    sum(n_faces * p_disgust_mean) / sum(n_faces)   AS p_disgust_mean,
    sum(n_faces * p_fear_mean) / sum(n_faces)      AS p_fear_mean,
    sum(n_faces * p_contempt_mean) / sum(n_faces)  AS p_contempt_mean,
    sum(n_faces * share_neutral) / sum(n_faces)    AS share_neutral,
    sum(n_faces * share_happiness) / sum(n_faces)  AS share_happiness,
    sum(n_faces * share_surprise) / sum(n_faces)   AS share_surprise,
    sum(n_faces * share_sadness) / sum(n_faces)    AS share_sadness,
    sum(n_faces * share_anger) / sum(n_faces)      AS share_anger,
    sum(n_faces * share_disgust) / sum(n_faces)    AS share_disgust,
    sum(n_faces * share_fear) / sum(n_faces)       AS share_fear,
    sum(n_faces * share_contempt) / sum(n_faces)   AS share_contempt,
    regr_slope(valence_mean, session_no)   AS valence_slope,
    regr_slope(arousal_mean, session_no)   AS arousal_slope,
    regr_slope(dominance_mean, session_no) AS dominance_slope
FROM sessions_of
GROUP BY cohort, model_version, student_id
ORDER BY cohort, model_version, student_id
