SELECT
    count(*) FILTER (WHERE already_loaded) AS images_skipped,
    count(*) FILTER (WHERE NOT already_loaded AND reject_reason IS NOT NULL) AS images_rejected
FROM _stage_images
