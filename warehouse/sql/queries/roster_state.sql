-- The cohort's students as the intake needs them: who may be scored, who is off the roster.
SELECT student_id, consent, on_roster
FROM students
WHERE cohort = $cohort
ORDER BY student_id
