DROP TABLE IF EXISTS _stage_faces;
DROP TABLE IF EXISTS _stage_images;
