-- Images of this batch (one per key): whether already stored, how many faces, and why
-- (if at all) the image is rejected. An image is stored whole or not at all.
CREATE OR REPLACE TEMP TABLE _stage_images AS
WITH batch AS (
    SELECT DISTINCT ON (content_hash, model_version) *
    FROM _images_in
),
face_check AS (
    SELECT content_hash, model_version, count(*) AS n_faces, count(face_reason) AS n_rejected
    FROM _stage_faces
    GROUP BY content_hash, model_version
)
SELECT
    b.*,
    coalesce(fc.n_faces, 0) AS n_faces,
    CASE
        WHEN s.session_id IS NULL THEN 'unknown_session'
        WHEN b.student_id IS NOT NULL AND st.student_id IS NULL THEN 'unknown_student'
        WHEN b.student_id IS NOT NULL AND NOT st.consent THEN 'no_consent'
        WHEN b.student_id IS NOT NULL AND NOT st.on_roster THEN 'not_on_roster'
        WHEN fc.n_rejected > 0 THEN 'image_rejected'
    END AS reject_reason,
    old.content_hash IS NOT NULL AS already_loaded
FROM batch AS b
LEFT JOIN face_check AS fc ON fc.content_hash = b.content_hash AND fc.model_version = b.model_version
LEFT JOIN sessions AS s ON s.cohort = $cohort AND s.session_id = b.session_id
LEFT JOIN students AS st ON st.cohort = $cohort AND st.student_id = b.student_id
LEFT JOIN images AS old
    ON old.cohort = $cohort AND old.content_hash = b.content_hash AND old.model_version = b.model_version
