-- Stored images that show $student_id, for deleting their face crops: every face of the
-- student's own images and videos (face_idx NULL), and their own faces in classroom
-- frames and videos (each at its frame time; 0 for a photo).
SELECT DISTINCT source, NULL::DOUBLE AS frame_time_s, NULL::INTEGER AS face_idx
FROM images
WHERE student_id = $student_id
  AND ($cohort IS NULL OR cohort = $cohort)
  AND source IS NOT NULL
UNION
SELECT DISTINCT i.source, f.frame_time_s, f.face_idx
FROM face_observations AS f
JOIN images AS i USING (cohort, content_hash, model_version)
WHERE f.student_id = $student_id
  AND ($cohort IS NULL OR f.cohort = $cohort)
  AND i.student_id IS NULL
  AND i.source IS NOT NULL
ORDER BY ALL
