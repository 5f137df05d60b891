"""`vadgrade serve`: the classroom pipeline as a Prefect deployment on a cron schedule."""
from __future__ import annotations

from prefect import serve
from prefect.client.schemas.schedules import CronSchedule

from flows.pipeline import classroom_pipeline
from flows.settings import Settings


def pipeline_deployment(settings: Settings):
    """The deployment `serve` runs; built separately so tests can inspect it without serving.

    The flow reads its settings when it runs (file + env), so a changed vadgrade.toml
    applies to the next scheduled run without re-deploying.
    """
    return classroom_pipeline.to_deployment(
        name=settings.flows.deployment,
        schedule=CronSchedule(cron=settings.flows.cron, timezone=settings.flows.timezone),
        tags=["vadgrade", f"cohort:{settings.cohort}"],
        description="Score new classroom images, update aggregates, retrain predictors, refresh the report.",
    )


def serve_pipeline(settings: Settings) -> None:  # pragma: no cover - blocks until stopped
    serve(pipeline_deployment(settings))
