-- Scored faces of this batch (one per key) with the reason each may not be stored.
CREATE OR REPLACE TEMP TABLE _stage_faces AS
SELECT
    f.*,
    CASE
        WHEN s.session_id IS NULL THEN 'unknown_session'
        WHEN st.student_id IS NULL THEN 'unknown_student'
        WHEN NOT st.consent THEN 'no_consent'
        WHEN NOT st.on_roster THEN 'not_on_roster'
    END AS face_reason
FROM (
    SELECT DISTINCT ON (content_hash, model_version, frame_time_s, face_idx) *
    FROM _faces_in
    WHERE status = 'ok' AND face_idx >= 0
) AS f
LEFT JOIN sessions AS s ON s.cohort = $cohort AND s.session_id = f.session_id
LEFT JOIN students AS st ON st.cohort = $cohort AND st.student_id = f.student_id
