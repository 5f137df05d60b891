SELECT content_hash,
       -- needs no new pass: a per-student image, or a frame matched under this enrolment (NULL: seats)
       student_id IS NOT NULL OR enrolment_key IS NOT DISTINCT FROM $enrolment_key AS current
FROM images
WHERE cohort = $cohort AND model_version = $model_version
