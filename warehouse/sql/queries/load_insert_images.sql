INSERT INTO images BY NAME
SELECT content_hash, model_version, $cohort AS cohort, session_id, student_id, source, status, reason, n_faces,
       enrolment_key
FROM _stage_images
WHERE reject_reason IS NULL AND NOT already_loaded
