"""Prices from the manifests: lookup, cost from normalized usage, resp.cost, schema."""

from __future__ import annotations

import copy
import math

import pytest

from ailib.errors import InvalidRequestError, ManifestError, PriceNotFoundError
from ailib.protocol.loader import builtin_manifest, validate
from ailib.protocol.manifest import Manifest
from ailib.providers._registry import PROVIDERS
from ailib.runtime.registry import compiled_spec
from ailib.runtime.spec import ProviderSpec
from ailib.tokens import Cost, attach_cost, estimate_cost, get_model_pricing
from ailib.tokens.pricing import CACHED_KEYS, RATE_KEYS, manifest_pricing
from ailib.types.response import ChatResponse, Usage


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)


def test_seed_readme_example() -> None:
    cost = estimate_cost(input_tokens=1000, output_tokens=500, model="gpt-4o")
    assert close(cost.input_cost, 1000 * 2.5 / 1e6) and close(cost.output_cost, 500 * 10 / 1e6)
    assert close(cost.total_cost, 0.0075) and f"${cost.total_cost:.4f}" == "$0.0075"
    pricing = get_model_pricing("gpt-4o")
    assert pricing is not None
    assert close(pricing.input_price_per_1k, 0.0025) and close(pricing.output_price_per_1k, 0.01)
    assert pricing.context_window == 128000 and pricing.prices_as_of == "2026-12-07"
    assert pricing.provider == "openai" and pricing.currency == "USD"


def test_lookup_forms() -> None:
    dated = get_model_pricing("claude-sonnet-4-5-20250929")
    assert dated is not None and dated.model == "claude-sonnet-4-5"
    assert get_model_pricing("gemini-2.0-flash-001").model == "gemini-2.0-flash"  # type: ignore[union-attr]
    routed = get_model_pricing("openrouter/openai/gpt-4o")
    assert routed is not None and routed.provider == "openrouter"
    assert get_model_pricing("gpt-4o", provider="azure-openai").provider == "azure-openai"  # type: ignore[union-attr]
    assert get_model_pricing("gemini-2.5-pro").provider == "gemini"  # type: ignore[union-attr]
    assert get_model_pricing("no-such-model") is None
    with pytest.raises(PriceNotFoundError) as info:
        estimate_cost(input_tokens=1, model="no-such-model")
    assert info.value.model == "no-such-model" and info.value.code == "E1004"
    with pytest.raises(InvalidRequestError):
        estimate_cost(input_tokens=-1, model="gpt-4o")
    with pytest.raises(InvalidRequestError):
        get_model_pricing("")


def test_cached_cache_write_and_reasoning_tokens_each_at_their_rate() -> None:
    # claude-sonnet-4-5: 3 in, 15 out, 0.3 cache read, 3.75 cache write (per 1M)
    cost = estimate_cost(
        input_tokens=10_000,
        cached_input_tokens=6_000,
        cache_write_tokens=1_000,
        output_tokens=2_000,
        reasoning_tokens=500,
        model="claude-sonnet-4-5",
    )
    assert close(cost.cached_input_cost, 6_000 * 0.3 / 1e6)
    assert close(cost.cache_write_cost, 1_000 * 3.75 / 1e6)
    assert close(cost.input_cost, 3_000 * 3 / 1e6 + 6_000 * 0.3 / 1e6 + 1_000 * 3.75 / 1e6)
    assert close(cost.reasoning_cost, 500 * 15 / 1e6)  # reasoning billed as output here
    assert close(cost.output_cost, 2_000 * 15 / 1e6)
    # o3-mini: cached 0.55 of 1.1; without a cache rate (mock) cached tokens cost the input rate
    o3 = estimate_cost(input_tokens=1000, cached_input_tokens=1000, model="o3-mini")
    assert close(o3.input_cost, 1000 * 0.55 / 1e6)


def test_long_prompt_tier_prices_the_whole_call() -> None:
    short = estimate_cost(input_tokens=200_000, output_tokens=1000, model="gemini-2.5-pro")
    long = estimate_cost(input_tokens=200_001, output_tokens=1000, model="gemini-2.5-pro")
    assert close(short.total_cost, 200_000 * 1.25 / 1e6 + 1000 * 10 / 1e6)
    assert close(long.total_cost, 200_001 * 2.5 / 1e6 + 1000 * 15 / 1e6)


def test_currency_comes_from_the_manifest() -> None:
    pricing = get_model_pricing("doubao/doubao-pro-32k")
    assert pricing is not None and pricing.currency == "CNY"
    assert estimate_cost(input_tokens=1, model="doubao/doubao-pro-32k").currency == "CNY"


def _response(model: str | None, usage: Usage) -> ChatResponse:
    return ChatResponse(content="hi", usage=usage, model=model)


def test_attach_cost_prices_the_served_model_then_the_asked_one() -> None:
    spec = compiled_spec("openai")
    assert spec is not None
    usage = Usage(1000, 200, 1200, cached_tokens=400, reasoning_tokens=50)
    resp = attach_cost(_response("gpt-4o-2024-08-06", usage), spec, "gpt-4o")
    assert resp.cost == Cost(
        input_cost=600 * 2.5 / 1e6 + 400 * 1.25 / 1e6,
        output_cost=150 * 10 / 1e6 + 50 * 10 / 1e6,
        cached_input_cost=400 * 1.25 / 1e6,
        reasoning_cost=50 * 10 / 1e6,
    )
    assert float(resp.cost) == resp.cost.total_cost  # type: ignore[union-attr]
    asked = attach_cost(_response("some-alias", usage), spec, "gpt-4o-mini")
    assert asked.cost is not None and close(asked.cost.output_cost, 200 * 0.6 / 1e6)


def test_unpriced_or_usage_less_responses_have_no_cost() -> None:
    spec = compiled_spec("openai")
    assert spec is not None
    unpriced = attach_cost(_response("gpt-9-preview", Usage(10, 10, 20)), spec, "gpt-9-preview")
    assert unpriced.cost is None  # None, never 0
    no_usage = attach_cost(_response("gpt-4o", Usage()), spec, "gpt-4o")
    assert no_usage.cost is None
    free = attach_cost(_response("echo", Usage(10, 10, 20)), compiled_spec("mock"), "echo")  # type: ignore[arg-type]
    assert free.cost is not None and free.cost.total_cost == 0.0  # priced at 0: a real price


def test_an_override_manifest_prices_its_own_models() -> None:
    data = copy.deepcopy(builtin_manifest("openai"))
    data["metadata"]["models"]["my-tuned"] = {"pricing": {"input_per_1m": 1, "output_per_1m": 2}}
    spec = ProviderSpec.interpreted(Manifest.from_dict(data, "override.yaml"))
    resp = attach_cost(_response("my-tuned", Usage(1_000_000, 0, 1_000_000)), spec, "my-tuned")
    assert resp.cost is not None and close(resp.cost.total_cost, 1.0)


def test_every_priced_builtin_manifest_is_dated_and_uses_known_keys() -> None:
    known = {*RATE_KEYS, *CACHED_KEYS, "currency", "tiers", "as_of"}
    priced = 0
    for provider_id in PROVIDERS:
        manifest = compiled_spec(provider_id).manifest  # type: ignore[union-attr]
        for model, entry in manifest.models.items():
            price = entry.get("pricing") if isinstance(entry, dict) else None
            if price is None:
                continue
            priced += 1
            assert manifest.prices_as_of, f"{provider_id} prices {model} without prices_as_of"
            assert set(price) <= known, (provider_id, model, set(price) - known)
            assert manifest_pricing(manifest, model) is not None
    assert priced >= 100


def test_schema_refuses_a_wrong_price() -> None:
    data = copy.deepcopy(builtin_manifest("openai"))
    data["metadata"]["models"]["gpt-4o"]["pricing"]["input_per_1m"] = -1
    with pytest.raises(ManifestError, match="input_per_1m"):
        validate(data, None, "bad.yaml")
    data = copy.deepcopy(builtin_manifest("openai"))
    data["metadata"]["prices_as_of"] = "last week"
    with pytest.raises(ManifestError, match="prices_as_of"):
        validate(data, None, "bad.yaml")
    data = copy.deepcopy(builtin_manifest("anthropic"))
    data["services"]["count_tokens"]["request"] = "bogus"
    with pytest.raises(ManifestError, match="request"):
        validate(data, None, "bad.yaml")
