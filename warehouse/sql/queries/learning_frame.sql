-- One row per graded student on the latest roster WITH consent: students without
-- recorded consent, or no longer on the roster, are left out of every analysis and report. Test scores are pivoted wide in
-- Python (their number varies).
SELECT g.student_id, s.pseudonym, g.gpa, g.final_grade
FROM gradebook AS g
JOIN students AS s ON s.cohort = g.cohort AND s.student_id = g.student_id AND s.consent AND s.on_roster
WHERE g.cohort = $cohort
ORDER BY g.student_id
