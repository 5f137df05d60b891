-- Which ids of the registered frame _ids_in (student_id) were erased from $cohort.
SELECT DISTINCT i.student_id
FROM _ids_in AS i
JOIN erased_students AS e
  ON e.cohort = $cohort AND e.id_hash = erasure_key($cohort, i.student_id)
