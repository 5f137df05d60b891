-- The pseudonym hashes the store's secret salt with cohort and id (unit separator
-- between parts), so it is stable per store but cannot be recomputed without it.
-- Listed students are on the roster; load_roster_mark then clears on_roster for the rest.
INSERT INTO students BY NAME
SELECT DISTINCT ON (r.student_id)
    $cohort AS cohort,
    r.student_id,
    r.consent,
    r.display_name,
    true AS on_roster,
    left(sha256(m.value || chr(31) || $cohort || chr(31) || r.student_id), 12) AS pseudonym
FROM _roster_in AS r
CROSS JOIN (SELECT value FROM store_meta WHERE key = 'pseudonym_salt') AS m
ON CONFLICT (cohort, student_id) DO UPDATE SET
    consent = EXCLUDED.consent,
    display_name = EXCLUDED.display_name,
    on_roster = true
