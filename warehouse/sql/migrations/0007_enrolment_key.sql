-- Which enrolment matched a frame's faces (identity = "enrolment"): a fingerprint of the
-- enrolled students' templates (affect.matching.Enrolment.key), NULL for frames matched
-- to seats and for per-student images. When the enrolment changes (a student enrols
-- late, changes photos or withdraws), frames stored under another key are matched again,
-- so a late student is found in the frames from before and a withdrawn one leaves them.
ALTER TABLE images ADD COLUMN enrolment_key VARCHAR;
