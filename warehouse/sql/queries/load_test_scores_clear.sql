-- A reloaded student's tests are replaced as a set, so no stale test survives.
DELETE FROM test_scores
WHERE cohort = $cohort
  AND student_id IN (SELECT student_id FROM _gradebook_in)
