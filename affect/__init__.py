"""affect: faces -> continuous Valence/Arousal/Dominance + expression category.

`affect.extract(images, batch_size=..., device=...)` is the entry point; it is loaded
lazily so that `affect.schema` stays importable without torch.
"""
from __future__ import annotations

__all__ = ["extract", "load_model", "load_network"]


def __getattr__(name: str):
    if name == "extract":
        from affect.extraction import extract
        return extract
    if name == "load_model":
        from affect.weights import load_model
        return load_model
    if name == "load_network":
        from affect.network import load_network
        return load_network
    raise AttributeError(f"module 'affect' has no attribute {name!r}")
