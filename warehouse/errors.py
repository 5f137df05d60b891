"""Errors the warehouse raises for bad input, so callers can tell them from bugs."""
from __future__ import annotations


class InputError(ValueError):
    """Input that cannot be loaded; the message names the source and lists every problem.

    A teacher fixing a CSV should see all offending rows at once, not one per attempt,
    so validators collect problems and raise once.
    """

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = list(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"{source}: {len(self.problems)} problem(s)\n{lines}")
