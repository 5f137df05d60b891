-- The pseudonyms of $student_id (in $cohort, or in every cohort when NULL): local reports
-- and exports name students by them, so erasure must find those rows before the roster row goes.
SELECT DISTINCT pseudonym
FROM students
WHERE student_id = $student_id
  AND ($cohort IS NULL OR cohort = $cohort)
ORDER BY pseudonym
