"""Read and check the teacher's CSV files (gradebook, roster) before the store sees them.

Problems are collected, not raised one by one: the InputError names the file and lists
every offending row (CSV line, student_id, what is wrong), and nothing is written.
"""
from __future__ import annotations

import codecs
import csv
import io
import logging
from pathlib import Path

import pandas as pd

from warehouse.errors import InputError

log = logging.getLogger(__name__)

STUDENT_ID = "student_id"
GPA_RANGE: tuple[float, float] = (0.0, 4.0)
SCORE_RANGE: tuple[float, float] = (0.0, 100.0)
CONSENT_VALUES: dict[str, bool] = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
_LINE = "line"  # index name of frames read from CSV: the 1-based line number in the file


def test_columns(n_tests: int) -> list[str]:
    """Wide gradebook test columns: test_01 … test_NN."""
    if n_tests < 1:
        raise ValueError(f"n_tests must be at least 1, got {n_tests}")
    return [f"test_{number:02d}" for number in range(1, n_tests + 1)]


def gradebook_columns(n_tests: int) -> list[str]:
    """Columns of a gradebook file, in order."""
    return [STUDENT_ID, "gpa", *test_columns(n_tests), "final_grade"]


def decode_text(path: Path) -> str:
    """The file's text: UTF-8 (with or without BOM), UTF-16 with a BOM, else Windows-1252.

    Spreadsheets on Windows save "CSV" as Windows-1252 and "Unicode text" as UTF-16;
    both are read as the teacher meant them instead of failing on the first accent.
    A binary file (a workbook renamed .csv) is refused with a message saying so.
    """
    raw = path.read_bytes()
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16")
    if b"\x00" in raw:
        raise InputError(str(path), ["this is a binary file, not CSV text (a spreadsheet? save it as CSV)"])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError:
            line = raw[:exc.start].count(b"\n") + 1
            raise InputError(str(path), [f"line {line}: byte 0x{raw[exc.start]:02x} is neither UTF-8 nor "
                                         "Windows-1252 text; save the file as UTF-8 CSV"]) from None
    log.warning("%s is not UTF-8; read it as Windows-1252", path)
    return text


def read_csv_text(path: Path) -> tuple[pd.DataFrame, list[str], list[tuple[int, str]]]:
    """Every cell as text, indexed by CSV line number, plus file and row problems of shape.

    The csv module (not pandas) is used so line numbers stay exact with blank lines
    and quoted newlines; headers are stripped and lower-cased to forgive spreadsheets.
    """
    problems: list[str] = []
    row_problems: list[tuple[int, str]] = []
    if not path.is_file():
        raise InputError(str(path), ["file not found"])
    reader = csv.reader(io.StringIO(decode_text(path), newline=""))
    header = next(reader, None)
    if header is None or not any(cell.strip() for cell in header):
        raise InputError(str(path), ["the file is empty (no header row)"])
    columns = [cell.strip().lower() for cell in header]
    duplicated = sorted({name for name in columns if columns.count(name) > 1})
    if duplicated:
        problems.append(f"duplicate column(s) in header: {', '.join(duplicated)}")
    rows, lines = [], []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            row_problems.append((reader.line_num, f"expected {len(columns)} fields, found {len(row)}"))
            row = (row + [""] * len(columns))[: len(columns)]
        rows.append(row)
        lines.append(reader.line_num)
    if not rows:
        raise InputError(str(path), ["the file has a header but no data rows", *problems])
    frame = pd.DataFrame(rows, columns=range(len(columns)), index=pd.Index(lines, name=_LINE), dtype="string")
    # Keep the first of duplicated headers so the rest of validation can still run.
    keep = [position for position, name in enumerate(columns) if columns.index(name) == position]
    frame = frame[keep]
    frame.columns = [columns[position] for position in keep]
    return frame, problems, row_problems


def _row_label(kind: str, label: object, key: str, value: object) -> str:
    """'line 7 (student_id 's07')' for CSV frames, 'row 3 (…)' for frames built in code."""
    return f"{kind} {label} ({key} {'<blank>' if pd.isna(value) else repr(str(value))})"


def _text(column: pd.Series) -> pd.Series:
    """Cells as stripped text, <NA> where blank."""
    text = column.astype("string").str.strip()
    return text.mask(text.eq(""))


def _missing_columns(frame: pd.DataFrame, required: list[str]) -> list[str]:
    missing = [name for name in required if name not in frame.columns]
    return [f"missing column(s): {', '.join(missing)}"] if missing else []


def _check_ids(frame: pd.DataFrame, problems: list[tuple[object, str]]) -> pd.Series:
    """Blank and duplicated student ids; returns the cleaned id column."""
    ids = _text(frame[STUDENT_ID])
    for label in ids.index[ids.isna()]:
        problems.append((label, "student_id is blank"))
    for _, group in ids.dropna().groupby(ids.dropna(), sort=False):
        if len(group) > 1:
            for label in group.index:
                others = ", ".join(str(other) for other in group.index if other != label)
                problems.append((label, f"duplicate student_id (also at {others})"))
    return ids


def _check_number(
    frame: pd.DataFrame,
    name: str,
    bounds: tuple[float, float],
    required: bool,
    problems: list[tuple[object, str]],
) -> pd.Series:
    """Parse one numeric column, recording blank, non-numeric and out-of-range cells."""
    text = _text(frame[name])
    numbers = pd.to_numeric(text, errors="coerce").astype("float64")
    low, high = bounds
    for label in text.index:
        raw = text[label]
        if pd.isna(raw):
            if required:
                problems.append((label, f"{name} is blank"))
        elif pd.isna(numbers[label]):
            problems.append((label, f"{name} {str(raw)!r} is not a number"))
        elif not low <= numbers[label] <= high:
            problems.append((label, f"{name} {str(raw)!r} is outside [{low:g}, {high:g}]"))
    return numbers


def _raise_if_any(frame: pd.DataFrame, source: str, header_problems: list[str],
                  row_problems: list[tuple[object, str]], key: str = STUDENT_ID) -> None:
    """One InputError for everything found, rows in file order, each labelled by `key`."""
    if not header_problems and not row_problems:
        return
    kind = "line" if frame.index.name == _LINE else "row"
    keys = _text(frame[key]) if key in frame.columns else pd.Series(pd.NA, index=frame.index)
    order = {label: position for position, label in enumerate(frame.index)}
    row_problems = sorted(row_problems, key=lambda item: order[item[0]])
    rows = [f"{_row_label(kind, label, key, keys[label])}: {what}" for label, what in row_problems]
    raise InputError(source, [*header_problems, *rows])


def validate_gradebook(
    df: pd.DataFrame,
    n_tests: int = 12,
    *,
    gpa_range: tuple[float, float] = GPA_RANGE,
    score_range: tuple[float, float] = SCORE_RANGE,
    source: str = "gradebook",
) -> pd.DataFrame:
    """Typed gradebook (student_id, gpa, test_01…test_NN, final_grade) or InputError.

    final_grade may be blank (a cohort being predicted) and so may a class test (a
    student missed it; the grade models impute it inside each CV fold); student_id and
    gpa are required.
    Columns other than the gradebook's are dropped, except surplus test_NN columns,
    which mean n_tests does not match the file and are reported.
    """
    return _validate_gradebook(df, n_tests, gpa_range, score_range, source, [], [])


def _validate_gradebook(
    df: pd.DataFrame,
    n_tests: int,
    gpa_range: tuple[float, float],
    score_range: tuple[float, float],
    source: str,
    header_problems: list[str],
    row_problems: list[tuple[object, str]],
) -> pd.DataFrame:
    expected = gradebook_columns(n_tests)
    header_problems = [*header_problems, *_missing_columns(df, expected)]
    surplus = [name for name in df.columns if str(name).startswith("test_") and name not in expected]
    if surplus:
        header_problems.append(f"unexpected test column(s) {', '.join(map(str, surplus))} for n_tests={n_tests}")
    if len(df) == 0:
        header_problems.append("no data rows")
    row_problems = list(row_problems)
    typed = pd.DataFrame(index=df.index)
    if STUDENT_ID in df.columns:
        typed[STUDENT_ID] = _check_ids(df, row_problems)
    for name in expected[1:]:
        if name in df.columns:
            bounds = gpa_range if name == "gpa" else score_range
            typed[name] = _check_number(df, name, bounds, name == "gpa", row_problems)
    _raise_if_any(df, source, header_problems, row_problems)
    return typed[expected].reset_index(drop=True)


def read_gradebook(
    path: str | Path,
    n_tests: int = 12,
    *,
    gpa_range: tuple[float, float] = GPA_RANGE,
    score_range: tuple[float, float] = SCORE_RANGE,
) -> pd.DataFrame:
    """Read and validate a gradebook CSV; see validate_gradebook for the rules."""
    path = Path(path)
    frame, problems, row_problems = read_csv_text(path)
    return _validate_gradebook(frame, n_tests, gpa_range, score_range, str(path), problems, row_problems)


def validate_roster(df: pd.DataFrame, *, source: str = "roster") -> pd.DataFrame:
    """Typed roster (student_id, consent: bool, display_name or <NA>) or InputError.

    consent must be one of true/false/yes/no/1/0 (any case): a blank or unclear
    consent is an error, never taken as a yes.
    """
    return _validate_roster(df, source, [], [])


def _validate_roster(
    df: pd.DataFrame, source: str, header_problems: list[str], row_problems: list[tuple[object, str]]
) -> pd.DataFrame:
    header_problems = [*header_problems, *_missing_columns(df, [STUDENT_ID, "consent"])]
    if len(df) == 0:
        header_problems.append("no data rows")
    row_problems = list(row_problems)
    typed = pd.DataFrame(index=df.index)
    if STUDENT_ID in df.columns:
        typed[STUDENT_ID] = _check_ids(df, row_problems)
    if "consent" in df.columns:
        consent = _text(df["consent"]).str.lower()
        for label in consent.index:
            if pd.isna(consent[label]) or consent[label] not in CONSENT_VALUES:
                shown = "blank" if pd.isna(consent[label]) else repr(str(df.at[label, "consent"]).strip())
                row_problems.append((label, f"consent {shown} is not one of true/false/yes/no/1/0"))
        typed["consent"] = consent.map(CONSENT_VALUES).astype("boolean")
    typed["display_name"] = _text(df["display_name"]) if "display_name" in df.columns else pd.NA
    _raise_if_any(df, source, header_problems, row_problems)
    return typed.astype({"consent": bool}).reset_index(drop=True)


def read_roster(path: str | Path) -> pd.DataFrame:
    """Read and validate a roster CSV: student_id, consent[, display_name]."""
    path = Path(path)
    frame, problems, row_problems = read_csv_text(path)
    return _validate_roster(frame, str(path), problems, row_problems)


def read_sessions(path: str | Path) -> pd.DataFrame:
    """Read and validate a sessions CSV: session_id[, held_on as YYYY-MM-DD]."""
    path = Path(path)
    frame, header_problems, row_problems = read_csv_text(path)
    header_problems = [*header_problems, *_missing_columns(frame, ["session_id"])]
    row_problems = list(row_problems)
    typed = pd.DataFrame(index=frame.index)
    if "session_id" in frame.columns:
        ids = _text(frame["session_id"])
        for label in ids.index[ids.isna()]:
            row_problems.append((label, "session_id is blank"))
        for label in ids.index[ids.duplicated(keep="first") & ids.notna()]:
            row_problems.append((label, f"duplicate session_id {ids[label]!r}"))
        typed["session_id"] = ids
    held = _text(frame["held_on"]) if "held_on" in frame.columns else pd.Series(pd.NA, index=frame.index)
    dates = pd.to_datetime(held, format="%Y-%m-%d", errors="coerce")
    for label in held.index[held.notna() & dates.isna()]:
        row_problems.append((label, f"held_on {held[label]!r} is not a YYYY-MM-DD date"))
    typed["held_on"] = dates
    _raise_if_any(frame, str(path), header_problems, row_problems, key="session_id")
    return typed.reset_index(drop=True)
