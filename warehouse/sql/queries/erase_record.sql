-- Remember that this student was erased from this cohort (hash only; see 0004_erasures.sql).
INSERT INTO erased_students (cohort, id_hash)
VALUES ($cohort, erasure_key($cohort, $student_id))
ON CONFLICT DO NOTHING
