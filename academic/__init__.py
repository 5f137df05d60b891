"""academic."""
