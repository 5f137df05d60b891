"""flows: Prefect orchestration, the CLI and the settings; the only package that knows all others."""
import os

# The ephemeral Prefect server would try to send telemetry (no network here) and, doing
# so, races the run for its SQLite file ("database is locked"): keep it off.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
