-- Enrolment templates (identity = "enrolment"): one face embedding per enrolment photo of a
-- consenting student, so that faces in classroom frames can be matched to students.
-- They are biometric templates: kept only here, never in MLflow, reports, logs or run
-- summaries; `vadgrade forget` deletes them with the student's other rows, and each
-- ingest replaces the cohort's set with the current consenting students' photos.
CREATE TABLE enrolment_templates (
    cohort       VARCHAR NOT NULL,
    student_id   VARCHAR NOT NULL,
    content_hash VARCHAR NOT NULL,  -- sha256 of the enrolment photo
    model        VARCHAR NOT NULL,  -- affect.identity.EMBEDDING_MODEL
    template     BLOB NOT NULL,     -- 128 little-endian float32
    enrolled_at  TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (cohort, student_id, content_hash, model)
);
