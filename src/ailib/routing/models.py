"""Models as the manifests describe them: ``ModelInfo`` and ``ModelManager``.

Everything comes from each manifest's ``metadata.models.<id>`` entry (``capabilities``,
``context_window``, ``max_output_tokens``, ``pricing``, ``quality``); no model list is
kept in code.

Example::

    manager = create_openai_models()
    manager.merge(create_anthropic_models())
    vision = manager.filter_by_capability("vision")
    best_chat = manager.recommend_for("chat")
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import attrs

from ailib.errors import InvalidRequestError
from ailib.tokens.pricing import ModelPricing, effective_manifest, pricing_from_entry

# A use case names the capabilities a model needs for it; a manifest capability works too.
USE_CASES: dict[str, frozenset[str]] = {
    "chat": frozenset({"text"}),
    "code_generation": frozenset({"text", "tools"}),
    "function_calling": frozenset({"tools"}),
    "tool_use": frozenset({"tools"}),
    "vision": frozenset({"vision"}),
    "reasoning": frozenset({"reasoning"}),
    "structured_output": frozenset({"structured_output"}),
    "audio": frozenset({"audio_in"}),
    "speech": frozenset({"audio_out"}),
    "embedding": frozenset({"embeddings"}),
}


@attrs.frozen
class PricingInfo:
    """A model's prices per 1K tokens (the manifest's per-1M rates / 1000)."""

    input_cost_per_1k: float
    output_cost_per_1k: float
    currency: str = "USD"
    source: ModelPricing | None = attrs.field(default=None, eq=False, repr=False)

    @classmethod
    def from_pricing(cls, pricing: ModelPricing) -> PricingInfo:
        return cls(
            pricing.input_price_per_1k, pricing.output_price_per_1k, pricing.currency, pricing
        )

    @property
    def blended_per_1k(self) -> float:
        """Input and output at 3:1, the usual chat mix; what cost selection compares."""
        return (3 * self.input_cost_per_1k + self.output_cost_per_1k) / 4


@attrs.frozen
class ModelInfo:
    """One model of one provider, from its manifest entry.

    Example::

        info = create_openai_models().get("gpt-4o")
        info.id, info.supports("vision"), info.pricing.input_cost_per_1k, info.quality
    """

    name: str
    provider: str
    capabilities: frozenset[str] = frozenset()
    context_window: int | None = None
    max_output_tokens: int | None = None
    pricing: PricingInfo | None = None
    quality: float | None = None

    @property
    def id(self) -> str:
        """``provider/model``, what ``AiClient.create`` takes."""
        return f"{self.provider}/{self.name}"

    @property
    def input_modalities(self) -> frozenset[str]:
        caps = self.capabilities
        found = {"text"} if "text" in caps else set()
        found |= {"image"} if "vision" in caps else set()
        found |= {"audio"} if "audio_in" in caps else set()
        return frozenset(found)

    @property
    def output_modalities(self) -> frozenset[str]:
        caps = self.capabilities
        found = {"text"} if "text" in caps else set()
        found |= {"audio"} if "audio_out" in caps else set()
        return frozenset(found)

    def supports(self, capability: str) -> bool:
        """True when the model has ``capability`` (a manifest capability or a use case)."""
        return _needs(capability) <= self.capabilities

    @classmethod
    def from_entry(
        cls, provider: str, name: str, entry: dict[str, Any], as_of: str | None
    ) -> ModelInfo:
        caps = entry.get("capabilities")
        price = pricing_from_entry(provider, name, entry, as_of)
        quality = entry.get("quality")
        return cls(
            name=name,
            provider=provider,
            capabilities=frozenset(str(c) for c in caps) if isinstance(caps, list) else frozenset(),
            context_window=_int_or_none(entry.get("context_window")),
            max_output_tokens=_int_or_none(entry.get("max_output_tokens")),
            pricing=PricingInfo.from_pricing(price) if price is not None else None,
            quality=float(quality)
            if isinstance(quality, int | float) and not isinstance(quality, bool)
            else None,
        )


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _needs(capability: str) -> frozenset[str]:
    if not isinstance(capability, str) or not capability:
        raise InvalidRequestError(f"capability must be a non-empty str, got {capability!r}")
    return USE_CASES.get(capability, frozenset({capability}))


class ModelManager:
    """A set of models, keyed by ``provider/model``.

    Example::

        manager = create_models("openai", "anthropic")
        cheap_vision = CostBasedSelector().select(manager.filter_by_capability("vision"))
    """

    def __init__(self, models: Iterable[ModelInfo] = ()) -> None:
        self._models: dict[str, ModelInfo] = {}
        for model in models:
            self.add(model)

    def add(self, model: ModelInfo) -> None:
        if not isinstance(model, ModelInfo):
            raise InvalidRequestError(f"expected a ModelInfo, got {type(model).__name__}")
        self._models[model.id] = model

    def merge(self, other: ModelManager) -> ModelManager:
        """Add ``other``'s models (same ``provider/model``: other's wins); returns self."""
        if not isinstance(other, ModelManager):
            raise InvalidRequestError(f"merge expects a ModelManager, got {type(other).__name__}")
        self._models.update(other._models)
        return self

    def get(self, model: str) -> ModelInfo | None:
        """By ``provider/model``, or by bare model id (the first provider listing it)."""
        if model in self._models:
            return self._models[model]
        return next((m for m in self._models.values() if m.name == model), None)

    def list_models(self) -> list[ModelInfo]:
        return list(self._models.values())

    def filter_by_capability(self, capability: str) -> list[ModelInfo]:
        """Models with ``capability``: a manifest capability (``vision``, ``tools``...) or a
        use case of ``USE_CASES`` (``code_generation`` = text + tools)."""
        needs = _needs(capability)
        return [m for m in self._models.values() if needs <= m.capabilities]

    def recommend_for(self, use_case: str) -> ModelInfo | None:
        """The best model for ``use_case``: highest declared quality, then cheapest; None
        when no model fits."""
        fits = self.filter_by_capability(use_case)
        if not fits:
            return None

        def rank(m: ModelInfo) -> tuple[float, float]:
            cost = m.pricing.blended_per_1k if m.pricing is not None else float("inf")
            return (-(m.quality if m.quality is not None else -1.0), cost)

        return min(fits, key=rank)

    def __len__(self) -> int:
        return len(self._models)

    def __iter__(self) -> Iterator[ModelInfo]:
        return iter(list(self._models.values()))

    def __contains__(self, model: object) -> bool:
        return isinstance(model, str) and self.get(model) is not None

    def __repr__(self) -> str:
        return f"ModelManager({len(self._models)} models)"


def create_models(*providers: str) -> ModelManager:
    """A manager with every model the named providers' manifests list (overrides count)."""
    manager = ModelManager()
    for provider in providers:
        manifest = effective_manifest(provider)
        if manifest is None:
            raise InvalidRequestError(f"unknown provider {provider!r}")
        as_of = manifest.prices_as_of
        for name, entry in manifest.models.items():
            if isinstance(entry, dict):
                manager.add(ModelInfo.from_entry(manifest.id, str(name), entry, as_of))
    return manager


def create_all_models() -> ModelManager:
    """Every model of every built-in provider manifest."""
    from ailib.providers._registry import PROVIDERS

    return create_models(*sorted(PROVIDERS))


def create_openai_models() -> ModelManager:
    return create_models("openai")


def create_anthropic_models() -> ModelManager:
    return create_models("anthropic")


def create_gemini_models() -> ModelManager:
    return create_models("gemini")


def create_mistral_models() -> ModelManager:
    return create_models("mistral")


def create_deepseek_models() -> ModelManager:
    return create_models("deepseek")


def create_ollama_models() -> ModelManager:
    return create_models("ollama")
