-- Per student x session x model: face count, V/A/D spread and expression mix.
-- Only students who (still) consent and are on the latest roster are kept; that filter joins the 3,600-odd groups,
-- not the million faces, which keeps the rebuild fast. $cohort NULL means every cohort.
WITH per_group AS (
    SELECT
        f.cohort,
        f.model_version,
        f.student_id,
        f.session_id,
        count(*)                AS n_faces,
        avg(f.valence)          AS valence_mean,
        stddev_samp(f.valence)  AS valence_std,
        min(f.valence)          AS valence_min,
        max(f.valence)          AS valence_max,
        avg(f.arousal)          AS arousal_mean,
        stddev_samp(f.arousal)  AS arousal_std,
        min(f.arousal)          AS arousal_min,
        max(f.arousal)          AS arousal_max,
        avg(f.dominance)        AS dominance_mean,
        stddev_samp(f.dominance) AS dominance_std,
        min(f.dominance)        AS dominance_min,
        max(f.dominance)        AS dominance_max,
        avg(f.p_neutral)        AS p_neutral_mean,
        avg(f.p_happiness)      AS p_happiness_mean,
        avg(f.p_surprise)       AS p_surprise_mean,
        avg(f.p_sadness)        AS p_sadness_mean,
        avg(f.p_anger)          AS p_anger_mean,
        avg(f.p_disgust)        AS p_disgust_mean,
        avg(f.p_fear)           AS p_fear_mean,
        avg(f.p_contempt)       AS p_contempt_mean,
        avg((f.expression = 'neutral')::DOUBLE)   AS share_neutral,
        avg((f.expression = 'happiness')::DOUBLE) AS share_happiness,
        avg((f.expression = 'surprise')::DOUBLE)  AS share_surprise,
        avg((f.expression = 'sadness')::DOUBLE)   AS share_sadness,
        avg((f.expression = 'anger')::DOUBLE)     AS share_anger,
        avg((f.expression = 'disgust')::DOUBLE)   AS share_disgust,
        avg((f.expression = 'fear')::DOUBLE)      AS share_fear,
        avg((f.expression = 'contempt')::DOUBLE)  AS share_contempt
    FROM face_observations AS f
    WHERE $cohort IS NULL OR f.cohort = $cohort
    GROUP BY f.cohort, f.model_version, f.student_id, f.session_id
)
SELECT g.*
FROM per_group AS g
JOIN students AS s
    ON s.cohort = g.cohort AND s.student_id = g.student_id AND s.consent AND s.on_roster
ORDER BY g.cohort, g.model_version, g.student_id, g.session_id
