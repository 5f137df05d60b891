-- Right to erasure (GDPR Art. 17): warehouse.erase.forget_student deletes every row about
-- a student and records here only a salted hash of (cohort, student_id) and when, so a
-- later load of the same roster or gradebook skips them instead of bringing them back.
-- The hash uses the store's pseudonym salt with its own label, so it is not the
-- pseudonym (which MLflow may have seen) and cannot be recomputed without this file.

CREATE MACRO erasure_key(cohort, student_id) AS (
    SELECT sha256(value || chr(31) || 'erased' || chr(31) || cohort || chr(31) || student_id)
    FROM store_meta
    WHERE key = 'pseudonym_salt'
);

CREATE TABLE erased_students (
    cohort    VARCHAR NOT NULL,
    id_hash   VARCHAR NOT NULL,  -- erasure_key(cohort, student_id); the id itself is never kept
    erased_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (cohort, id_hash)
);
