-- Drop every template of the cohort that is not in this run's enrolment (_templates_in):
-- students no longer consenting or enrolled, photos removed, other models.
DELETE FROM enrolment_templates AS t
WHERE t.cohort = $cohort
  AND NOT EXISTS (
      SELECT 1 FROM _templates_in AS i
      WHERE i.student_id = t.student_id AND i.content_hash = t.content_hash AND $model = t.model
  )
