SELECT content_hash FROM images WHERE model_version = $1
