"""Prices from the manifests: lookup, cost from normalized usage, resp.cost, schema."""

from __future__ import annotations

import copy
import io
import json
import math
import wave
from typing import Any

import httpx
import pytest

from ailib import ContentBlock, Message
from ailib.errors import InvalidRequestError, ManifestError, PriceNotFoundError
from ailib.protocol.loader import builtin_manifest, validate
from ailib.protocol.manifest import Manifest
from ailib.providers._registry import PROVIDERS
from ailib.runtime.registry import compiled_spec
from ailib.runtime.spec import ProviderSpec
from ailib.testing import Scenario
from ailib.tokens import Cost, attach_cost, estimate_cost, get_model_pricing
from ailib.tokens.pricing import CACHED_KEYS, RATE_KEYS, manifest_pricing
from ailib.types.response import ChatResponse, Usage


def _wav() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(16000)
        writer.writeframes(b"\x01\x00" * 1600)
    return out.getvalue()


WAV = _wav()


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


# ---- audio tokens, xAI's reasoning, and resp.cost as the engine sets it ------------------------


def test_audio_tokens_are_billed_at_their_own_rates() -> None:
    # gpt-audio: text 2.5 / 10, audio 32 / 64 per 1M
    cost = estimate_cost(
        input_tokens=1000,
        audio_input_tokens=600,
        output_tokens=500,
        audio_output_tokens=400,
        model="openai/gpt-audio",
    )
    assert close(cost.audio_input_cost, 600 * 32 / 1e6)
    assert close(cost.audio_output_cost, 400 * 64 / 1e6)
    assert close(cost.input_cost, 400 * 2.5 / 1e6 + 600 * 32 / 1e6)
    assert close(cost.output_cost, 100 * 10 / 1e6 + 400 * 64 / 1e6)
    # Gemini 2.5 Flash: audio input 1.0 against 0.3 for text; cached tokens stay cached
    gemini = estimate_cost(
        input_tokens=1000, cached_input_tokens=200, audio_input_tokens=500, model="gemini-2.5-flash"
    )
    assert close(gemini.input_cost, 300 * 0.3 / 1e6 + 500 * 1.0 / 1e6 + 200 * 0.03 / 1e6)
    # without audio rates, audio tokens cost the text rates
    plain = estimate_cost(input_tokens=1000, audio_input_tokens=1000, model="gpt-4o")
    assert close(plain.input_cost, 1000 * 2.5 / 1e6) and close(plain.audio_input_cost, 0.0025)
    pricing = get_model_pricing("gpt-4o-audio-preview")
    assert pricing is not None and (pricing.audio_input_per_1m, pricing.audio_output_per_1m) == (
        40,
        80,
    )


def test_every_model_that_answers_in_audio_prices_its_audio() -> None:
    """An audio_out model whose audio costs more than its text must say so in its pricing."""
    for provider in ("openai",):
        manifest = compiled_spec(provider).manifest  # type: ignore[union-attr]
        for model, entry in manifest.models.items():
            if "audio_out" in (entry.get("capabilities") or []):
                price = entry["pricing"]
                assert "audio_input_per_1m" in price and "audio_output_per_1m" in price, model


XAI_BODY = {  # xAI's usage: reasoning tokens apart from completion_tokens (837 = 663+50+124)
    "id": "x1",
    "model": "grok-4.3",
    "object": "chat.completion",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "I am Grok."},
            "finish_reason": "stop",
        }
    ],
    "usage": {
        "prompt_tokens": 663,
        "completion_tokens": 50,
        "total_tokens": 837,
        "prompt_tokens_details": {"cached_tokens": 654, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 124, "audio_tokens": 0},
    },
}


def _xai_stream() -> bytes:
    head = {k: XAI_BODY[k] for k in ("id", "model")}
    chunks = [
        {
            **head,
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": "I am Grok."}}],
        },
        {**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {**head, "choices": [], "usage": XAI_BODY["usage"]},
    ]
    return b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks) + (
        b"data: [DONE]\n\n"
    )


def _xai_reply(request: httpx.Request) -> httpx.Response:
    if json.loads(request.content).get("stream"):
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=_xai_stream()
        )
    return httpx.Response(200, json=XAI_BODY)


def _check_xai(resp: ChatResponse) -> None:
    assert resp.usage.output_tokens == 50 + 124 and resp.usage.reasoning_tokens == 124
    assert resp.usage.total_tokens == 837 and resp.usage.input_tokens == 663
    # grok-4.3: 1.25 in, 0.2 cached, 2.5 out per 1M; the reasoning is billed as output
    expected = (9 * 1.25 + 654 * 0.2 + 174 * 2.5) / 1e6
    assert resp.cost is not None and close(resp.cost.total_cost, expected)
    assert close(resp.cost.reasoning_cost, 124 * 2.5 / 1e6)


def test_xai_reasoning_tokens_count_as_output_sync() -> None:
    from ailib import AiClient

    http = httpx.Client(transport=httpx.MockTransport(_xai_reply))
    with AiClient.create(
        "xai/grok-4.3", api_key="k", base_url="http://127.0.0.1:9/v1", http_client=http
    ) as client:
        _check_xai(client.chat().user("Who are you?").execute())
        with client.chat().user("Who are you?").stream() as stream:
            for _ in stream:
                pass
        _check_xai(stream.final_response())
    http.close()


async def test_xai_reasoning_tokens_count_as_output_async() -> None:
    from ailib import AsyncAiClient

    async def reply(request: httpx.Request) -> httpx.Response:
        return _xai_reply(request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(reply))
    async with await AsyncAiClient.create(
        "xai/grok-4.3", api_key="k", base_url="http://127.0.0.1:9/v1", http_client=http
    ) as client:
        _check_xai(await client.chat().user("Who are you?").execute())
        async with client.chat().user("Who are you?").stream() as stream:
            async for _ in stream:
                pass
        _check_xai(await stream.final_response())
    await http.aclose()


def test_xai_event_maps_are_openai_compatibles_plus_the_usage_flag() -> None:
    """xai.yaml copies the event maps to flag its usage: a drift from the base fails here."""
    base = builtin_manifest("openai-compatible")
    xai = builtin_manifest("xai")
    for section in ("streaming", "response"):
        ours = copy.deepcopy(xai[section]["event_map"])
        for rule in ours:
            if rule.get("emit") == "usage":
                assert rule["fields"].pop("output_excludes_reasoning") is True
        assert ours == base[section]["event_map"], section


AUDIO_Q = Message.user([ContentBlock.text("What is said?"), ContentBlock.audio(WAV)])
SPEAK = {"voice": "alloy", "format": "wav"}


def _costs_priced_by_the_engine(resp: ChatResponse, model: str, provider: str) -> None:
    pricing = get_model_pricing(model, provider=provider)
    assert pricing is not None and resp.cost is not None
    assert resp.cost == pricing.cost(resp.usage)


def test_resp_cost_is_set_on_responses_and_stream_ends_sync(mock_server: Any) -> None:
    from ailib import AiClient

    url = mock_server.base_url("openai")
    with AiClient.create("openai/gpt-4o", api_key="k", base_url=url) as client:
        mock_server.push(Scenario(usage=(1000, 200), cached_tokens=400))
        resp = client.chat().user("Hi").execute()
        _costs_priced_by_the_engine(resp, "gpt-4o", "openai")
        assert close(resp.cost.total_cost, (600 * 2.5 + 400 * 1.25 + 200 * 10) / 1e6)  # type: ignore[union-attr]
        mock_server.push(Scenario(usage=(1000, 200), cached_tokens=400))
        with client.chat().user("Hi").stream() as stream:
            for _ in stream:
                pass
        assert stream.final_response().cost == resp.cost
    with AiClient.create("openai/gpt-9-unpriced", api_key="k", base_url=url) as client:
        assert client.chat().user("Hi").execute().cost is None
        with client.chat().user("Hi").stream() as stream:
            for _ in stream:
                pass
        assert stream.final_response().cost is None  # None on a stream too, never 0
    with AiClient.create("openai/gpt-4o-audio-preview", api_key="k", base_url=url) as client:
        mock_server.push(
            Scenario(usage=(1000, 500), audio_input_tokens=600, audio_output_tokens=400)
        )
        call = client.chat().messages([AUDIO_Q]).param("modalities", ["text", "audio"])
        spoken = call.param("audio", SPEAK).execute()
        assert spoken.usage.audio_input_tokens == 600 and spoken.usage.audio_output_tokens == 400
        assert close(spoken.cost.total_cost, (400 * 2.5 + 600 * 40 + 100 * 10 + 400 * 80) / 1e6)  # type: ignore[union-attr]
    with AiClient.create(
        "gemini/gemini-2.5-flash", api_key="k", base_url=mock_server.base_url("gemini")
    ) as client:
        mock_server.push(Scenario(usage=(1000, 100), audio_input_tokens=600))
        with client.chat().messages([AUDIO_Q]).stream() as stream:
            for _ in stream:
                pass
        heard = stream.final_response()
        assert heard.usage.audio_input_tokens == 600
        assert close(heard.cost.total_cost, (400 * 0.3 + 600 * 1.0 + 100 * 2.5) / 1e6)  # type: ignore[union-attr]


async def test_resp_cost_is_set_on_responses_and_stream_ends_async(mock_server: Any) -> None:
    from ailib import AsyncAiClient

    url = mock_server.base_url("openai")
    async with await AsyncAiClient.create("openai/gpt-4o", api_key="k", base_url=url) as client:
        mock_server.push(Scenario(usage=(1000, 200), cached_tokens=400))
        resp = await client.chat().user("Hi").execute()
        _costs_priced_by_the_engine(resp, "gpt-4o", "openai")
        mock_server.push(Scenario(usage=(1000, 200), cached_tokens=400))
        async with client.chat().user("Hi").stream() as stream:
            async for _ in stream:
                pass
        assert (await stream.final_response()).cost == resp.cost
    async with await AsyncAiClient.create(
        "openai/gpt-9-unpriced", api_key="k", base_url=url
    ) as client:
        assert (await client.chat().user("Hi").execute()).cost is None
        async with client.chat().user("Hi").stream() as stream:
            async for _ in stream:
                pass
        assert (await stream.final_response()).cost is None
    async with await AsyncAiClient.create(
        "gemini/gemini-2.5-flash", api_key="k", base_url=mock_server.base_url("gemini")
    ) as client:
        mock_server.push(Scenario(usage=(1000, 100), audio_input_tokens=600))
        heard = await client.chat().messages([AUDIO_Q]).execute()
        assert close(heard.cost.total_cost, (400 * 0.3 + 600 * 1.0 + 100 * 2.5) / 1e6)  # type: ignore[union-attr]


def _fallback_target(server: Any) -> Any:
    from ailib.resilience import FallbackTarget

    return FallbackTarget(
        "anthropic/claude-sonnet-4-5", api_key="ak", base_url=server.base_url("anthropic")
    )


def test_after_a_fallback_the_serving_model_prices_the_call_sync(mock_server: Any) -> None:
    from ailib import AiClient
    from ailib.resilience import RetryConfig

    builder = (
        AiClient.builder()
        .model("openai/gpt-4o")
        .api_key("k")
        .base_url(mock_server.base_url("openai"))
        .with_retry(RetryConfig(max_retries=0))
        .with_fallbacks([_fallback_target(mock_server)])
    )
    with builder.build() as client:
        mock_server.push(Scenario(status=503), Scenario(usage=(1000, 100)))
        resp = client.chat().user("Hi").execute()
        assert resp.served_by == "anthropic/claude-sonnet-4-5"
        _costs_priced_by_the_engine(resp, "claude-sonnet-4-5", "anthropic")
        assert close(resp.cost.total_cost, (1000 * 3 + 100 * 15) / 1e6)  # type: ignore[union-attr]
        mock_server.push(Scenario(status=503), Scenario(usage=(1000, 100)))
        with client.chat().user("Hi").stream() as stream:
            for _ in stream:
                pass
        assert stream.final_response().cost == resp.cost


async def test_after_a_fallback_the_serving_model_prices_the_call_async(mock_server: Any) -> None:
    from ailib import AsyncAiClient
    from ailib.resilience import RetryConfig

    builder = (
        AsyncAiClient.builder()
        .model("openai/gpt-4o")
        .api_key("k")
        .base_url(mock_server.base_url("openai"))
        .with_retry(RetryConfig(max_retries=0))
        .with_fallbacks([_fallback_target(mock_server)])
    )
    async with await builder.build() as client:
        mock_server.push(Scenario(status=503), Scenario(usage=(1000, 100)))
        resp = await client.chat().user("Hi").execute()
        assert resp.served_by == "anthropic/claude-sonnet-4-5"
        assert close(resp.cost.total_cost, (1000 * 3 + 100 * 15) / 1e6)  # type: ignore[union-attr]
        mock_server.push(Scenario(status=503), Scenario(usage=(1000, 100)))
        async with client.chat().user("Hi").stream() as stream:
            async for _ in stream:
                pass
        assert (await stream.final_response()).cost == resp.cost
