"""One analysis in plain words, for the MLflow run description and the report's first screen.

A teacher reads "6 in 10" and "7.7 grade points" more easily than recall 0.62 and MSE
58.6, so the numbers are rounded to what they can support (with ~50 students, a
coverage of 0.85 is uncertain by about ±0.06) and every figure says where it came from.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

from academic.features import FEATURE_SETS, LEARNING, LEARNING_ATTENDANCE, LEARNING_ATTENDANCE_AFFECT

if TYPE_CHECKING:
    from academic.evaluate import Champion, CVResults
    from academic.promotion import Promotion

MODEL_NAMES_IN_WORDS = {"ridge": "ridge (the linear baseline)", "adaboost": "AdaBoost",
                        "random_forest": "random forest", "xgboost": "XGBoost"}
FEATURE_SETS_IN_WORDS = {
    LEARNING: "learning (GPA, class tests)",
    LEARNING_ATTENDANCE: "+ attendance (faces seen, sessions seen)",
    LEARNING_ATTENDANCE_AFFECT: "+ affect (valence, arousal, dominance, expressions)",
}


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def in_ten(share: float) -> str:
    """0.62 -> '6 in 10'."""
    return f"{round(share * 10)} in 10"


def flag_sentence(checks: Mapping[str, float]) -> str:
    """The at-risk flag as a classifier, from `evaluate.flag_metrics` (out of fold); '' if not measured."""
    if "flag_recall" not in checks:
        return ""
    mark = f"the pass mark ({checks['pass_mark']:g})" if "pass_mark" in checks else "the pass mark"
    recall, precision = checks["flag_recall"], checks.get("flag_precision")
    if _missing(recall):
        return f"No student with a final grade scored below {mark}, so how many the at-risk flag catches is unknown."
    caught = f"Of the students who scored below {mark}, the at-risk flag caught {in_ten(recall)} in cross-validation"
    if _missing(precision):
        return caught + "."
    return f"{caught}; of the students it flagged, {in_ten(precision)} did score below it."


def coverage_sentence(checks: Mapping[str, float]) -> str:
    """How often the intervals held the actual grade, from `conformal.nested_coverage`; '' if not measured."""
    if "interval_coverage" not in checks:
        return ""
    coverage, n = checks["interval_coverage"], checks.get("interval_n")
    if _missing(coverage):
        return "The intervals' coverage could not be measured: the class is too small to split twice."
    level = f"{checks['interval_level']:.0%} " if "interval_level" in checks else ""
    students = f" (measured on {n:.0f} students with a final grade)" if not _missing(n) else ""
    return (f"About {round(coverage * 100)} in 100 students ended inside their {level}interval when it was "
            f"built without them{students}.")


def error_sentence(checks: Mapping[str, float]) -> str:
    """The champion's typical error (CV RMSE), or '' when its analysis did not log one."""
    rmse = checks.get("rmse_mean")
    if _missing(rmse):
        return ""
    return f"For students it had not seen, the model's predictions were typically {rmse:.0f} grade points off."


def trust_sentences(checks: Mapping[str, float]) -> list[str]:
    """What the report's first screen says about how far to trust it (nothing when nothing was measured)."""
    return [s for s in (error_sentence(checks), flag_sentence(checks), coverage_sentence(checks)) if s]


def _step_sentence(rows: pd.DataFrame) -> str:
    """'Adding affect lowered the error for none of the 4 models (one-sided p ≥ 0.76, Holm-adjusted
    over the 4); this class could have detected a drop of 0.6–1.5 grade points of RMSE.'"""
    added = str(rows["added"].iloc[0])
    found = rows[rows["detected"]]
    if found.empty:
        lowered = (f"lowered the error for none of the {len(rows)} models "
                   f"(one-sided p ≥ {rows['p_holm'].min():.2f}, Holm-adjusted over the {len(rows)})")
    else:
        lowered = "lowered the error for " + ", ".join(
            f"{MODEL_NAMES_IN_WORDS.get(r.model, r.model)} (Holm-adjusted p = {r.p_holm:.2g})"
            for r in found.itertuples())
        lowered += f", not for the other {len(rows) - len(found)}" if len(found) < len(rows) else ""
    return (f"Adding {added} {lowered}; this class could have detected a drop of "
            f"{rows['mde_rmse'].min():.1f}–{rows['mde_rmse'].max():.1f} grade points of RMSE.")


def promotion_sentence(promotion: Promotion) -> str:
    if promotion.promote:
        return f"This run's champion took the `champion` alias: {promotion.reason}."
    return f"The `champion` alias stayed on version {promotion.current_version}: {promotion.reason}."


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _models(results: CVResults) -> list[str]:
    return list(dict.fromkeys(results.summary["model"]))


def _scores(results: CVResults, champion: Champion) -> pd.Series:
    """The champion's row of the CV summary (mse_mean, rmse_mean, ...)."""
    return results.summary.set_index(["model", "feature_set"]).loc[(champion.model, champion.feature_set)]


def _headline(results: CVResults, champion: Champion) -> str:
    """The answer in two sentences: the best predictor and its error, and whether either step helped."""
    best = _scores(results, champion)
    found = {added: int(rows["detected"].sum()) for added, rows in results.comparison.groupby("added", sort=False)}
    if not any(found.values()):
        steps = f"adding {' or '.join(found)} lowered no model's error beyond chance"
    else:
        steps = "; ".join(f"adding {added} lowered the error beyond chance for {n} of {len(_models(results))} models"
                          for added, n in found.items())
    return (f"{_capitalised(MODEL_NAMES_IN_WORDS.get(champion.model, champion.model))} on {champion.feature_set} "
            f"predicts the final grade best, typically {best['rmse_mean']:.1f} grade points off. "
            f"{_capitalised(steps)} ({len(champion.y)} students with a final grade).")


def describe_analysis(results: CVResults, champion: Champion, checks: Mapping[str, float],
                      promotion: Promotion | None = None) -> str:
    """Markdown for the parent run's description: the answer first (the UI shows two lines
    before "Show more"), then what was compared, each step, how far to trust it, promotion."""
    models = _models(results)
    sets = [s for s in FEATURE_SETS if s in set(results.summary["feature_set"])]
    best = _scores(results, champion)
    lines = [
        f"**In short.** {_headline(results, champion)}",
        "",
        f"**What was compared.** {len(models)} ways to predict the final grade "
        f"({', '.join(MODEL_NAMES_IN_WORDS.get(m, m) for m in models)}), each on {len(sets)} sets of inputs: "
        f"{'; '.join(FEATURE_SETS_IN_WORDS.get(s, s) for s in sets)}. All on the same "
        f"{results.n_splits} x {results.n_repeats} cross-validation folds of {len(champion.y)} students "
        "with a final grade.",
        "",
        f"**Step by step.** The champion's CV RMSE is {best['rmse_mean']:.1f} grade points "
        f"(MSE {best['mse_mean']:.1f}).",
    ]
    lines += [_step_sentence(rows) for _, rows in results.comparison.groupby("added", sort=False)]
    trust = " ".join(s for s in (flag_sentence(checks), coverage_sentence(checks)) if s)
    lines += ["", f"**How far to trust it.** {trust}"] if trust else []
    if promotion is not None:
        lines += ["", f"**Promotion.** {promotion_sentence(promotion)}"]
    return "\n".join(lines)
