-- Earlier erasures of $student_id: from $cohort, or from any cohort when $cohort is NULL.
SELECT cohort, erased_at
FROM erased_students
WHERE id_hash = erasure_key(cohort, $student_id)
  AND ($cohort IS NULL OR cohort = $cohort)
ORDER BY cohort
