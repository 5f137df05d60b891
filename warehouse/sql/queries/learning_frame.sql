-- One row per graded student; test scores are pivoted wide in Python (their number varies).
SELECT g.student_id, s.pseudonym, g.gpa, g.final_grade
FROM gradebook AS g
LEFT JOIN students AS s ON s.cohort = g.cohort AND s.student_id = g.student_id
WHERE g.cohort = $cohort
ORDER BY g.student_id
