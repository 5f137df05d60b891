INSERT INTO sessions BY NAME
SELECT DISTINCT ON (session_id)
    $cohort AS cohort, session_id, CAST(held_on AS DATE) AS held_on
FROM _sessions_in
ON CONFLICT (cohort, session_id) DO UPDATE SET
    held_on = EXCLUDED.held_on
