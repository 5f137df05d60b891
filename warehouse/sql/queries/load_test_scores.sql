-- Wide test_01..test_NN columns to one row per test; blank scores are not stored.
INSERT INTO test_scores BY NAME
SELECT
    $cohort AS cohort,
    student_id,
    CAST(regexp_extract(test, '\d+') AS INTEGER) AS test_no,
    score
FROM (
    UNPIVOT (SELECT DISTINCT ON (student_id) * FROM _gradebook_in)
    ON COLUMNS('^test_\d+$')
    INTO NAME test VALUE score
)
