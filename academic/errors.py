"""Errors that callers (the CLI, flows) can catch and turn into a clear message."""
from __future__ import annotations


class InsufficientDataError(ValueError):
    """Too few labelled students to run the requested cross-validation."""


class LeakageError(ValueError):
    """A feature carries the target (or the frames carry columns they must not)."""


class NoChampionError(LookupError):
    """No model version holds the alias a report loads (e.g. this cohort was never trained)."""


class UnknownVersionError(LookupError):
    """A registered model has no version of the number asked for (e.g. `vadgrade promote 9`)."""
