-- Per student x session mean V/A/D in session order: the report's trend lines.
-- Column names follow the academic contract (session_order, valence, arousal, dominance).
SELECT
    a.student_id,
    a.session_id,
    o.held_on,
    o.session_no AS session_order,
    a.n_faces,
    a.valence_mean AS valence,
    a.arousal_mean AS arousal,
    a.dominance_mean AS dominance
FROM agg_student_session AS a
JOIN session_order AS o ON o.cohort = a.cohort AND o.session_id = a.session_id
WHERE a.cohort = $cohort AND a.model_version = $model_version
ORDER BY a.student_id, o.session_no
