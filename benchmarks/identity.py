"""Enrolment identity on the Yale faces: how often a face is given to the right student, the
wrong one or nobody, and how often a person who never enrolled is taken for a student.

Data: the Yale Face Database (15 people x 11 conditions, 164 gray 320x243 photos;
`../shared/data/yalefaces`). Every photo goes through the product's path once: YuNet
finds the face, dlib embeds it (`affect.identity.photo_templates`, timed for faces/s).
Each trial then enrols `--enrolled` of the 15 people with `--photos` random photos each,
calibrates the thresholds from those photos alone (`affect.matching.calibrate`) and
matches every other photo (`assign`, one face per photo). Photos byte-identical to an
enrolment photo are dropped from the probes (some Yale conditions are copies of others).
- enrolled people's photos: share correct, wrong (another student), rejected (nobody);
- the other people's photos (open set): share matched to anyone (false accepts).

Also reported: the same protocol for 5/10/12 people enrolled with 2/3/5 photos each; the
first rule tried (largest spread instead of the leave-one-out mean), which loosens as
photos are added; fixed thresholds (0.6, dlib's usual; 0.45) for comparison; figures per
probe condition; and a group whose faces embed closer together, simulated by shrinking
every Yale embedding towards their mean by 0.7 (the per-cohort rule has no distance
constant, so its figures must not change, while a fixed threshold accepts strangers
wholesale). Yale is one small group (15 people, 14 of them men); it says nothing about
other groups.

Usage: python benchmarks/identity.py [--data DIR] [--trials 200] [--enrolled 10] [--photos 2].
Prints one JSON line.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.spatial.distance import cdist

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from affect.identity import EMBEDDING_MODEL, photo_templates  # noqa: E402
from affect.matching import NO_MATCH, Enrolment, assign, calibrate  # noqa: E402

YALE = REPO.parent / "shared" / "data" / "yalefaces"
SHRINK = 0.7        # the simulated look-alike group: every distance times 0.7


def embed_all(data: Path) -> dict:
    """Subject, condition, content hash and template (None: no usable face) of every photo, and faces/s."""
    with (data / "labels.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    paths = [data / "images" / r["file"] for r in rows]
    start = time.perf_counter()
    templates = photo_templates(paths)
    seconds = time.perf_counter() - start
    ok = [not isinstance(t, str) for t in templates]
    return {"subject": np.array([r["subject"] for r in rows]), "condition": np.array([r["condition"] for r in rows]),
            "hash": np.array([hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]),
            "template": np.stack([t if good else np.full(128, np.nan) for t, good in zip(templates, ok)]),
            "ok": np.array(ok), "faces_per_s": sum(ok) / seconds}


def spread_max_rule(enrolment: Enrolment) -> np.ndarray:
    """The first rule tried: halfway between a student's LARGEST spread and the nearest classmate.

    With more photos the largest spread grows, so thresholds loosen (kept for comparison).
    """
    pair = cdist(enrolment.templates, enrolment.templates)
    spread = np.array([pair[np.ix_(enrolment.owner == s, enrolment.owner == s)].max()
                       for s in range(len(enrolment.students))])
    return (spread + enrolment.nearest) / 2


def trials(yale: dict, *, n_trials: int, enrolled: int, photos: int, seed: int,
           fixed: float | None = None, scale: float = 1.0,
           rule: Callable[[Enrolment], np.ndarray] | None = None) -> dict:
    """Pooled outcomes over random enrolments (see the module docstring); `fixed` or `rule` replace the thresholds."""
    rng = np.random.default_rng(seed)
    subject, condition, hashes, ok = yale["subject"], yale["condition"], yale["hash"], yale["ok"]
    emb = yale["template"]
    emb = np.nanmean(emb, axis=0) + scale * (emb - np.nanmean(emb, axis=0))
    people = np.unique(subject)
    tally = {"correct": 0, "wrong": 0, "rejected": 0, "enrolled_faces": 0, "false_accepts": 0, "stranger_faces": 0}
    by_condition: dict[str, list[int]] = {c: [0, 0, 0, 0] for c in np.unique(condition)}   # correct, n, fa, n
    thresholds = []
    for _ in range(n_trials):
        chosen = rng.choice(people, enrolled, replace=False)
        gallery = np.concatenate([rng.choice(np.flatnonzero((subject == p) & ok), photos, replace=False)
                                  for p in chosen])
        enrolment = calibrate(subject[gallery], emb[gallery])
        limits = (np.full(len(chosen), fixed) if fixed is not None else rule(enrolment) if rule is not None
                  else enrolment.thresholds)
        thresholds.append(float(np.mean(limits)))
        probes = np.flatnonzero(~np.isin(np.arange(len(subject)), gallery) & ~np.isin(hashes, hashes[gallery]))
        for i in probes:
            student = NO_MATCH
            if ok[i]:
                student = assign(enrolment.distances(emb[i][None]), limits)[0][0]
            name = None if student == NO_MATCH else enrolment.students[student]
            cell = by_condition[condition[i]]
            if subject[i] in chosen:
                tally["enrolled_faces"] += 1
                outcome = "rejected" if name is None else "correct" if name == subject[i] else "wrong"
                tally[outcome] += 1
                cell[0] += outcome == "correct"
                cell[1] += 1
            else:
                tally["stranger_faces"] += 1
                tally["false_accepts"] += name is not None
                cell[2] += name is not None
                cell[3] += 1
    n, m = tally["enrolled_faces"], tally["stranger_faces"]
    return {"correct": round(tally["correct"] / n, 4), "wrong": round(tally["wrong"] / n, 4),
            "rejected": round(tally["rejected"] / n, 4), "false_accepts": round(tally["false_accepts"] / m, 4),
            "enrolled_faces": n, "stranger_faces": m, "mean_threshold": round(float(np.mean(thresholds)), 3),
            "by_condition": {c: {"correct": round(v[0] / v[1], 3) if v[1] else None,
                                 "false_accepts": round(v[2] / v[3], 3) if v[3] else None}
                             for c, v in by_condition.items()}}


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=YALE)
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--enrolled", type=int, default=10)
    ap.add_argument("--photos", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    yale = embed_all(args.data)
    protocol = {"n_trials": args.trials, "enrolled": args.enrolled, "photos": args.photos, "seed": args.seed}
    main_result = trials(yale, **protocol)
    brief = ("correct", "wrong", "rejected", "false_accepts", "mean_threshold")
    result = {
        "benchmark": "identity", "embedding_model": EMBEDDING_MODEL, "photos": int(len(yale["ok"])),
        "photos_with_a_face": int(yale["ok"].sum()), "faces_per_s": round(yale["faces_per_s"], 2),
        "protocol": protocol, "per_cohort": main_result,
        "bars": {"correct_at_least": 0.95, "wrong_at_most": 0.02, "false_accepts_at_most": 0.05},
        "fixed_thresholds": {str(t): {k: trials(yale, **protocol, fixed=t)[k] for k in brief} for t in (0.6, 0.45)},
        "look_alike_group_x0.7": {
            "per_cohort": {k: trials(yale, **protocol, scale=SHRINK)[k] for k in brief},
            "fixed_0.45": {k: trials(yale, **protocol, scale=SHRINK, fixed=0.45)[k] for k in brief}},
        "stable_in_photos": {
            f"{name}_{k}_photos": {key: trials(yale, n_trials=100, enrolled=args.enrolled, photos=k, seed=args.seed,
                                               rule=rule)[key] for key in brief}
            for name, rule in (("product", None), ("largest_spread", spread_max_rule)) for k in (2, 3, 5)},
        "grid": {f"{n}_enrolled_{k}_photos": {key: trials(yale, n_trials=100, enrolled=n, photos=k, seed=args.seed)[key]
                                              for key in brief}
                 for n in (5, 10, 12) for k in (2, 3, 5)},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
