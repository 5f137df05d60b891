"""The bad-input corpus: a small cohort broken one way at a time, as a new user would.

Each case states its input (a change to a copy of the cohort), the command, the exit
code and the message expected, and then checks that nothing was lost or wrongly
written: a run that stops writes nothing; a run that sets files aside names each one
with its reason and stores every good image of the cohort exactly once. No case may
print a Python traceback.
"""
from __future__ import annotations

import json
import os
import shutil
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from flows.cli import app

COHORT = "corpus"
Mutation = Callable[[Path, Path], None]   # (cohort folder, scratch folder outside it)


@pytest.fixture(scope="module")
def base_cohort(tmp_path_factory) -> Path:
    """12 students (one without consent), a session of crops and a classroom frame."""
    from sample_data.generate import generate
    return generate(tmp_path_factory.mktemp("corpus") / "cohort", seed=5, n_students=12, n_sessions=2,
                    frame_sessions=1)


def _env(monkeypatch, home: Path, data: Path, **extra: str) -> None:
    monkeypatch.setenv("VADGRADE_HOME", str(home))
    monkeypatch.setenv("VADGRADE_DATA_DIR", str(data))
    monkeypatch.setenv("VADGRADE_COHORT", COHORT)
    monkeypatch.setenv("VADGRADE_AFFECT__NUM_WORKERS", "0")
    monkeypatch.setenv("COLUMNS", "400")                   # rich: one line per message
    monkeypatch.delenv("VADGRADE_CONFIG", raising=False)
    for key, value in extra.items():
        monkeypatch.setenv(key, value)


def _rows(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def base_store(base_cohort, tmp_path_factory) -> Path:
    """The unbroken cohort ingested once: what every set-aside case must still store."""
    home = tmp_path_factory.mktemp("base-home")
    with pytest.MonkeyPatch.context() as mp:
        _env(mp, home, base_cohort)
        result = CliRunner().invoke(app, ["ingest"])
    assert result.exit_code == 0, result.output
    return home


def _stored_sources(db: Path, *roots: Path) -> set[str]:
    """Stored image paths relative to the cohort folder they came from (each must lie in one)."""
    sources = set()
    for (source,) in _rows(db, "SELECT source FROM images"):
        root = next(r for r in roots if Path(source).resolve().is_relative_to(r.resolve()))
        sources.add(str(Path(source).relative_to(root)))
    return sources


# --- the teacher's files --------------------------------------------------------------

def _edit_csv(name: str, edit: Callable[[pd.DataFrame], pd.DataFrame]) -> Mutation:
    def mutate(data: Path, _: Path) -> None:
        table = pd.read_csv(data / name, dtype=str, keep_default_na=False)
        edit(table).to_csv(data / name, index=False)
    return mutate


def _set(name: str, row: int, column: str, value: str) -> Mutation:
    def edit(table: pd.DataFrame) -> pd.DataFrame:
        table.loc[row, column] = value
        return table
    return _edit_csv(name, edit)


def _write(name: str, content: bytes | str) -> Mutation:
    def mutate(data: Path, _: Path) -> None:
        (data / name).write_bytes(content.encode() if isinstance(content, str) else content)
    return mutate


def _remove(name: str) -> Mutation:
    def mutate(data: Path, _: Path) -> None:
        target = data / name
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    return mutate


def _truncate_row(name: str, line: int) -> Mutation:
    def mutate(data: Path, _: Path) -> None:
        lines = (data / name).read_text().splitlines()
        lines[line - 1] = ",".join(lines[line - 1].split(",")[:5])
        (data / name).write_text("\n".join(lines) + "\n")
    return mutate


def _keep_labelled(n: int) -> Mutation:
    """Only `n` students keep a final grade: too few to cross-validate."""
    def edit(table: pd.DataFrame) -> pd.DataFrame:
        table.loc[n:, "final_grade"] = ""
        return table
    return _edit_csv("gradebook.csv", edit)


# --- image files ----------------------------------------------------------------------

def _consenting(data: Path) -> str:
    roster = pd.read_csv(data / "roster.csv", dtype=str)
    return str(roster.loc[roster["consent"] == "yes", "student_id"].iloc[0])


def _student_dir(data: Path) -> Path:
    return data / "images" / "session-01" / _consenting(data)


def _image_file(name: str, content: bytes | Callable[[Path], bytes]) -> Mutation:
    def mutate(data: Path, _: Path) -> None:
        folder = _student_dir(data)
        (folder / name).write_bytes(content(folder) if callable(content) else content)
    return mutate


def _png_header(width: int, height: int) -> bytes:
    """A valid PNG header claiming width x height px with almost no data (a real photo that size is huge)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def _huge_png_header() -> bytes:
    """Past twice PIL's own limit (200 MP): PIL refuses it at open."""
    return _png_header(20000, 10000)


def _blank_png(_: Path) -> bytes:
    """A white 48 x 48 square, as a broken camera gives: taken for a crop, it has no face."""
    import io
    from PIL import Image
    buffer = io.BytesIO()
    Image.new("L", (48, 48), 255).save(buffer, format="PNG")
    return buffer.getvalue()


def _link(name: str, target: Callable[[Path, Path], Path]) -> Mutation:
    def mutate(data: Path, scratch: Path) -> None:
        (_student_dir(data) / name).symlink_to(target(data, scratch))
    return mutate


def _outside_file(data: Path, scratch: Path) -> Path:
    source = next(_student_dir(data).glob("*.png"))
    copy = scratch / "outside.png"
    copy.write_bytes(source.read_bytes()[::-1])        # different content, outside the cohort folder
    return copy


def _outside_dir(data: Path, scratch: Path) -> Path:
    folder = scratch / "elsewhere"
    folder.mkdir()
    (folder / "x.png").write_bytes(next(_student_dir(data).glob("*.png")).read_bytes()[::-1])
    return folder


def _linked_student_dir(data: Path, scratch: Path) -> None:
    (data / "images" / "session-01" / "S005-99999").symlink_to(_outside_dir(data, scratch), target_is_directory=True)


def _non_utf8_name(data: Path, _: Path) -> None:
    folder = _student_dir(data)
    source = next(folder.glob("*.png"))
    (folder / os.fsdecode(b"caf\xe9.png")).write_bytes(source.read_bytes()[::-1])


def _new_session_folder(data: Path, _: Path) -> None:
    target = data / "images" / "session-13" / _consenting(data)
    target.mkdir(parents=True)
    shutil.copy(next(_student_dir(data).glob("*.png")), target / "1.png")


def _unknown_student(data: Path, _: Path) -> None:
    target = data / "images" / "session-01" / "S005-99999"
    target.mkdir()
    (target / "1.png").write_bytes(next(_student_dir(data).glob("*.png")).read_bytes()[::-1])


def _duplicate(data: Path, _: Path) -> None:
    folder = _student_dir(data)
    shutil.copy(next(folder.glob("*.png")), folder / "copy.png")


def _seat_map(edit: Callable[[pd.DataFrame], pd.DataFrame]) -> Mutation:
    return _edit_csv("images/seat_map.csv", edit)


def _overlap(table: pd.DataFrame) -> pd.DataFrame:
    table.loc[1, "x"] = str(int(table.loc[0, "x"]) + 10)
    table.loc[1, "y"] = table.loc[0, "y"]
    return table


def _seat_outside(table: pd.DataFrame) -> pd.DataFrame:
    table.loc[len(table) - 1, "x"] = "100000"
    return table


def _unknown_camera(data: Path, _: Path) -> None:
    frame = (data / "images" / "session-02" / "cam1.jpg").read_bytes()
    (data / "images" / "session-02" / "cam9.jpg").write_bytes(frame + b"\0")    # other bytes, same picture


def _manifest(rows: str) -> Mutation:
    def mutate(data: Path, _: Path) -> None:
        (data / "manifest.csv").write_text("path,student_id,session_id\n" + rows)
    return mutate


def _cp1252_roster(data: Path, _: Path) -> None:
    text = (data / "roster.csv").read_text().replace(
        ",".join((_consenting(data), "yes")) + ",", ",".join((_consenting(data), "yes")) + ",Zoë Ñúñez ")
    (data / "roster.csv").write_bytes(text.encode("cp1252"))


# --- enrolment (identity = "enrolment"; real faces from ../shared, skipped when absent) ----

IDENTITY = {"VADGRADE_IDENTITY": "enrolment"}


def _consenting_ids(data: Path) -> list[str]:
    roster = pd.read_csv(data / "roster.csv", dtype=str)
    return roster.loc[roster["consent"] == "yes", "student_id"].tolist()


def _enrolment(defect: Callable[[Path, list[str]], None] | None = None, students: int = 3) -> Mutation:
    """Three consenting students enrol with two Yale photos each, then `defect(data, consenting ids)`."""
    def mutate(data: Path, _: Path) -> None:
        from tests.yale import enrol
        ids = _consenting_ids(data)
        for student, subject in zip(ids[:students], ("subject01", "subject02", "subject03")):
            enrol(data, student, subject)
        if defect is not None:
            defect(data, ids)
    return mutate


def _enrol(student: Callable[[Path, list[str]], str], conditions=("normal", "happy")):
    def defect(data: Path, ids: list[str]) -> None:
        from tests.yale import enrol
        enrol(data, student(data, ids), "subject04", conditions)
    return defect


def _refusing(data: Path, _: list[str]) -> str:
    roster = pd.read_csv(data / "roster.csv", dtype=str)
    return str(roster.loc[roster["consent"] == "no", "student_id"].iloc[0])


def _enrolment_file(name: str, content: Callable[[Path], bytes]):
    def defect(data: Path, ids: list[str]) -> None:
        folder = data / "enrolment" / ids[0]
        (folder / name).write_bytes(content(folder))
    return defect


def _two_faces(_: Path) -> bytes:
    import io
    from PIL import Image
    from tests.yale import frame_of
    buffer = io.BytesIO()
    Image.fromarray(frame_of(("subject06", "normal"), ("subject07", "normal"))).save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass(frozen=True)
class Case:
    id: str
    mutate: Mutation | None
    exit_code: int
    message: str                          # expected in the output
    argv: tuple[str, ...] = ("ingest",)
    env: dict[str, str] = field(default_factory=dict)
    stored: int = 0                       # images stored beyond the base cohort's (set-aside runs)
    frames_lost: bool = False             # the frame waits for a fixed seat map
    from_base_store: bool = False         # start from the base cohort's store (not an empty home)


STOPS = [
    Case("gradebook-missing-column", _edit_csv("gradebook.csv", lambda t: t.drop(columns="final_grade")), 2,
         "missing column(s): final_grade"),
    Case("gradebook-gpa-not-a-number", _set("gradebook.csv", 1, "gpa", "lots"), 2,
         "line 3 (student_id 'S005-00001'): gpa 'lots' is not a number"),
    Case("gradebook-gpa-out-of-range", _set("gradebook.csv", 0, "gpa", "7.5"), 2, "gpa '7.5' is outside [0, 4]"),
    Case("gradebook-score-out-of-range", _set("gradebook.csv", 0, "test_01", "140"), 2,
         "test_01 '140' is outside [0, 100]"),
    Case("gradebook-duplicate-student", _set("gradebook.csv", 1, "student_id", "S005-00000"), 2,
         "duplicate student_id (also at 2)"),
    Case("gradebook-blank-student", _set("gradebook.csv", 2, "student_id", ""), 2, "line 4 (student_id <blank>)"),
    Case("gradebook-empty-file", _write("gradebook.csv", ""), 2, "the file is empty (no header row)"),
    Case("gradebook-header-only", _write("gradebook.csv", "student_id,gpa,final_grade\n"), 2,
         "the file has a header but no data rows"),
    Case("gradebook-short-row", _truncate_row("gradebook.csv", 3), 2, "line 3 (student_id 'S005-00001'): expected 15 fields, found 5"),
    Case("gradebook-extra-test", _edit_csv("gradebook.csv", lambda t: t.assign(test_13="50")), 2,
         "unexpected test column(s) test_13 for n_tests=12"),
    Case("gradebook-missing-file", _remove("gradebook.csv"), 2, "gradebook.csv: 1 problem(s)"),
    Case("gradebook-is-a-workbook", _write("gradebook.csv", b"PK\x03\x04\x14\x00\x00\x00xl/workbook.xml"), 2,
         "binary file, not CSV text"),
    Case("roster-missing-consent", _edit_csv("roster.csv", lambda t: t.drop(columns="consent")), 2,
         "missing column(s): consent"),
    Case("roster-consent-unclear", _set("roster.csv", 0, "consent", "maybe"), 2,
         "consent 'maybe' is not one of true/false/yes/no/1/0"),
    Case("roster-consent-blank", _set("roster.csv", 0, "consent", ""), 2, "consent blank is not one of"),
    Case("roster-duplicate-student", _set("roster.csv", 1, "student_id", "S005-00000"), 2, "duplicate student_id"),
    Case("roster-missing-file", _remove("roster.csv"), 2, "file not found"),
    Case("sessions-bad-date", _set("sessions.csv", 0, "held_on", "01/09/2025"), 2,
         "line 2 (session_id 'session-01'): held_on '01/09/2025' is not a YYYY-MM-DD date"),
    Case("sessions-duplicate", _set("sessions.csv", 1, "session_id", "session-01"), 2,
         "duplicate session_id 'session-01'"),
    Case("sessions-missing-file", _remove("sessions.csv"), 2, "sessions.csv: 1 problem(s)"),
    Case("manifest-missing-columns", _write("manifest.csv", "path,student\nx.png,S005-00000\n"), 2,
         "missing column(s): student_id, session_id"),
    Case("no-images-and-no-manifest", _remove("images"), 2, "no images/ folder and no manifest.csv"),
    Case("too-few-students-to-train", _keep_labelled(4), 2, "labelled students (consenting, with a final grade) is too few", argv=("run",)),
    Case("config-file-missing", None, 2, "config file nope.toml not found", argv=("--config", "nope.toml", "ingest")),
    Case("invalid-setting", None, 2, "invalid settings", env={"VADGRADE_ACADEMIC__N_SPLITS": "1"}, argv=("run",)),
    Case("report-unknown-cohort", None, 2, "unknown cohort 'typo'", argv=("report", "--cohort", "typo"),
         from_base_store=True),
    Case("train-unknown-cohort", None, 2, "cohort 'typo': 1 problem(s)", argv=("train-predictors", "--cohort", "typo"),
         from_base_store=True),
    Case("forget-unknown-student", None, 2, "'S005-99999' is not stored", argv=("forget", "S005-99999", "--yes"),
         from_base_store=True),
    Case("export-unknown-table", None, 2, "unknown table 'nope'", argv=("export", "nope"), from_base_store=True),
    Case("identity-without-enrolment-folder", None, 2, 'identity = "enrolment" but there is no enrolment/ folder',
         env=IDENTITY),
]

SET_ASIDE = [
    Case("corrupt-image", _image_file("bad.png", b"\x89PNG\r\n\x1a\nnot really"), 0,
         "corrupt or truncated image", stored=1),
    Case("truncated-jpeg", _image_file("cut.jpg", lambda d: (d.parents[1] / "session-02" / "cam1.jpg")
                                       .read_bytes()[:600]), 0, "corrupt or truncated image", stored=1),
    Case("zero-byte-file", _image_file("empty.png", b""), 0, "not an image file (unknown or corrupt format)", stored=1),
    Case("text-named-png", _image_file("notes.png", b"just some text\n"), 0, "not an image file (unknown or corrupt",
         stored=1),
    Case("image-too-large", _image_file("huge.png", _huge_png_header()), 0,
         "image too large (over 178,956,970 px, limit 80,000,000 px)", stored=1),
    Case("photo-over-the-limit", _image_file("big.png", _png_header(9000, 9000)), 0,
         "image too large (9000x9000 px, limit 80,000,000 px)", stored=1),
    Case("blank-crop", _image_file("white.png", _blank_png), 0, "blank or flat image", stored=1),
    Case("not-an-image-by-name", _image_file("notes.txt", b"x"), 0, "not an image file (by name)"),
    Case("unknown-student-folder", _unknown_student, 0, "unknown student (not on the roster; not opened)"),
    Case("session-not-in-sessions-csv", _new_session_folder, 0, "session 'session-13' is not in sessions.csv"),
    Case("link-to-file-outside", _link("out.png", _outside_file), 0, "leads outside the cohort folder"),
    Case("link-to-etc-passwd", _link("passwd.png", lambda d, s: Path("/etc/passwd")), 0,
         "leads outside the cohort folder"),
    Case("linked-folder-outside", _linked_student_dir, 0, "leads outside the cohort folder"),
    Case("name-not-utf8", _non_utf8_name, 0, "caf\\xe9.png"),
    Case("duplicate-content", _duplicate, 0, "same content as"),
    Case("seat-map-not-a-number", _set("images/seat_map.csv", 0, "x", "abc"), 0, "x 'abc' not a number",
         frames_lost=True),
    Case("seat-map-overlap", _seat_map(_overlap), 0, "overlap", frames_lost=True),
    Case("seat-outside-frame", _seat_map(_seat_outside), 0, "is not inside its"),
    Case("frame-of-unknown-camera", _unknown_camera, 0, "frame of camera 'cam9' has no valid seat map"),
    Case("manifest-outside-root", _manifest("../../etc/passwd,S005-00000,session-01\n"), 0,
         "manifest path outside the data root"),
    Case("manifest-missing-file", _manifest("images/gone.png,S005-00000,session-01\n"), 0, "manifest path not found"),
    Case("manifest-blank-student", _manifest("images/seat_map.csv,,session-01\n"), 0,
         "manifest row without student_id or session_id"),
    Case("manifest-short-row", _manifest("images/x.png\n"), 0, "malformed manifest row"),
    Case("student-without-consent", None, 0, "no consent (not opened)"),
    Case("roster-saved-as-cp1252", _cp1252_roster, 0, "images_scored"),
    Case("student-removed-from-roster", _edit_csv("roster.csv", lambda t: t.iloc[1:]), 0, '"students_off_roster": 1',
         from_base_store=True),
    Case("enrolment-of-unknown-student", _enrolment(_enrol(lambda d, ids: "S005-99999")), 0,
         "unknown student (not on the roster; not opened)", env=IDENTITY),
    Case("enrolment-without-consent", _enrolment(_enrol(_refusing)), 0, "no consent (not opened)", env=IDENTITY),
    Case("enrolment-one-photo", _enrolment(_enrol(lambda d, ids: ids[3], ("normal",))), 0,
         "1 enrolment photo(s); 2 to 5 are needed (not opened, not enrolled)", env=IDENTITY),
    Case("enrolment-six-photos", _enrolment(_enrol(lambda d, ids: ids[3], ("normal", "happy", "sad", "sleepy",
                                                                            "surprised", "wink"))), 0,
         "6 enrolment photo(s); 2 to 5 are needed (not opened, not enrolled)", env=IDENTITY),
    Case("enrolment-unreadable-photo", _enrolment(_enrolment_file("bad.png", lambda _: b"\x89PNG\r\n\x1a\nnot really")),
         0, "corrupt or truncated image", env=IDENTITY),
    Case("enrolment-photo-of-two-faces", _enrolment(_enrolment_file("two.png", _two_faces)), 0,
         "2 faces in the enrolment photo (it must show one)", env=IDENTITY),
    Case("enrolment-of-one-student-only", _enrolment(students=1), 0,
         "nobody to match its faces to: at least 2 enrolled students are needed", env=IDENTITY, frames_lost=True),
]


def _run(case: Case, base_cohort: Path, base_store: Path, tmp_path: Path, monkeypatch):
    data = Path(shutil.copytree(base_cohort, tmp_path / "cohort", symlinks=True))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    home = tmp_path / "home"
    if case.from_base_store:
        shutil.copytree(base_store, home)
    if case.mutate is not None:
        case.mutate(data, scratch)
    _env(monkeypatch, home, data, **case.env)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, list(case.argv))
    return result, data, home


@pytest.mark.parametrize("case", STOPS, ids=lambda c: c.id)
def test_bad_input_stops_with_one_message_and_writes_nothing(case, base_cohort, base_store, tmp_path, monkeypatch):
    db_before = (base_store / "vadgrade.duckdb").read_bytes() if case.from_base_store else None
    result, _, home = _run(case, base_cohort, base_store, tmp_path, monkeypatch)
    assert result.exit_code == case.exit_code, result.output
    assert case.message in result.output, result.output
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    db = home / "vadgrade.duckdb"
    if case.from_base_store:
        assert _rows(db, "SELECT count(*) FROM images") == _rows(base_store / "vadgrade.duckdb",
                                                                  "SELECT count(*) FROM images")
    else:
        assert not db.exists() and db_before is None       # nothing was written before the check


@pytest.mark.parametrize("case", SET_ASIDE, ids=lambda c: c.id)
def test_bad_file_is_named_and_the_rest_is_stored_once(case, base_cohort, base_store, tmp_path, monkeypatch):
    result, data, home = _run(case, base_cohort, base_store, tmp_path, monkeypatch)
    assert result.exit_code == case.exit_code, result.output
    assert case.message in result.output, result.output
    assert "Traceback" not in result.output and result.exception is None

    db, base_db = home / "vadgrade.duckdb", base_store / "vadgrade.duckdb"
    base_sources = _stored_sources(base_db, base_cohort)
    if case.frames_lost:
        base_sources = {s for s in base_sources if "cam" not in s}
    stored = _stored_sources(db, data, *([base_cohort] if case.from_base_store else []))
    assert base_sources <= stored                                           # nothing lost
    assert len(stored) == len(base_sources) + case.stored                   # nothing extra
    assert _rows(db, "SELECT count(*) - count(DISTINCT content_hash) FROM images") == [(0,)]   # nothing twice
    per_student = ("SELECT s.student_id, count(f.student_id) FROM students s LEFT JOIN face_observations f "
                   "USING (cohort, student_id) WHERE {} GROUP BY ALL ORDER BY ALL")
    assert all(n == 0 for _, n in _rows(db, per_student.format("NOT s.consent")))      # never scored
    off_roster = _rows(db, per_student.format("NOT s.on_roster"))                       # nothing added
    assert off_roster == [(sid, n) for sid, n in _rows(base_db, per_student.format("true")) if (sid,) in
                          {(o,) for o, _ in off_roster}]
    summary = json.loads(sorted(home.glob("run-*.json"))[-1].read_text())
    images = summary["images"]
    assert images["images_found"] >= images["images_scored"] + images["images_already_stored"]


def test_corpus_is_large_enough():
    assert len(STOPS) + len(SET_ASIDE) >= 40
