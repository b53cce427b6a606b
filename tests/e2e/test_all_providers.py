"""End-to-end: every OpenAI-compatible provider's generated classes against the mock server.

Each vendor manifest (``extends: openai``) compiles to a sync and an async class. Both are run
against the loopback mock server's OpenAI dialect for plain chat, streaming (with thinking) and
tool calls, and the request they send is checked against what the vendor's API expects: the
path, the credential header, the model id, where ``max_tokens`` goes, vendor parameters and
renamed ones, and the inherited OpenAI parameters the vendor does not take.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

from ailib import AiClient, AsyncAiClient, Message, ToolDefinition
from ailib.errors import CapabilityError, ParameterError
from ailib.providers.azure_openai import AsyncAzureOpenAI, AzureOpenAI
from ailib.providers.baichuan import AsyncBaichuan, Baichuan
from ailib.providers.baidu import AsyncBaidu, Baidu
from ailib.providers.cerebras import AsyncCerebras, Cerebras
from ailib.providers.deepseek import AsyncDeepSeek, DeepSeek
from ailib.providers.doubao import AsyncDoubao, Doubao
from ailib.providers.fireworks import AsyncFireworks, Fireworks
from ailib.providers.groq import AsyncGroq, Groq
from ailib.providers.huggingface import AsyncHuggingFace, HuggingFace
from ailib.providers.hunyuan import AsyncHunyuan, Hunyuan
from ailib.providers.minimax import AsyncMiniMax, MiniMax
from ailib.providers.mistral import AsyncMistral, Mistral
from ailib.providers.moonshot import AsyncMoonshot, Moonshot
from ailib.providers.nvidia import AsyncNvidia, Nvidia
from ailib.providers.openrouter import AsyncOpenRouter, OpenRouter
from ailib.providers.perplexity import AsyncPerplexity, Perplexity
from ailib.providers.qwen import AsyncQwen, Qwen
from ailib.providers.together import AsyncTogether, Together
from ailib.providers.xai import XAI, AsyncXAI
from ailib.providers.yi import AsyncYi, Yi
from ailib.providers.zhipu import AsyncZhipu, Zhipu
from ailib.runtime._async_engine import AsyncEngine
from ailib.runtime._sync_engine import SyncEngine
from ailib.testing import MockServer, Scenario

KEY = "sk-vendor-test-key-42"
MANIFESTS = Path(__file__).resolve().parents[2] / "manifests" / "providers"
WEATHER = ToolDefinition.from_function(
    name="get_weather",
    description="Get current weather for a location",
    parameters={"type": "object", "properties": {"location": {"type": "string"}}},
)


@attrs.frozen
class Vendor:
    """What one vendor's API expects (from its documentation, not from the manifest)."""

    id: str
    sync: type[SyncEngine]
    aio: type[AsyncEngine]
    model: str
    env: str  # environment variable holding the key
    max_tokens_wire: str  # body field that carries max_tokens
    removed: tuple[str, ...]  # inherited OpenAI parameters the vendor does not take
    extras: dict[str, Any] = attrs.field(factory=dict)  # vendor parameters and a value
    renamed: dict[str, str] = attrs.field(factory=dict)  # parameter -> body field
    tools: bool = True
    stream_options: bool = True


MCT, MT = "max_completion_tokens", "max_tokens"
VENDORS = [
    Vendor("azure-openai", AzureOpenAI, AsyncAzureOpenAI, "my-gpt-4o-deployment",
           "AZURE_OPENAI_API_KEY", MCT, ("service_tier",), {"seed": 3, "user": "u1"}),
    Vendor("baichuan", Baichuan, AsyncBaichuan, "Baichuan4", "BAICHUAN_API_KEY", MT,
           ("seed", "n", "user", "logprobs", "reasoning", "parallel_tool_calls"),
           {"top_k": 5, "with_search_enhance": True}),
    Vendor("baidu", Baidu, AsyncBaidu, "ernie-4.0-8k", "BAIDU_API_KEY", MT,
           ("seed", "n", "reasoning", "metadata"), {"penalty_score": 1.2}),
    Vendor("cerebras", Cerebras, AsyncCerebras, "llama-3.3-70b", "CEREBRAS_API_KEY", MCT,
           ("frequency_penalty", "presence_penalty", "n", "metadata", "service_tier"),
           {"seed": 1}),
    Vendor("deepseek", DeepSeek, AsyncDeepSeek, "deepseek-chat", "DEEPSEEK_API_KEY", MT,
           ("seed", "n", "user", "parallel_tool_calls", "service_tier"),
           {"thinking": {"type": "disabled"}, "frequency_penalty": 0.5}),
    Vendor("doubao", Doubao, AsyncDoubao, "doubao-pro-32k", "VOLCENGINE_API_KEY", MT,
           ("seed", "n", "user", "reasoning"), {"thinking": {"type": "disabled"}}),
    Vendor("fireworks", Fireworks, AsyncFireworks,
           "accounts/fireworks/models/llama-v3p3-70b-instruct", "FIREWORKS_API_KEY", MT,
           ("metadata", "service_tier"), {"top_k": 40, "prompt_truncate_len": 1000}),
    Vendor("groq", Groq, AsyncGroq, "llama-3.3-70b-versatile", "GROQ_API_KEY", MCT,
           ("logprobs", "top_logprobs", "metadata"), {"reasoning_format": "hidden"}),
    Vendor("huggingface", HuggingFace, AsyncHuggingFace, "meta-llama/Llama-3.1-8B-Instruct",
           "HF_TOKEN", MT, ("n", "user", "parallel_tool_calls", "service_tier"), {"seed": 9}),
    Vendor("hunyuan", Hunyuan, AsyncHunyuan, "hunyuan-turbo", "HUNYUAN_API_KEY", MT,
           ("n", "user", "logprobs", "reasoning"), {"enable_enhancement": True}),
    Vendor("minimax", MiniMax, AsyncMiniMax, "MiniMax-M2.5", "MINIMAX_API_KEY", MT,
           ("seed", "n", "frequency_penalty", "reasoning"), {"reasoning_split": True}),
    Vendor("mistral", Mistral, AsyncMistral, "mistral-small-latest", "MISTRAL_API_KEY", MT,
           ("user", "logprobs", "top_logprobs", "reasoning", "metadata", "service_tier"),
           {"seed": 7, "safe_prompt": True}, {"seed": "random_seed"}, stream_options=False),
    Vendor("moonshot", Moonshot, AsyncMoonshot, "kimi-k2.6", "MOONSHOT_API_KEY", MT,
           ("seed", "user", "logprobs", "reasoning"), {"thinking": {"type": "disabled"}}),
    Vendor("nvidia", Nvidia, AsyncNvidia, "meta/llama-3.3-70b-instruct", "NVIDIA_API_KEY", MT,
           ("n", "user", "metadata"), {"seed": 2}),
    Vendor("openrouter", OpenRouter, AsyncOpenRouter, "openai/gpt-4o-mini",
           "OPENROUTER_API_KEY", MT, ("n", "metadata", "service_tier"),
           {"provider": {"sort": "price"}, "top_k": 10, "models": ["openai/gpt-4o"]}),
    Vendor("perplexity", Perplexity, AsyncPerplexity, "sonar", "PPLX_API_KEY", MT,
           ("tool_choice", "parallel_tool_calls", "seed", "n", "user", "logprobs"),
           {"search_recency_filter": "week"}, tools=False),
    Vendor("qwen", Qwen, AsyncQwen, "qwen-max", "QWEN_API_KEY", MT,
           ("user", "reasoning", "metadata"), {"enable_search": True, "top_k": 20}),
    Vendor("together", Together, AsyncTogether, "meta-llama/Llama-3.3-70B-Instruct-Turbo",
           "TOGETHER_API_KEY", MT, ("top_logprobs", "parallel_tool_calls", "metadata"),
           {"top_k": 50, "logprobs": 1}),
    Vendor("xai", XAI, AsyncXAI, "grok-3-mini", "XAI_API_KEY", MCT, ("metadata", "service_tier"),
           {"search_parameters": {"mode": "off"}}),
    Vendor("yi", Yi, AsyncYi, "yi-large", "YI_API_KEY", MT,
           ("seed", "n", "user", "reasoning", "parallel_tool_calls")),
    Vendor("zhipu", Zhipu, AsyncZhipu, "glm-4.7", "ZHIPU_API_KEY", MT,
           ("seed", "n", "user", "frequency_penalty", "parallel_tool_calls"),
           {"do_sample": True, "thinking": {"type": "enabled"}}),
]  # fmt: skip


@pytest.fixture(params=VENDORS, ids=[v.id for v in VENDORS])
def vendor(request: pytest.FixtureRequest) -> Vendor:
    v: Vendor = request.param
    return v


def test_every_vendor_is_an_openai_overlay() -> None:
    """Each vendor here is an `extends: openai` manifest with generated classes."""
    from ailib.providers._registry import PROVIDERS

    extenders = {
        p.stem
        for p in MANIFESTS.glob("*.yaml")
        if re.search(r"^extends: openai(-compatible)?\s*$", p.read_text(encoding="utf-8"), re.M)
    }
    ids = {v.id for v in VENDORS}
    assert ids <= extenders and ids <= set(PROVIDERS)
    for v in VENDORS:
        assert PROVIDERS[v.id][1:] == (v.sync.__name__, v.aio.__name__)


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    """One plain-HTTP connection pool for the module (no TLS setup per test)."""
    with httpx.Client(verify=False) as client:
        yield client


@pytest.fixture
async def ahttp() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(verify=False) as client:
        yield client


def _messages() -> list[Message]:
    return [Message.system("Be brief."), Message.user("Hello")]


def check_request(v: Vendor, server: MockServer, *, stream: bool = False) -> dict[str, Any]:
    """The last request: path, credential, model, parameters in the vendor's wire names."""
    req = server.requests[-1]
    if v.id == "azure-openai":
        assert req.path == f"/v1/openai/deployments/{v.model}/chat/completions"
        assert req.query == {"api-version": "2024-10-21"}
        assert req.headers["api-key"] == KEY and "authorization" not in req.headers
    else:
        assert req.path == "/v1/chat/completions" and req.query == {}
        assert req.headers["authorization"] == f"Bearer {KEY}"
    body: dict[str, Any] = req.json()
    assert body["model"] == v.model
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert body.get("stream", False) is stream
    if stream:
        want = {"include_usage": True} if v.stream_options else None
        assert body.get("stream_options") == want
    return body


def check_params_on_wire(v: Vendor, body: dict[str, Any]) -> None:
    assert body["temperature"] == 0.2
    assert body[v.max_tokens_wire] == 64
    assert ({MT, MCT} - {v.max_tokens_wire}).isdisjoint(body)
    for name, value in v.extras.items():
        wire = v.renamed.get(name, name)
        assert body[wire] == value, name
        if wire != name:
            assert name not in body


# ---- plain chat ---------------------------------------------------------------------------


def test_chat_sync(vendor: Vendor, mock_server: MockServer, http: httpx.Client) -> None:
    base = mock_server.base_url("openai")
    with vendor.sync(api_key=KEY, base_url=base, http_client=http) as provider:
        resp = provider.chat(  # type: ignore[attr-defined]
            model=vendor.model, messages=_messages(), temperature=0.2, max_tokens=64,
            **vendor.extras,
        )  # fmt: skip
    assert resp.content == "echo: Hello" and resp.finish_reason == "stop"
    assert resp.usage.total_tokens == resp.usage.input_tokens + resp.usage.output_tokens > 0
    check_params_on_wire(vendor, check_request(vendor, mock_server))


async def test_chat_async(
    vendor: Vendor, mock_server: MockServer, ahttp: httpx.AsyncClient
) -> None:
    base = mock_server.base_url("openai")
    async with vendor.aio(api_key=KEY, base_url=base, http_client=ahttp) as provider:
        resp = await provider.chat(  # type: ignore[attr-defined]
            model=vendor.model, messages=_messages(), temperature=0.2, max_tokens=64,
            **vendor.extras,
        )  # fmt: skip
    assert resp.content == "echo: Hello" and resp.request_id
    check_params_on_wire(vendor, check_request(vendor, mock_server))


# ---- streaming (thinking first, then the answer) -----------------------------------------

STORY = Scenario(reasoning="Let me think it over", text="once upon a time", usage=(7, 9))


def test_stream_sync(vendor: Vendor, mock_server: MockServer, http: httpx.Client) -> None:
    mock_server.push(STORY)
    base = mock_server.base_url("openai")
    with vendor.sync(api_key=KEY, base_url=base, http_client=http) as provider:
        stream = provider.chat(  # type: ignore[attr-defined]
            model=vendor.model, messages=_messages(), stream=True
        )
        with stream:
            events = list(stream)
            final = stream.final_response()
    text = "".join(e.as_content_delta.content for e in events if e.is_content_delta)
    thinking = "".join(e.as_thinking_delta.thinking for e in events if e.is_thinking_delta)
    assert (text, thinking) == ("once upon a time", "Let me think it over")
    assert (final.content, final.reasoning) == (text, thinking)
    # the mock streams usage only when asked (OpenAI's include_usage); Mistral is never asked
    usage = (7, 9) if vendor.stream_options else (0, 0)
    assert (final.usage.input_tokens, final.usage.output_tokens) == usage
    check_request(vendor, mock_server, stream=True)


async def test_stream_async(
    vendor: Vendor, mock_server: MockServer, ahttp: httpx.AsyncClient
) -> None:
    mock_server.push(STORY)
    base = mock_server.base_url("openai")
    async with vendor.aio(api_key=KEY, base_url=base, http_client=ahttp) as provider:
        stream = await provider.chat(  # type: ignore[attr-defined]
            model=vendor.model, messages=_messages(), stream=True
        )
        async with stream:
            parts = [e.as_content_delta.content async for e in stream if e.is_content_delta]
        final = await stream.final_response()
    assert "".join(parts) == final.content == "once upon a time"
    assert final.reasoning == "Let me think it over" and final.finish_reason == "stop"
    check_request(vendor, mock_server, stream=True)


# ---- tools --------------------------------------------------------------------------------

CALL = Scenario(tool_calls=[("get_weather", {"location": "Tokyo"})])


def _check_tools(vendor: Vendor, server: MockServer, calls: list[Any]) -> None:
    assert [(c.function_name, c.arguments) for c in calls] == [
        ("get_weather", {"location": "Tokyo"})
    ]
    body = server.requests[-1].json()
    assert body["tools"][0]["function"]["name"] == "get_weather"
    assert body["tools"][0]["type"] == "function"


def test_tools_sync(vendor: Vendor, mock_server: MockServer, http: httpx.Client) -> None:
    mock_server.push(CALL)
    base = mock_server.base_url("openai")
    with vendor.sync(api_key=KEY, base_url=base, http_client=http) as provider:
        call = {"model": vendor.model, "messages": _messages(), "tools": [WEATHER]}
        if not vendor.tools:
            with pytest.raises(CapabilityError, match="'tools'"):
                provider.chat(**call)  # type: ignore[attr-defined]
            assert mock_server.requests == []
            return
        resp = provider.chat(**call)  # type: ignore[attr-defined]
    assert resp.finish_reason == "tool_calls"
    _check_tools(vendor, mock_server, resp.tool_calls)


async def test_tools_async(
    vendor: Vendor, mock_server: MockServer, ahttp: httpx.AsyncClient
) -> None:
    mock_server.push(CALL)
    base = mock_server.base_url("openai")
    async with vendor.aio(api_key=KEY, base_url=base, http_client=ahttp) as provider:
        call = {"model": vendor.model, "messages": _messages(), "tools": [WEATHER]}
        if not vendor.tools:
            with pytest.raises(CapabilityError, match="'tools'"):
                await provider.chat(**call)  # type: ignore[attr-defined]
            assert mock_server.requests == []
            return
        stream = await provider.chat(**call, stream=True)  # type: ignore[attr-defined]
        async with stream:
            kinds = [e.kind async for e in stream]
        resp = await stream.final_response()
    assert kinds.count("tool_call_started") == kinds.count("tool_call_ended") == 1
    _check_tools(vendor, mock_server, resp.tool_calls)


# ---- the parameters the vendor does not take, and the key from the environment ---------


def test_typed_signatures(vendor: Vendor) -> None:
    for cls in (vendor.sync, vendor.aio):
        declared = inspect.signature(cls.chat).parameters  # type: ignore[attr-defined]
        assert not set(vendor.removed) & set(declared), cls.__name__
        assert set(vendor.extras) <= set(declared), cls.__name__


def test_removed_params_refused_sync(
    vendor: Vendor, mock_server: MockServer, http: httpx.Client
) -> None:
    with AiClient.create(
        f"{vendor.id}/{vendor.model}",
        api_key=KEY,
        base_url=mock_server.base_url("openai"),
        http_client=http,
    ) as client:
        for name in vendor.removed:
            with pytest.raises((ParameterError, CapabilityError)):
                client.chat().user("hi").param(name, True).execute()
    assert mock_server.requests == []


async def test_removed_params_refused_async(
    vendor: Vendor, mock_server: MockServer, ahttp: httpx.AsyncClient
) -> None:
    client = await AsyncAiClient.create(
        f"{vendor.id}/{vendor.model}",
        api_key=KEY,
        base_url=mock_server.base_url("openai"),
        http_client=ahttp,
    )
    async with client:
        for name in vendor.removed:
            with pytest.raises((ParameterError, CapabilityError)):
                await client.chat().user("hi").param(name, True).execute()
    assert mock_server.requests == []


def test_key_from_environment_sync(
    vendor: Vendor, mock_server: MockServer, monkeypatch: pytest.MonkeyPatch, http: httpx.Client
) -> None:
    monkeypatch.setenv(vendor.env, KEY)
    with vendor.sync(base_url=mock_server.base_url("openai"), http_client=http) as provider:
        provider.chat(model=vendor.model, messages=_messages())  # type: ignore[attr-defined]
    check_request(vendor, mock_server)


async def test_key_from_environment_async(
    vendor: Vendor,
    mock_server: MockServer,
    monkeypatch: pytest.MonkeyPatch,
    ahttp: httpx.AsyncClient,
) -> None:
    monkeypatch.setenv(vendor.env, KEY)
    async with vendor.aio(base_url=mock_server.base_url("openai"), http_client=ahttp) as provider:
        await provider.chat(model=vendor.model, messages=_messages())  # type: ignore[attr-defined]
    check_request(vendor, mock_server)
