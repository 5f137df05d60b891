-- Roster, sessions and grades. `cohort` (a class or course run) is part of every key,
-- so several classes can share one store without their student ids colliding.

CREATE TABLE store_meta (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);

-- Per-store secret mixed into pseudonyms, so they cannot be recomputed from ids alone.
INSERT INTO store_meta VALUES
    ('pseudonym_salt', sha256(gen_random_uuid()::VARCHAR || gen_random_uuid()::VARCHAR));

CREATE TABLE students (
    cohort       VARCHAR NOT NULL,
    student_id   VARCHAR NOT NULL,
    consent      BOOLEAN NOT NULL,
    display_name VARCHAR,
    pseudonym    VARCHAR NOT NULL,  -- the only student key that may leave this machine
    PRIMARY KEY (cohort, student_id)
);

CREATE TABLE sessions (
    cohort     VARCHAR NOT NULL,
    session_id VARCHAR NOT NULL,
    held_on    DATE,
    PRIMARY KEY (cohort, session_id)
);

CREATE TABLE gradebook (
    cohort      VARCHAR NOT NULL,
    student_id  VARCHAR NOT NULL,
    gpa         DOUBLE NOT NULL,
    final_grade DOUBLE,  -- NULL for a cohort whose grades are being predicted
    PRIMARY KEY (cohort, student_id)
);

-- Long format: the number of tests differs between courses.
CREATE TABLE test_scores (
    cohort     VARCHAR NOT NULL,
    student_id VARCHAR NOT NULL,
    test_no    INTEGER NOT NULL CHECK (test_no >= 1),
    score      DOUBLE NOT NULL,
    PRIMARY KEY (cohort, student_id, test_no)
);
