"""Model prices from the manifests, and the cost of a call from its usage.

Prices live in each manifest, per model, in currency units per 1M tokens::

    metadata:
      prices_as_of: "2026-12-01"
      models:
        gpt-4o:
          context_window: 128000
          pricing: {input_per_1m: 2.5, output_per_1m: 10, cached_input_per_1m: 1.25}

Keys: ``input_per_1m`` and ``output_per_1m`` (required), ``cached_input_per_1m`` (cache
reads; default the input rate), ``cache_write_per_1m`` (default the input rate),
``reasoning_per_1m`` (only where billed apart; default the output rate),
``audio_input_per_1m`` / ``audio_output_per_1m`` (spoken input and output tokens, where
billed apart; default the input / output rate), ``currency``
(default USD) and ``tiers``: ``[{above_input_tokens: 200000, input_per_1m: ..., ...}]``,
rates for the whole call when its prompt is longer (keys a tier leaves out come from the
base). Upstream spellings ``cache_read_per_1m`` / ``cache_hit_input_per_1m`` are read too.

Example::

    get_model_pricing("gpt-4o").input_price_per_1k          # 0.0025
    estimate_cost(input_tokens=1000, output_tokens=500, model="gpt-4o").total_cost
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any

import attrs

from ailib.errors import InvalidRequestError, PriceNotFoundError
from ailib.types.response import ChatResponse, Cost, Usage

if TYPE_CHECKING:
    from ailib.protocol.manifest import Manifest
    from ailib.runtime.spec import ProviderSpec

CACHED_KEYS = ("cached_input_per_1m", "cache_read_per_1m", "cache_hit_input_per_1m")
RATE_KEYS = (
    "input_per_1m",
    "output_per_1m",
    "cache_write_per_1m",
    "reasoning_per_1m",
    "audio_input_per_1m",
    "audio_output_per_1m",
)
_SUFFIXES = (
    re.compile(r"-\d{4}-\d{2}-\d{2}$"),  # gpt-4o-2024-08-06
    re.compile(r"-\d{8}$"),  # claude-sonnet-4-5-20250929
    re.compile(r"@\d{8}$"),  # Vertex: claude-sonnet-4-5@20250929
    re.compile(r"-\d{3}$"),  # gemini-2.0-flash-001
)


def _input_rate(rates: Rates) -> float:
    return rates.input_per_1m


def _output_rate(rates: Rates) -> float:
    return rates.output_per_1m


@attrs.frozen
class Rates:
    """Prices per 1M tokens, with defaults resolved (cached and cache writes: the input
    rate; reasoning: the output rate; audio: the input / output rate)."""

    input_per_1m: float
    output_per_1m: float
    cached_input_per_1m: float
    cache_write_per_1m: float
    reasoning_per_1m: float
    audio_input_per_1m: float = attrs.field(default=attrs.Factory(_input_rate, takes_self=True))
    audio_output_per_1m: float = attrs.field(default=attrs.Factory(_output_rate, takes_self=True))

    def cost(self, usage: Usage, currency: str) -> Cost:
        """The cost of ``usage``: each part at its rate (audio among the uncached input
        and the non-reasoning output)."""
        cached = max(0, usage.cached_tokens)
        written = max(0, usage.cache_creation_tokens)
        fresh = max(0, usage.input_tokens - cached - written)
        spoken_in = max(0, min(usage.audio_input_tokens, fresh))
        reasoning = max(0, min(usage.reasoning_tokens, usage.output_tokens))
        answer = max(0, usage.output_tokens - reasoning)
        spoken_out = max(0, min(usage.audio_output_tokens, answer))
        cached_cost = cached * self.cached_input_per_1m / 1e6
        write_cost = written * self.cache_write_per_1m / 1e6
        reasoning_cost = reasoning * self.reasoning_per_1m / 1e6
        audio_in_cost = spoken_in * self.audio_input_per_1m / 1e6
        audio_out_cost = spoken_out * self.audio_output_per_1m / 1e6
        text_in_cost = (fresh - spoken_in) * self.input_per_1m / 1e6
        text_out_cost = (answer - spoken_out) * self.output_per_1m / 1e6
        return Cost(  # positional (fields in order: tests/unit/test_hot_path_fields.py)
            text_in_cost + audio_in_cost + cached_cost + write_cost,  # input_cost
            text_out_cost + audio_out_cost + reasoning_cost,  # output_cost
            cached_cost,  # cached_input_cost
            write_cost,  # cache_write_cost
            reasoning_cost,
            currency,
            audio_in_cost,  # audio_input_cost
            audio_out_cost,  # audio_output_cost
        )


@attrs.frozen
class ModelPricing:
    """A model's prices (per 1M tokens in ``currency``) and limits, from its manifest.

    Example::

        p = get_model_pricing("gpt-4o")
        p.input_price_per_1k, p.output_price_per_1k, p.context_window, p.prices_as_of
        p.cost(resp.usage).total_cost
    """

    provider: str
    model: str
    rates: Rates
    tiers: tuple[tuple[int, Rates], ...] = ()
    currency: str = "USD"
    context_window: int | None = None
    max_output_tokens: int | None = None
    prices_as_of: str | None = None

    @property
    def input_per_1m(self) -> float:
        return self.rates.input_per_1m

    @property
    def output_per_1m(self) -> float:
        return self.rates.output_per_1m

    @property
    def cached_input_per_1m(self) -> float:
        return self.rates.cached_input_per_1m

    @property
    def cache_write_per_1m(self) -> float:
        return self.rates.cache_write_per_1m

    @property
    def reasoning_per_1m(self) -> float:
        return self.rates.reasoning_per_1m

    @property
    def audio_input_per_1m(self) -> float:
        return self.rates.audio_input_per_1m

    @property
    def audio_output_per_1m(self) -> float:
        return self.rates.audio_output_per_1m

    @property
    def input_price_per_1k(self) -> float:
        return self.rates.input_per_1m / 1000

    @property
    def output_price_per_1k(self) -> float:
        return self.rates.output_per_1m / 1000

    @property
    def cached_input_price_per_1k(self) -> float:
        return self.rates.cached_input_per_1m / 1000

    def rates_for(self, input_tokens: int) -> Rates:
        """The rates a call with ``input_tokens`` of prompt is billed at (its tier's)."""
        chosen = self.rates
        for threshold, rates in self.tiers:
            if input_tokens > threshold:
                chosen = rates
        return chosen

    def cost(self, usage: Usage) -> Cost:
        """The cost of a call with this (normalized) usage."""
        return self.rates_for(usage.input_tokens).cost(usage, self.currency)


def pricing_from_entry(
    provider: str, model: str, entry: dict[str, Any], prices_as_of: str | None = None
) -> ModelPricing | None:
    """A ModelPricing from one ``metadata.models.<id>`` entry; None without ``pricing``."""
    price = entry.get("pricing")
    if not isinstance(price, dict) or "input_per_1m" not in price:
        return None
    base = _rates(price, None)
    tiers = tuple(
        sorted((int(t["above_input_tokens"]), _rates(t, price)) for t in price.get("tiers") or [])
    )
    window = entry.get("context_window")
    max_out = entry.get("max_output_tokens")
    return ModelPricing(
        provider,
        model,
        base,
        tiers,
        str(price.get("currency", "USD")),
        window if isinstance(window, int) and not isinstance(window, bool) else None,
        max_out if isinstance(max_out, int) and not isinstance(max_out, bool) else None,
        str(price.get("as_of") or prices_as_of) if (price.get("as_of") or prices_as_of) else None,
    )


def _rates(values: dict[str, Any], base: dict[str, Any] | None) -> Rates:
    def pick(*keys: str) -> float | None:
        for source in (values, base or {}):
            for key in keys:
                if source.get(key) is not None:
                    return float(source[key])
        return None

    given_input = pick("input_per_1m")
    given_output = pick("output_per_1m")
    input_rate = given_input if given_input is not None else 0.0
    output_rate = given_output if given_output is not None else 0.0
    cached = pick(*CACHED_KEYS)
    write = pick("cache_write_per_1m")
    reasoning = pick("reasoning_per_1m")
    audio_in = pick("audio_input_per_1m")
    audio_out = pick("audio_output_per_1m")
    return Rates(
        input_rate,
        output_rate,
        input_rate if cached is None else cached,
        input_rate if write is None else write,
        output_rate if reasoning is None else reasoning,
        input_rate if audio_in is None else audio_in,
        output_rate if audio_out is None else audio_out,
    )


def model_candidates(model: str) -> list[str]:
    """Names to try for a served model id: itself, then without a date or version suffix."""
    bare = model.removeprefix("models/")  # Gemini names its models "models/<id>"
    names = [model, bare, *(pattern.sub("", bare) for pattern in _SUFFIXES)]
    return list(dict.fromkeys(names))


#: (id(manifest), model) -> (manifest, pricing): each response's lookup, done once
_PRICED: dict[tuple[int, str], tuple[Manifest, ModelPricing | None]] = {}


def manifest_pricing(manifest: Manifest, model: str) -> ModelPricing | None:
    """The pricing a manifest gives ``model`` (dated ids fall back to their base id)."""
    key = (id(manifest), model)
    found = _PRICED.get(key)
    if found is not None and found[0] is manifest:
        return found[1]
    pricing = _manifest_pricing(manifest, model)
    if len(_PRICED) > 4096:  # many models or hot-reloaded manifests: stay bounded
        _PRICED.clear()
    _PRICED[key] = (manifest, pricing)
    return pricing


def _manifest_pricing(manifest: Manifest, model: str) -> ModelPricing | None:
    models = manifest.models
    lowered = {k.lower(): k for k in models}
    as_of = manifest.prices_as_of
    for name in model_candidates(model):
        key = name if name in models else lowered.get(name.lower())
        if key is not None:
            found = pricing_from_entry(manifest.id, key, models[key], as_of)
            if found is not None:
                return found
    return None


def attach_cost(response: ChatResponse, spec: ProviderSpec, model: str | None) -> ChatResponse:
    """``response``, its ``cost`` set from its usage and ``spec``'s prices (in place: the
    engine calls it on the response it has just built).

    The served model (``response.model``) is priced first, then the requested ``model``.
    Left as it is (``cost`` None) when neither has a price or the usage is empty.
    """
    usage = response.usage
    if usage.input_tokens <= 0 and usage.output_tokens <= 0:
        return response
    for name in (response.model, model):
        if name:
            pricing = manifest_pricing(spec.manifest, name)
            if pricing is not None:  # set on the response just built (frozen: no copy)
                object.__setattr__(response, "cost", pricing.cost(usage))
                return response
    return response


@functools.lru_cache(maxsize=1)
def _builtin_index() -> dict[str, tuple[str, ...]]:
    """Model id (lowercased) → built-in provider ids listing it with a price, best first."""
    from ailib.providers._registry import PROVIDERS
    from ailib.runtime.registry import compiled_spec

    index: dict[str, list[tuple[int, str]]] = {}
    for provider_id in sorted(PROVIDERS):
        spec = compiled_spec(provider_id)
        if spec is None:
            continue
        # the vendor's own API first: compatible endpoints and gateways declare
        # metadata.api_compatibility (azure-openai, openrouter, groq, ...)
        rank = 1 if (spec.manifest.data.get("metadata") or {}).get("api_compatibility") else 0
        for model, entry in spec.manifest.models.items():
            if isinstance(entry, dict) and isinstance(entry.get("pricing"), dict):
                index.setdefault(model.lower(), []).append((rank, provider_id))
    return {k: tuple(p for _, p in sorted(v)) for k, v in index.items()}


def effective_manifest(provider_id: str) -> Manifest | None:
    """The manifest in force for a provider: an override on the search path, else built-in."""
    from ailib.runtime.registry import canonical, compiled_spec, has_overrides

    provider_id = canonical(provider_id)
    if has_overrides(provider_id):
        from ailib.protocol.hot import ProtocolLoader

        loader = ProtocolLoader()
        try:
            return loader.get(provider_id).manifest
        finally:
            loader.close()
    spec = compiled_spec(provider_id)
    return spec.manifest if spec is not None else None


def get_model_pricing(model: str, *, provider: str | None = None) -> ModelPricing | None:
    """Prices and limits of ``model`` (``"gpt-4o"`` or ``"openai/gpt-4o"``); None if unpriced.

    A bare model id is looked up in the built-in manifests (the vendor's own API first,
    e.g. ``openai`` before ``azure-openai``); ``provider/model`` or ``provider=`` picks one, and
    then a manifest override on the search path counts.
    """
    if not isinstance(model, str) or not model:
        raise InvalidRequestError(f"model must be a non-empty str, got {model!r}")
    from ailib.providers._registry import ALIASES, PROVIDERS

    if provider is None:
        head, sep, rest = model.partition("/")
        if sep and rest and (head.lower() in PROVIDERS or head.lower() in ALIASES):
            provider, model = head.lower(), rest
    if provider is not None:
        manifest = effective_manifest(provider)
        return manifest_pricing(manifest, model) if manifest is not None else None
    index = _builtin_index()
    for name in model_candidates(model):
        for provider_id in index.get(name.lower(), ()):
            manifest = effective_manifest(provider_id)
            found = manifest_pricing(manifest, name) if manifest is not None else None
            if found is not None:
                return found
    return None


def estimate_cost(
    *,
    input_tokens: int,
    output_tokens: int = 0,
    model: str,
    cached_input_tokens: int = 0,
    cache_write_tokens: int = 0,
    reasoning_tokens: int = 0,
    audio_input_tokens: int = 0,
    audio_output_tokens: int = 0,
    provider: str | None = None,
) -> Cost:
    """The cost of a call of this size on ``model`` (PriceNotFoundError when unpriced).

    ``input_tokens`` includes the cached, cache-write and audio ones and
    ``output_tokens`` the reasoning and audio ones, as in ``resp.usage``.
    """
    for name, value in (
        ("input_tokens", input_tokens),
        ("output_tokens", output_tokens),
        ("cached_input_tokens", cached_input_tokens),
        ("cache_write_tokens", cache_write_tokens),
        ("reasoning_tokens", reasoning_tokens),
        ("audio_input_tokens", audio_input_tokens),
        ("audio_output_tokens", audio_output_tokens),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidRequestError(f"{name} must be an int >= 0, got {value!r}")
    pricing = get_model_pricing(model, provider=provider)
    if pricing is None:
        raise PriceNotFoundError(
            f"no manifest gives a price for {model!r}; pass 'provider/model' or add "
            "'pricing' to the model's entry in a manifest override",
            model=model,
        )
    usage = Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=input_tokens + output_tokens,
        cached_tokens=cached_input_tokens,
        reasoning_tokens=reasoning_tokens,
        cache_creation_tokens=cache_write_tokens,
        audio_input_tokens=audio_input_tokens,
        audio_output_tokens=audio_output_tokens,
    )
    return pricing.cost(usage)
