"""Stream operators: decoders, frames, event assembly; ``Pipeline`` chains them from a
manifest (``from ailib.pipeline import Pipeline``), loaded only when first used."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ailib.pipeline.operators import Pipeline

__all__ = ["Pipeline"]


def __getattr__(name: str) -> Any:
    if name == "Pipeline":
        from ailib.pipeline.operators import Pipeline

        return Pipeline
    raise AttributeError(f"module 'ailib.pipeline' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
