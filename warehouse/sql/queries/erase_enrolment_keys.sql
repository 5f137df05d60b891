-- The enrolment fingerprints of the cohort's frames were made from the erased student's
-- templates too: drop them with the templates (the next run matches those frames again).
UPDATE images SET enrolment_key = NULL WHERE cohort = $cohort AND enrolment_key IS NOT NULL
