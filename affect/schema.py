"""Column names shared by everything that reads or writes face observations.

`affect.extract` produces a plain DataFrame with exactly these columns; the warehouse
and the academic features refer to the same constants, so a rename happens in one place.
"""
from __future__ import annotations

# FERPlus vote order (label.csv columns 2..9); the product's expression classes.
EXPRESSIONS: tuple[str, ...] = (
    "neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt",
)
# FER2013 codes 0..6 -> FERPlus class names (contempt has no FER2013 code).
FER2013_TO_FERPLUS: tuple[str, ...] = (
    "anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral",
)
# Other spellings of the classes (FER2013 names, folder names) -> EXPRESSIONS.
CATEGORY_ALIASES: dict[str, str] = {
    "happy": "happiness", "sad": "sadness", "angry": "anger", "surprised": "surprise",
    "fearful": "fear", "disgusted": "disgust",
}
VAD: tuple[str, ...] = ("valence", "arousal", "dominance")
PROB_COLUMNS: tuple[str, ...] = tuple(f"p_{name}" for name in EXPRESSIONS)
BOX_COLUMNS: tuple[str, ...] = ("box_x", "box_y", "box_w", "box_h")

# Row status of one extraction result: every input image yields at least one row.
STATUS_OK = "ok"            # a face was scored
STATUS_NO_FACE = "no_face"  # the image decoded but no face was found
STATUS_ERROR = "error"      # the file could not be decoded (reason says why)
# With an enrolment (affect.identity): a face that matched no enrolled student. Its row
# carries no box and no scores; the face was dropped unscored, only counted.
STATUS_UNMATCHED = "unmatched"

# Files affect.extract accepts: folder walks (the CLI, the warehouse intake) use these.
IMAGE_SUFFIXES: frozenset[str] = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
VIDEO_SUFFIXES: frozenset[str] = frozenset({".mp4", ".avi", ".mov", ".mkv"})
# Photos per enrolled student (identity = "enrolment"): the intake counts them by name,
# affect.matching calibrates each student's threshold from them.
MIN_PHOTOS, MAX_PHOTOS = 2, 5

FACE_COLUMNS: tuple[str, ...] = (
    "source",          # path (or caller-given name) of the input image or video
    "frame_time_s",    # seconds into the video of the sampled frame; NaN for still images
    "face_idx",        # 0.. within the image or frame; -1 when no face was scored
    *BOX_COLUMNS,      # pixel box in the (EXIF-rotated) image or frame
    "det_score",       # YuNet's confidence (for crops: its best score for a face in the crop, or the
                       # face probability of a network with a face output, affect.distil)
    *VAD,              # each in [-1, 1]
    *PROB_COLUMNS,     # softmax over EXPRESSIONS, sums to 1
    "expression",      # argmax of PROB_COLUMNS
    "model_version",
    "status",
    "reason",
)

# Added to FACE_COLUMNS when faces are matched to an enrolment (affect.identity).
IDENTITY_COLUMNS: tuple[str, ...] = (
    "student_id",      # the enrolled student the face matched; empty when nobody
    "match_distance",  # embedding distance to that student (to the nearest one when unmatched)
)
