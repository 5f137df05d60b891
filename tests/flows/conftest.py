"""One Prefect test harness for every flow test (a server start costs ~10 s), and a small cohort."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from flows.settings import AcademicSettings, AffectSettings, FlowSettings, Settings


@pytest.fixture(scope="session", autouse=True)
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness
    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def small_cohort(tmp_path_factory) -> Path:
    """12 students x 3 sessions (the last one as a classroom frame) from the sample generator."""
    from sample_data.generate import generate
    return generate(tmp_path_factory.mktemp("cohort") / "demo", seed=3, n_students=12, n_sessions=3, frame_sessions=1)


def make_settings(home: Path, data_dir: Path, **flows) -> Settings:
    return Settings(home=home, data_dir=data_dir, cohort="test-cohort",
                    affect=AffectSettings(num_workers=0),
                    academic=AcademicSettings(n_splits=3, n_repeats=2),
                    flows=FlowSettings(**flows))


@pytest.fixture
def cohort_copy(small_cohort, tmp_path) -> Path:
    """A private copy a test may damage."""
    return Path(shutil.copytree(small_cohort, tmp_path / "data"))


def files_naming(roots: list[Path], needle: str | bytes) -> list[str]:
    """Files under `roots` whose bytes hold `needle`, also inside base64 (how Prefect stores pickles)."""
    import base64
    import binascii
    import re
    found = []
    for root in roots:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            data = path.read_bytes()
            decoded = []
            for run in re.findall(rb"[A-Za-z0-9+/=\r\n]{24,}", data):
                try:
                    decoded.append(base64.b64decode(re.sub(rb"\s", b"", run)))
                except (binascii.Error, ValueError):
                    continue
            if any((needle if isinstance(needle, bytes) else needle.encode()) in blob for blob in (data, *decoded)):
                found.append(str(path))
    return found
