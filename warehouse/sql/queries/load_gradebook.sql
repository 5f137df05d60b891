INSERT INTO gradebook BY NAME
SELECT DISTINCT ON (student_id)
    $cohort AS cohort, student_id, gpa, final_grade
FROM _gradebook_in
ON CONFLICT (cohort, student_id) DO UPDATE SET
    gpa = EXCLUDED.gpa,
    final_grade = EXCLUDED.final_grade
