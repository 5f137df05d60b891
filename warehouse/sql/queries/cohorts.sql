-- Every cohort known to the store, with how much of each kind of data it has.
WITH names AS (
    SELECT cohort FROM students
    UNION SELECT cohort FROM gradebook
    UNION SELECT cohort FROM sessions
)
SELECT
    n.cohort,
    (SELECT count(*) FROM students AS s WHERE s.cohort = n.cohort) AS n_students,
    (SELECT count(*) FROM students AS s WHERE s.cohort = n.cohort AND s.consent) AS n_consented,
    (SELECT count(*) FROM gradebook AS g WHERE g.cohort = n.cohort) AS n_graded,
    (SELECT count(*) FROM sessions AS x WHERE x.cohort = n.cohort) AS n_sessions,
    (SELECT count(*) FROM face_observations AS f WHERE f.cohort = n.cohort) AS n_faces
FROM names AS n
ORDER BY n.cohort
