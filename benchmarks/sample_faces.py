"""Does the shipped extractor recover what the demo faces were generated to show?

Runs `affect.extract` on the demo's per-student crops and classroom frames and compares
with `intended.csv`: the share of faces whose intended category is the top expression
(overall and per category), the Pearson correlation of intended vs extracted valence and
arousal, and, for frames, the share of faces detected and assigned to the right seat
(the detection whose box centre lies in the student's seat of `seat_map.csv`).
Prints one JSON line; everything else goes to logging.

The faces come from a linear generator, not photos: read the figures as a smoke test of
the whole path (decode, detect, seat, score), not as the extractor's accuracy.
"""
from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from affect import extract
from affect.schema import EXPRESSIONS, STATUS_OK, VAD
from affect.weights import load_model

log = logging.getLogger("benchmarks.sample_faces")
DEMO = Path(__file__).resolve().parents[1] / "sample_data" / "demo"


def seat_of(faces: pd.DataFrame, seats: pd.DataFrame) -> pd.Series:
    """student_id whose seat holds each face's box centre (None outside every seat)."""
    cx = (faces["box_x"] + faces["box_w"] / 2).to_numpy()[:, None]
    cy = (faces["box_y"] + faces["box_h"] / 2).to_numpy()[:, None]
    x, y, w, h = (seats[c].to_numpy()[None, :] for c in ("x", "y", "w", "h"))
    inside = (x <= cx) & (cx < x + w) & (y <= cy) & (cy < y + h)
    ids = seats["student_id"].to_numpy()
    return pd.Series([ids[row.argmax()] if row.any() else None for row in inside], index=faces.index)


def match_crops(intended: pd.DataFrame, scored: pd.DataFrame) -> pd.DataFrame:
    """Intended crop rows joined to their (single) scored face."""
    return intended.merge(scored, on="path", how="inner")


def match_frames(intended: pd.DataFrame, scored: pd.DataFrame, seats: pd.DataFrame) -> pd.DataFrame:
    """Intended frame rows joined to the most confident detection inside the student's seat."""
    scored = scored.assign(student_id=seat_of(scored, seats)).dropna(subset=["student_id"])
    best = scored.sort_values("det_score", ascending=False).drop_duplicates(["path", "student_id"])
    return intended.merge(best, on=["path", "student_id"], how="inner")


def recovery(matched: pd.DataFrame) -> tuple[float, dict[str, dict[str, float]]]:
    """Share of faces whose top expression is the intended category, overall and per category."""
    hit = matched["expression"] == matched["category"]
    per = {c: {"n": int((matched["category"] == c).sum()),
               "recovered": round(float(hit[matched["category"] == c].mean()), 4)}
           for c in EXPRESSIONS if (matched["category"] == c).any()}
    return round(float(hit.mean()), 4), per


def pearson(a: pd.Series, b: pd.Series) -> float:
    return round(float(np.corrcoef(a.to_numpy(float), b.to_numpy(float))[0, 1]), 4)


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--demo", type=Path, default=DEMO, help="a folder written by sample_data/generate.py")
    parser.add_argument("--weights-dir", type=Path, default=None, help="default: the shipped weights")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default=None, help="cpu, cuda; default: cuda when present")
    return parser


def main(args: argparse.Namespace) -> dict[str, object]:
    intended = pd.read_csv(args.demo / "intended.csv")
    seats = pd.read_csv(args.demo / "images" / "seat_map.csv")
    paths = intended["path"].drop_duplicates().tolist()
    model = load_model(args.weights_dir)
    started = time.perf_counter()
    faces = extract([args.demo / p for p in paths], batch_size=args.batch_size, model=model, device=args.device)
    seconds = time.perf_counter() - started
    log.info("scored %d images (%d rows) in %.1f s; statuses %s", len(paths), len(faces), seconds,
             faces["status"].value_counts().to_dict())
    faces["path"] = faces["source"].map(lambda s: Path(s).relative_to(args.demo).as_posix())
    scored = faces[faces["status"] == STATUS_OK].rename(columns={v: f"{v}_extracted" for v in VAD})
    is_frame = intended["layout"] == "frame"
    crops = match_crops(intended[~is_frame], scored[scored["path"].isin(intended.loc[~is_frame, "path"])])
    frames = match_frames(intended[is_frame], scored[scored["path"].isin(intended.loc[is_frame, "path"])], seats)
    matched = pd.concat([crops, frames], ignore_index=True)
    overall, per_category = recovery(matched)
    return {
        "benchmark": "sample_faces",
        "model_version": model[1].model_version,
        "faces_intended": len(intended),
        "faces_scored": len(matched),
        "expression_recovery": overall,
        "expression_recovery_crops": recovery(crops)[0],
        "expression_recovery_by_category": per_category,
        "valence_pearson": pearson(matched["valence"], matched["valence_extracted"]),
        "arousal_pearson": pearson(matched["arousal"], matched["arousal_extracted"]),
        "frame_faces": int(is_frame.sum()),
        "frame_seat_recovery": round(len(frames) / max(int(is_frame.sum()), 1), 4),
        "extract_s": round(seconds, 1),
    }


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    print(json.dumps(main(get_args_parser().parse_args())))
