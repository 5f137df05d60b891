SELECT DISTINCT model_version
FROM agg_student
WHERE cohort = $cohort
ORDER BY model_version
