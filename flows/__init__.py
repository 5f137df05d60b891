"""flows: Prefect orchestration, the CLI and the settings; the only package that knows all others."""
import os

# The ephemeral Prefect server would try to send telemetry (no network here) and, doing
# so, races the run for its SQLite file ("database is locked"): keep it off.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# MLflow (3.17) sends usage data unless told not to; it reads this when `mlflow` is first
# imported, and `vadgrade ui`'s server inherits it. Student data never goes there, but a
# tool for schools should not phone home at all.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
