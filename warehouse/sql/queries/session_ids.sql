SELECT session_id FROM sessions WHERE cohort = $cohort ORDER BY session_id
