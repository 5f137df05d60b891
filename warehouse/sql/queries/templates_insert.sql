INSERT INTO enrolment_templates (cohort, student_id, content_hash, model, template)
SELECT DISTINCT ON (student_id, content_hash) $cohort, student_id, content_hash, $model, template
FROM _templates_in
ON CONFLICT DO NOTHING
