-- One row per observation not stored: each face of a rejected image, or the image
-- itself (face_idx NULL) when it had no scored face. A face's own reason wins;
-- otherwise it carries the image's.
SELECT
    i.content_hash,
    i.model_version,
    f.frame_time_s,
    f.face_idx,
    coalesce(f.student_id, i.student_id) AS student_id,
    coalesce(f.session_id, i.session_id) AS session_id,
    coalesce(f.face_reason, i.reject_reason) AS reason
FROM _stage_images AS i
LEFT JOIN _stage_faces AS f ON f.content_hash = i.content_hash AND f.model_version = i.model_version
WHERE i.reject_reason IS NOT NULL AND NOT i.already_loaded
ORDER BY i.content_hash, i.model_version, f.frame_time_s, f.face_idx
