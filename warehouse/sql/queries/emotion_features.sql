SELECT * EXCLUDE (cohort, model_version)
FROM agg_student
WHERE cohort = $cohort AND model_version = $model_version
ORDER BY student_id
