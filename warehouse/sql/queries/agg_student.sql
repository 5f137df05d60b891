-- Per student x model: the same statistics over all of the student's faces, plus the
-- OLS slope of the per-session means against session_order.session_no (held_on,
-- then session_id, within the cohort), so a student who missed sessions keeps true spacing.
WITH faces AS (
    SELECT f.*
    FROM face_observations AS f
    JOIN students AS s
        ON s.cohort = f.cohort AND s.student_id = f.student_id AND s.consent
    WHERE $cohort IS NULL OR f.cohort = $cohort
),
session_means AS (
    SELECT cohort, model_version, student_id, session_id,
           avg(valence) AS valence, avg(arousal) AS arousal, avg(dominance) AS dominance
    FROM faces
    GROUP BY cohort, model_version, student_id, session_id
),
trends AS (
    SELECT
        m.cohort, m.model_version, m.student_id,
        count(*)                            AS n_sessions,
        regr_slope(m.valence, o.session_no)   AS valence_slope,
        regr_slope(m.arousal, o.session_no)   AS arousal_slope,
        regr_slope(m.dominance, o.session_no) AS dominance_slope
    FROM session_means AS m
    JOIN session_order AS o ON o.cohort = m.cohort AND o.session_id = m.session_id
    GROUP BY m.cohort, m.model_version, m.student_id
),
overall AS (
    SELECT
        cohort,
        model_version,
        student_id,
        count(*)                AS n_faces,
        avg(valence)            AS valence_mean,
        stddev_samp(valence)    AS valence_std,
        min(valence)            AS valence_min,
        max(valence)            AS valence_max,
        avg(arousal)            AS arousal_mean,
        stddev_samp(arousal)    AS arousal_std,
        min(arousal)            AS arousal_min,
        max(arousal)            AS arousal_max,
        avg(dominance)          AS dominance_mean,
        stddev_samp(dominance)  AS dominance_std,
        min(dominance)          AS dominance_min,
        max(dominance)          AS dominance_max,
        avg(p_neutral)          AS p_neutral_mean,
        avg(p_happiness)        AS p_happiness_mean,
        avg(p_surprise)         AS p_surprise_mean,
        avg(p_sadness)          AS p_sadness_mean,
        avg(p_anger)            AS p_anger_mean,
        avg(p_disgust)          AS p_disgust_mean,
        avg(p_fear)             AS p_fear_mean,
        avg(p_contempt)         AS p_contempt_mean,
        avg((expression = 'neutral')::DOUBLE)   AS share_neutral,
        avg((expression = 'happiness')::DOUBLE) AS share_happiness,
        avg((expression = 'surprise')::DOUBLE)  AS share_surprise,
        avg((expression = 'sadness')::DOUBLE)   AS share_sadness,
        avg((expression = 'anger')::DOUBLE)     AS share_anger,
        avg((expression = 'disgust')::DOUBLE)   AS share_disgust,
        avg((expression = 'fear')::DOUBLE)      AS share_fear,
        avg((expression = 'contempt')::DOUBLE)  AS share_contempt
    FROM faces
    GROUP BY cohort, model_version, student_id
)
SELECT
    overall.*,
    trends.n_sessions,
    trends.valence_slope,
    trends.arousal_slope,
    trends.dominance_slope
FROM overall
JOIN trends
    ON trends.cohort = overall.cohort
   AND trends.model_version = overall.model_version
   AND trends.student_id = overall.student_id
ORDER BY overall.cohort, overall.model_version, overall.student_id
