-- The cohort's enrolment templates of one embedding model, per student and photo.
SELECT student_id, content_hash, template
FROM enrolment_templates
WHERE cohort = $cohort AND model = $model
ORDER BY student_id, content_hash
