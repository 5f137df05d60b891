"""The one settings object: defaults < `vadgrade.toml` < `VADGRADE_*` env vars < CLI options.

Library packages never import this; flows and the CLI read it and pass plain
arguments down (`affect.extract(..., batch_size=settings.affect.batch_size)`).
Nested values come from env vars with a double underscore, e.g.
`VADGRADE_ACADEMIC__PASS_MARK=55`; `VADGRADE_CONFIG` names another TOML file.
"""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import (BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict,
                               TomlConfigSettingsSource)

from affect.detect import SCORE_THRESHOLD
from affect.video import FRAME_INTERVAL_S

CONFIG_ENV = "VADGRADE_CONFIG"
DEFAULT_CONFIG = "vadgrade.toml"


class AffectSettings(BaseModel):
    weights_dir: Path | None = None          # None: the weights shipped inside the package
    batch_size: int = Field(64, ge=1)
    device: str = "auto"                     # auto | cpu | cuda | cuda:N
    # Which network scores crops: auto = the weights' int8 network on a CPU (affect/int8.py,
    # affect/distil.py; faster, its accuracy recorded apart), torch elsewhere; or "torch" / "int8".
    backend: Literal["auto", "torch", "int8"] = "auto"
    # DataLoader workers that decode and detect. 0 in the pipeline: its extraction tasks
    # already run two at a time (measured: ingest of the demo 34 s with 0, 40 s with 2).
    num_workers: int = Field(0, ge=0)
    detect: str = "auto"                     # auto | always | never (inputs are crops)
    score_threshold: float = Field(SCORE_THRESHOLD, gt=0, lt=1)   # YuNet's minimum face score in photos/frames
    align: bool = True                       # warp faces by their landmarks to the FER framing (else by box)
    frame_interval_s: float = Field(FRAME_INTERVAL_S, gt=0)       # videos: one frame sampled per interval
    store_crops: bool = False                # face crops are not kept unless asked for
    crops_dir: Path | None = None            # where crops go when store_crops is on


class WarehouseSettings(BaseModel):
    n_tests: int = Field(12, ge=1)
    gpa_range: tuple[float, float] = (0.0, 4.0)
    score_range: tuple[float, float] = (0.0, 100.0)


class AcademicSettings(BaseModel):
    n_splits: int = Field(5, ge=2)
    n_repeats: int = Field(5, ge=1)
    seed: int = 0
    pass_mark: float = 50.0
    # Processes scoring model x feature-set cells side by side (-1: every core); the
    # results do not depend on it. The demo's analysis: 28 s with 1, 17 s with 2 (2 cores).
    n_jobs: int = Field(-1, ge=-1)

    @field_validator("n_jobs")
    @classmethod
    def _some_process(cls, value: int) -> int:
        if value == 0:
            raise ValueError("n_jobs must be -1 (every core) or a positive number of processes, not 0")
        return value
    experiment: str = "vadgrade-grades"
    registered_model: str = "vadgrade-grade"    # each cohort registers <this>-<cohort>


class FlowSettings(BaseModel):
    cron: str = "0 6 * * 1"                  # weekly, Monday 06:00
    timezone: str = "UTC"
    deployment: str = "vadgrade-weekly"
    images_per_task: int = Field(256, ge=1)  # one extraction task (and one DB write) per chunk
    task_retries: int = Field(2, ge=0)
    # Where extraction tasks run: "local" threads in this process, or a Dask cluster
    # (dask_address of a running `dask scheduler`; empty: a LocalCluster of dask_workers
    # processes). The flow stays the only writer to DuckDB either way.
    task_runner: Literal["local", "dask"] = "local"
    dask_address: str = ""
    dask_workers: int = Field(2, ge=1)

    @field_validator("cron")
    @classmethod
    def _five_fields(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError(f"cron must have 5 fields (minute hour day month weekday), got {value!r}")
        return value


class Settings(BaseSettings):
    """Where things live and how each step runs."""

    model_config = SettingsConfigDict(env_prefix="VADGRADE_", env_nested_delimiter="__", extra="forbid")

    home: Path = Path(".vadgrade")                   # every file the product writes
    cohort: str = "demo"
    data_dir: Path = Path("sample_data/demo")        # gradebook.csv, roster.csv, sessions.csv, images/
    # Whose face is it, in classroom frames: "layout" (a per-student folder, or the seat map),
    # or "enrolment" (matched to consenting students' photos in <data_dir>/enrolment/).
    identity: Literal["layout", "enrolment"] = "layout"
    tracking_uri: str | None = None                  # None: sqlite:///<home>/mlflow.db
    affect: AffectSettings = AffectSettings()
    warehouse: WarehouseSettings = WarehouseSettings()
    academic: AcademicSettings = AcademicSettings()
    flows: FlowSettings = FlowSettings()

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource):
        toml = TomlConfigSettingsSource(settings_cls, toml_file=os.environ.get(CONFIG_ENV, DEFAULT_CONFIG))
        return init_settings, env_settings, toml

    # Derived locations: one place decides the layout under `home`.
    @property
    def db_path(self) -> Path:
        return self.home / "vadgrade.duckdb"

    @property
    def mlflow_uri(self) -> str:
        return self.tracking_uri or f"sqlite:///{(self.home / 'mlflow.db').resolve()}"

    @property
    def registered_model_name(self) -> str:
        """This cohort's registered model, so training and reports of one cohort never touch another's.

        MLflow refuses '/' and ':' in names; any character outside [A-Za-z0-9._-] becomes '-',
        and a short hash of the cohort then keeps e.g. 'a/b' and 'a:b' apart.
        """
        safe = re.sub(r"[^A-Za-z0-9._-]", "-", self.cohort)
        if safe != self.cohort:
            safe += "-" + hashlib.sha1(self.cohort.encode()).hexdigest()[:6]
        return f"{self.academic.registered_model}-{safe}"

    @property
    def artifacts_dir(self) -> Path:
        return self.home / "mlartifacts"

    @property
    def stored_crops_dir(self) -> Path:
        """Where face crops go when affect.store_crops is on."""
        return self.affect.crops_dir or self.home / "crops"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def exports_dir(self) -> Path:
        return self.home / "exports"
