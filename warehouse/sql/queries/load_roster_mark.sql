-- Each run's roster is the truth for that run: students of the cohort it no longer
-- lists stay stored (until erased) but are left out of analyses. Returns how many.
UPDATE students SET on_roster = false
WHERE cohort = $cohort
  AND on_roster
  AND student_id NOT IN (SELECT student_id FROM _roster_in)
