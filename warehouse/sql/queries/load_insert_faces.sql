INSERT INTO face_observations BY NAME
SELECT f.* EXCLUDE (status, face_reason), $cohort AS cohort
FROM _stage_faces AS f
JOIN _stage_images AS i ON i.content_hash = f.content_hash AND i.model_version = f.model_version
WHERE i.reject_reason IS NULL AND NOT i.already_loaded
