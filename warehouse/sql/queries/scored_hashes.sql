SELECT content_hash FROM images WHERE cohort = $cohort AND model_version = $model_version
