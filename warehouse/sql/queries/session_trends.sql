SELECT
    a.student_id,
    a.session_id,
    o.held_on,
    o.session_no,
    a.n_faces,
    a.valence_mean,
    a.arousal_mean,
    a.dominance_mean
FROM agg_student_session AS a
JOIN session_order AS o ON o.cohort = a.cohort AND o.session_id = a.session_id
WHERE a.cohort = $cohort AND a.model_version = $model_version
ORDER BY a.student_id, o.session_no
