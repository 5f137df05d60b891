-- Scoring results. A (content_hash, model_version) pair is scored once: re-loading it
-- is a no-op, and a pipeline resuming after a crash skips what is already here.
-- Face columns follow affect.schema (BOX_COLUMNS, VAD, PROB_COLUMNS); a test checks it.

CREATE TABLE images (
    content_hash  VARCHAR NOT NULL,
    model_version VARCHAR NOT NULL,
    cohort        VARCHAR NOT NULL,
    session_id    VARCHAR NOT NULL,
    student_id    VARCHAR,  -- NULL when the image is not tied to one student
    source        VARCHAR,
    status        VARCHAR NOT NULL,  -- affect.schema STATUS_*: ok, no_face, error
    reason        VARCHAR,
    n_faces       INTEGER NOT NULL,
    loaded_at     TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (content_hash, model_version)
);

CREATE TABLE face_observations (
    content_hash  VARCHAR NOT NULL,
    model_version VARCHAR NOT NULL,
    face_idx      INTEGER NOT NULL,
    cohort        VARCHAR NOT NULL,
    session_id    VARCHAR NOT NULL,
    student_id    VARCHAR NOT NULL,
    box_x         DOUBLE,
    box_y         DOUBLE,
    box_w         DOUBLE,
    box_h         DOUBLE,
    det_score     DOUBLE,
    valence       DOUBLE NOT NULL,
    arousal       DOUBLE NOT NULL,
    dominance     DOUBLE NOT NULL,
    p_neutral     DOUBLE NOT NULL,
    p_happiness   DOUBLE NOT NULL,
    p_surprise    DOUBLE NOT NULL,
    p_sadness     DOUBLE NOT NULL,
    p_anger       DOUBLE NOT NULL,
    p_disgust     DOUBLE NOT NULL,
    p_fear        DOUBLE NOT NULL,
    p_contempt    DOUBLE NOT NULL,
    expression    VARCHAR NOT NULL,
    PRIMARY KEY (content_hash, model_version, face_idx)
);
