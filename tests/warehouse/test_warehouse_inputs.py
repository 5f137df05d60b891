"""Gradebook and roster CSVs: one error that lists every offending row, nothing written."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from warehouse import InputError, load_gradebook, load_roster, read_gradebook, read_roster, validate_gradebook
from wh_data import COHORT, count

HEADER3 = "student_id,gpa,test_01,test_02,test_03,final_grade\n"


def _write(tmp_path: Path, text: str, name: str = "grades.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_gradebook_is_typed_and_loads(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    path = _write(tmp_path, HEADER3 + "s01,3.5,80,90,70,85\n\ns02, 2.0 ,55,60.5,1e1,\n")
    frame = read_gradebook(path, n_tests=3)
    assert list(frame.columns) == ["student_id", "gpa", "test_01", "test_02", "test_03", "final_grade"]
    assert frame["gpa"].tolist() == [3.5, 2.0]
    assert frame["test_03"].tolist() == [70.0, 10.0]
    assert pd.isna(frame.loc[1, "final_grade"])

    assert load_gradebook(con, COHORT, frame) == 2
    assert count(con, "test_scores") == 6


CASES = {
    "non_numeric": (
        HEADER3 + "s01,3.5,80,90,70,85\ns02,abc,80,90,70,85\ns03,3.0,80,x,70,85\ns04,3.0,80,90,70,n/a\n",
        ["line 3 (student_id 's02'): gpa 'abc' is not a number",
         "line 4 (student_id 's03'): test_02 'x' is not a number",
         "line 5 (student_id 's04'): final_grade 'n/a' is not a number"],
    ),
    "out_of_range": (
        HEADER3 + "s01,4.5,80,90,70,85\ns02,3.0,-1,90,70,85\ns03,3.0,80,90,70,101\ns04,3,80,90,inf,85\n",
        ["line 2 (student_id 's01'): gpa '4.5' is outside [0, 4]",
         "line 3 (student_id 's02'): test_01 '-1' is outside [0, 100]",
         "line 4 (student_id 's03'): final_grade '101' is outside [0, 100]",
         "line 5 (student_id 's04'): test_03 'inf' is outside [0, 100]"],
    ),
    "blank_required": (
        HEADER3 + "s01,,80,90,70,85\n,3.0,80,90,70,85\ns03,3.0,80,,70,\n",
        ["line 2 (student_id 's01'): gpa is blank",
         "line 3 (student_id <blank>): student_id is blank"],
    ),
    "duplicate_ids": (
        HEADER3 + "s01,3.5,80,90,70,85\ns02,3.0,80,90,70,85\ns01,2.5,80,90,70,85\n",
        ["line 2 (student_id 's01'): duplicate student_id (also at 4)",
         "line 4 (student_id 's01'): duplicate student_id (also at 2)"],
    ),
    "missing_columns": (
        "student_id,gpa,test_01,test_03\ns01,5,80,70\n",
        ["missing column(s): test_02, final_grade", "line 2 (student_id 's01'): gpa '5' is outside [0, 4]"],
    ),
    "surplus_test_and_ragged_row": (
        "student_id,gpa,test_01,test_02,test_03,test_04,final_grade\ns01,3,1,2,3,4,5\ns02,3,1,2\n",
        ["unexpected test column(s) test_04 for n_tests=3",
         "line 3 (student_id 's02'): expected 7 fields, found 4"],
    ),
    "empty_file": ("", ["the file is empty (no header row)"]),
    "header_only": (HEADER3, ["the file has a header but no data rows"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_gradebook_lists_every_problem_and_writes_nothing(
    case: str, tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    text, expected = CASES[case]
    path = _write(tmp_path, text)
    with pytest.raises(InputError) as caught:
        load_gradebook(con, COHORT, read_gradebook(path, n_tests=3))
    error = caught.value
    assert isinstance(error, ValueError)
    assert str(path) in str(error)
    assert error.problems == expected
    assert count(con, "gradebook") == 0 and count(con, "test_scores") == 0


def test_ranges_are_parameters(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER3 + "s01,4.5,80,90,70,85\n")
    with pytest.raises(InputError):
        read_gradebook(path, n_tests=3)
    assert read_gradebook(path, n_tests=3, gpa_range=(0, 5))["gpa"].tolist() == [4.5]


def test_validate_frame_built_in_code_reports_rows() -> None:
    frame = pd.DataFrame({"student_id": ["a", "b"], "gpa": [3.0, 9.0], "test_01": [1.0, 2.0], "final_grade": [None, 50]})
    with pytest.raises(InputError, match=r"row 1 \(student_id 'b'\): gpa '9.0' is outside \[0, 4\]"):
        validate_gradebook(frame, n_tests=1)


def test_roster_consent_spellings(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    path = _write(tmp_path, "Student_ID,Consent\na,TRUE\nb,no\nc,1\nd,0\ne, Yes \nf,False\n", "roster.csv")
    roster = read_roster(path)
    assert roster["consent"].tolist() == [True, False, True, False, True, False]
    assert roster["display_name"].isna().all()
    assert load_roster(con, COHORT, roster) == 6


def test_bad_roster_names_every_row(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    path = _write(tmp_path, "student_id,consent,display_name\na,maybe,Ann\nb,,Bo\nc,yes,Cy\nc,no,Cy2\n", "roster.csv")
    with pytest.raises(InputError) as caught:
        load_roster(con, COHORT, read_roster(path))
    assert caught.value.problems == [
        "line 2 (student_id 'a'): consent 'maybe' is not one of true/false/yes/no/1/0",
        "line 3 (student_id 'b'): consent blank is not one of true/false/yes/no/1/0",
        "line 4 (student_id 'c'): duplicate student_id (also at 5)",
        "line 5 (student_id 'c'): duplicate student_id (also at 4)",
    ]
    assert count(con, "students") == 0


def test_roster_from_windows_spreadsheets_is_read_as_meant(tmp_path: Path) -> None:
    """Defect: a cp1252 roster raised UnicodeDecodeError; UTF-16 'Unicode text' likewise."""
    text = "student_id,consent,display_name\ns01,yes,Zoë Ñúñez\ns02,no,Łukasz\n"
    cp1252 = tmp_path / "cp1252.csv"
    cp1252.write_bytes(text.replace("Ł", "L").encode("cp1252"))
    assert read_roster(cp1252)["display_name"].tolist() == ["Zoë Ñúñez", "Lukasz"]
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes(text.encode("utf-16"))
    assert read_roster(utf16)["display_name"].tolist() == ["Zoë Ñúñez", "Łukasz"]


def test_binary_file_named_csv_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_bytes(b"PK\x03\x04\x14\x00\x00\x00binary workbook")
    with pytest.raises(InputError, match="binary file, not CSV"):
        read_roster(path)


def test_session_problems_are_labelled_by_session(tmp_path: Path) -> None:
    """Defect: session-date errors were labelled '(student_id <blank>)'."""
    from warehouse import read_sessions
    path = tmp_path / "sessions.csv"
    path.write_text("session_id,held_on\nw1,2026-13-45\n")
    with pytest.raises(InputError) as err:
        read_sessions(path)
    assert err.value.problems == ["line 2 (session_id 'w1'): held_on '2026-13-45' is not a YYYY-MM-DD date"]
