"""Model routing and selection: models from the manifests, selectors, and ``ModelArray``.

Example::

    from ailib.routing import create_openai_models, create_anthropic_models, CostBasedSelector

    manager = create_openai_models()
    manager.merge(create_anthropic_models())
    cheapest = CostBasedSelector().select(manager.filter_by_capability("tools"))

Names load on first use: ``import ailib.routing`` reads no manifest.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ailib.routing._async_array import AsyncModelArray
    from ailib.routing._sync_array import ModelArray
    from ailib.routing.endpoint import Endpoint
    from ailib.routing.latency import LatencyPlugin, LatencyTracker
    from ailib.routing.models import (
        USE_CASES,
        ModelInfo,
        ModelManager,
        PricingInfo,
        create_all_models,
        create_anthropic_models,
        create_deepseek_models,
        create_gemini_models,
        create_mistral_models,
        create_models,
        create_ollama_models,
        create_openai_models,
    )
    from ailib.routing.selectors import (
        CostBasedSelector,
        LatencyBasedSelector,
        LeastInFlightSelector,
        ModelSelectionStrategy,
        QualityBasedSelector,
        RoundRobinSelector,
        Selector,
        WeightedSelector,
    )

_HOMES = {
    "AsyncModelArray": "_async_array",
    "ModelArray": "_sync_array",
    "Endpoint": "endpoint",
    "LatencyTracker": "latency",
    "LatencyPlugin": "latency",
    **dict.fromkeys(
        (
            "USE_CASES",
            "ModelInfo",
            "ModelManager",
            "PricingInfo",
            "create_all_models",
            "create_anthropic_models",
            "create_deepseek_models",
            "create_gemini_models",
            "create_mistral_models",
            "create_models",
            "create_ollama_models",
            "create_openai_models",
        ),
        "models",
    ),
    **dict.fromkeys(
        (
            "CostBasedSelector",
            "LatencyBasedSelector",
            "LeastInFlightSelector",
            "ModelSelectionStrategy",
            "QualityBasedSelector",
            "RoundRobinSelector",
            "Selector",
            "WeightedSelector",
        ),
        "selectors",
    ),
}

__all__ = [
    "USE_CASES",
    "AsyncModelArray",
    "CostBasedSelector",
    "Endpoint",
    "LatencyBasedSelector",
    "LatencyPlugin",
    "LatencyTracker",
    "LeastInFlightSelector",
    "ModelArray",
    "ModelInfo",
    "ModelManager",
    "ModelSelectionStrategy",
    "PricingInfo",
    "QualityBasedSelector",
    "RoundRobinSelector",
    "Selector",
    "WeightedSelector",
    "create_all_models",
    "create_anthropic_models",
    "create_deepseek_models",
    "create_gemini_models",
    "create_mistral_models",
    "create_models",
    "create_ollama_models",
    "create_openai_models",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'ailib.routing' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"ailib.routing.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
