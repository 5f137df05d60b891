SELECT student_id, test_no, score
FROM test_scores
WHERE cohort = $cohort
ORDER BY student_id, test_no
