DELETE FROM images
WHERE cohort = $cohort AND (content_hash, model_version) IN (SELECT content_hash, model_version FROM _replace_in)
