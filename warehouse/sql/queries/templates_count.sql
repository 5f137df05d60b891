SELECT count(*) FROM enrolment_templates WHERE cohort = $cohort
