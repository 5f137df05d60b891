"""Whether this run's champion takes the `champion` alias from the version that holds it.

Issue 13: the alias moves only when the newcomer beats the current champion on the SAME
folds. Both are scored on today's labelled students and today's repeated K-fold splits
(seed, n_splits, n_repeats): the current champion's registered pipeline is cloned (model,
feature set and hyperparameters kept, nothing fitted) and refitted on each training fold,
so neither stands on older data or other folds. The newcomer takes the alias when its
mean CV MSE is not above the current configuration's.

Ties go to the newcomer: the same configuration scores the same, and its refit on today's
students is the one to keep (after `vadgrade forget`, retraining is how a champion
without the student takes over). The corrected paired t-test of the per-split
differences is reported beside the rule, not used as its gate: at class sizes it almost
never rejects, so the first champion ever trained would keep the alias for good.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from academic.evaluate import Champion, CVResults, corrected_resampled_ttest, cv_splits, split_mse, split_sizes
from academic.features import labelled

if TYPE_CHECKING:
    from academic.tracking import LoadedChampion


@dataclass(frozen=True)
class Promotion:
    """The decision, why, and the figures it rests on (NaN where nothing was compared)."""

    promote: bool
    reason: str
    current_version: str | None = None
    mse_new: float = math.nan
    mse_current: float = math.nan
    p_one_sided: float = math.nan

    def summary(self, new_version: str) -> dict[str, str | None]:
        """The run summary's entry: which version holds the alias after this run, and why."""
        if self.promote:
            return {"action": "promoted", "champion_version": new_version,
                    "message": f"promoted version {new_version}: {self.reason}"}
        return {"action": "kept", "champion_version": self.current_version,
                "message": f"kept version {self.current_version} because {self.reason}"}


def _label(model: str, feature_set: str) -> str:
    return f"{model} / {feature_set}"


def _new_split_mse(results: CVResults, champion: Champion) -> np.ndarray:
    folds = results.folds[(results.folds["model"] == champion.model)
                          & (results.folds["feature_set"] == champion.feature_set)]
    return folds.sort_values("split")["mse"].to_numpy()


def _rmse(mse: float) -> str:
    return f"{math.sqrt(mse):.1f}"


def decide(results: CVResults, champion: Champion, frame: pd.DataFrame,
           current: LoadedChampion | None) -> Promotion:
    """Compare `champion` (this run's best, scored in `results`) with `current` (the version
    holding the alias, None when none does) on `frame`'s labelled students and `results`' folds.
    """
    if current is None:
        return Promotion(True, "no version held the alias yet")
    held = f"the current champion (version {current.version}, {_label(current.model, current.feature_set)})"
    missing = [c for c in current.pipeline.feature_names_in_ if c not in frame.columns]
    if missing:
        return Promotion(True, f"{held} needs inputs today's data lacks ({', '.join(missing)}), "
                               "so it cannot be scored on today's folds", current.version)
    new, old = _new_split_mse(results, champion), split_mse(current.pipeline, frame, results)
    n = len(labelled(frame))
    _, _, p_one, _ = corrected_resampled_ttest(
        old - new, *split_sizes(cv_splits(n, results.n_splits, results.n_repeats, results.seed)))
    figures = dict(current_version=current.version, mse_new=float(new.mean()), mse_current=float(old.mean()),
                   p_one_sided=p_one)
    same = (champion.model, champion.feature_set) == (current.model, current.feature_set) and np.allclose(new, old)
    if same:
        return Promotion(True, f"it is {held} refitted on today's {n} labelled students", **figures)
    where = f"on the same {len(new)} folds of today's {n} labelled students"
    if new.mean() <= old.mean():
        return Promotion(True, f"{where} it beats {held}: CV MSE {new.mean():.1f} vs {old.mean():.1f}, RMSE "
                               f"{_rmse(new.mean())} vs {_rmse(old.mean())} grade points "
                               f"(corrected paired t-test p = {p_one:.2g})", **figures)
    return Promotion(False, f"{where} it ({_label(current.model, current.feature_set)}) scores CV MSE "
                            f"{old.mean():.1f} against {new.mean():.1f} for this run's best "
                            f"({_label(champion.model, champion.feature_set)}); RMSE {_rmse(old.mean())} vs "
                            f"{_rmse(new.mean())} grade points", **figures)
