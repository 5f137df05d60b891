-- Several cohorts share one store: an image's identity is (cohort, content_hash,
-- model_version), so the same photo in two classes is scored and stored for each.
-- (Before this, the key lacked the cohort and a second cohort's identical image was
-- silently skipped.) Faces also carry the time of their video frame, 0 for a photo:
-- a video's faces are keyed by its content hash plus that time.
-- `students.on_roster`: false for a student kept in the store whose cohort's latest
-- roster no longer lists them; they are left out of analyses until listed again or
-- erased (their stored rows stay until `vadgrade forget`).

ALTER TABLE students ADD COLUMN on_roster BOOLEAN NOT NULL DEFAULT true;

CREATE TABLE images_v5 (
    cohort        VARCHAR NOT NULL,
    content_hash  VARCHAR NOT NULL,
    model_version VARCHAR NOT NULL,
    session_id    VARCHAR NOT NULL,
    student_id    VARCHAR,  -- NULL when the image is not tied to one student
    source        VARCHAR,
    status        VARCHAR NOT NULL,  -- affect.schema STATUS_*: ok, no_face, error
    reason        VARCHAR,
    n_faces       INTEGER NOT NULL,
    loaded_at     TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (cohort, content_hash, model_version)
);
INSERT INTO images_v5 BY NAME SELECT * FROM images;
DROP TABLE images;
ALTER TABLE images_v5 RENAME TO images;

CREATE TABLE face_observations_v5 (
    cohort        VARCHAR NOT NULL,
    content_hash  VARCHAR NOT NULL,
    model_version VARCHAR NOT NULL,
    frame_time_s  DOUBLE NOT NULL DEFAULT 0,  -- seconds into a video; 0 for a photo
    face_idx      INTEGER NOT NULL,
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
    PRIMARY KEY (cohort, content_hash, model_version, frame_time_s, face_idx)
);
INSERT INTO face_observations_v5 BY NAME SELECT * FROM face_observations;
DROP TABLE face_observations;
ALTER TABLE face_observations_v5 RENAME TO face_observations;
