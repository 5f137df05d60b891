-- Frames matched again under a new enrolment: their old rows go, in the same transaction
-- as the new ones arrive, so a crash leaves either the old match or the new one. The
-- faces first; then load_replace_images drops the image rows.
DELETE FROM face_observations
WHERE cohort = $cohort AND (content_hash, model_version) IN (SELECT content_hash, model_version FROM _replace_in)
