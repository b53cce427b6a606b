"""Capability matrix, generated from the manifests: every provider × every capability.

A declared capability is exercised against the mock server in the provider's wire
dialect, and the request body the server received must carry the feature where the
dialect puts it (the image, the tools, ``response_format``, the reasoning fields: see
``ON_THE_WIRE``), so an encoder that drops one cannot pass on the mock's canned answer.
A structured_output cell sends a second request with a JSON schema, whose schema (and
name/strict where the wire has them) must arrive where the dialect puts it
(``SCHEMA_ON_THE_WIRE``). An audio_in cell sends a WAV clip that must arrive whole; an
audio_out cell asks for a spoken answer and gets decoded audio back.
An undeclared capability must be refused with a CapabilityError before any request is
sent. Sync and async twins.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

from ailib import AiClient, AsyncAiClient, ContentBlock, Message, ToolDefinition
from ailib.errors import CapabilityError
from ailib.providers._registry import PROVIDERS
from ailib.runtime.registry import compiled_spec
from ailib.testing import MockServer, Scenario
from ailib.testing.audio import speak

CHAT_CAPABILITIES = [
    "text",
    "streaming",
    "tools",
    "parallel_tools",
    "vision",
    "reasoning",
    "structured_output",
    "audio_in",
    "audio_out",
]
# wire dialect -> the mock server dialect that speaks it
MOCK_DIALECT = {
    "openai_chat": "openai",
    "anthropic_messages": "anthropic",
    "gemini_generate": "gemini",
    "ollama_chat": "ollama",
    "cohere_v2": "cohere",
    "bedrock_converse": "bedrock",
    "openai_responses": "responses",
}
TOOL = ToolDefinition.from_function(
    name="lookup",
    description="Look up",
    parameters={"type": "object", "properties": {"q": {"type": "string"}}},
)
PNG = b"\x89PNG\r\n\x1a\n"
PNG_B64 = base64.b64encode(PNG).decode("ascii")
PNG_URL = f"data:image/png;base64,{PNG_B64}"
# a 10 ms WAV clip (16 kHz, 16-bit mono silence)
WAV = (
    b"RIFF\x64\x01\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x80\x3e\x00\x00"
    b"\x00\x7d\x00\x00\x02\x00\x10\x00data\x40\x01\x00\x00" + b"\x00" * 320
)
WAV_B64 = base64.b64encode(WAV).decode("ascii")
SPOKEN = {"voice": "alloy", "format": "pcm16"}  # raw 24 kHz PCM: every audio_out wire has it
REASONING_BUDGET = 1024  # what .reasoning("low") asks for on budget-based wires
VOICE_ON_THE_WIRE = {  # where an audio_out cell's voice must arrive
    "openai_chat": "audio.voice",
    "gemini_generate": "generationConfig.speechConfig.voiceConfig.prebuiltVoiceConfig.voiceName",
}

_TOOL_NAMES = {
    "openai_chat": "tools.*.function.name",
    "openai_responses": "tools.*.name",
    "anthropic_messages": "tools.*.name",
    "gemini_generate": "tools.*.functionDeclarations.*.name",
    "cohere_v2": "tools.*.function.name",
    "ollama_chat": "tools.*.function.name",
    "bedrock_converse": "toolConfig.tools.*.toolSpec.name",
}
# capability -> wire dialect -> (path in the request body, the value that must be there).
# In a path, "*" walks every item of a list (or value of an object) and "-1" picks the
# last item; the cell passes when any value found at the path equals the expected one.
ON_THE_WIRE: dict[str, dict[str, tuple[str, Any]]] = {
    "vision": {
        "openai_chat": ("messages.-1.content.*.image_url.url", PNG_URL),
        "openai_responses": ("input.-1.content.*.image_url", PNG_URL),
        "anthropic_messages": ("messages.-1.content.*.source.data", PNG_B64),
        "gemini_generate": ("contents.-1.parts.*.inlineData.data", PNG_B64),
        "cohere_v2": ("messages.-1.content.*.image_url.url", PNG_URL),
        "ollama_chat": ("messages.-1.images.*", PNG_B64),
        "bedrock_converse": ("messages.-1.content.*.image.source.bytes", PNG_B64),
    },
    "structured_output": {
        "openai_chat": ("response_format.type", "json_object"),
        "openai_responses": ("text.format.type", "json_object"),
        "gemini_generate": ("generationConfig.responseMimeType", "application/json"),
        "cohere_v2": ("response_format.type", "json_object"),
        "ollama_chat": ("format", "json"),
        # no JSON mode: a forced tool ("json" when no schema names it)
        "anthropic_messages": ("tool_choice.name", "json"),
        "bedrock_converse": ("toolConfig.toolChoice.tool.name", "json"),
    },
    "reasoning": {
        "openai_chat": ("reasoning_effort", "low"),
        "openai_responses": ("reasoning.effort", "low"),
        "anthropic_messages": ("thinking.budget_tokens", REASONING_BUDGET),
        "gemini_generate": ("generationConfig.thinkingConfig.thinkingBudget", REASONING_BUDGET),
        "cohere_v2": ("thinking.token_budget", REASONING_BUDGET),
        "ollama_chat": ("think", True),
        "bedrock_converse": (
            "additionalModelRequestFields.thinking.budget_tokens",
            REASONING_BUDGET,
        ),
    },
    "audio_in": {
        "openai_chat": ("messages.-1.content.*.input_audio.data", WAV_B64),
        "gemini_generate": ("contents.-1.parts.*.inlineData.data", WAV_B64),
    },
    "audio_out": {
        "openai_chat": ("modalities", ["text", "audio"]),
        "gemini_generate": ("generationConfig.responseModalities", ["AUDIO"]),
    },
    "tools": {dialect: (path, "lookup") for dialect, path in _TOOL_NAMES.items()},
    "parallel_tools": {dialect: (path, "lookup") for dialect, path in _TOOL_NAMES.items()},
}
# The JSON-schema request of every structured_output cell (OpenAI Chat Completions shape);
# "city" is the distinctive property the wire must keep.
CITY_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
}
SCHEMA_FORMAT = {
    "type": "json_schema",
    "json_schema": {"name": "w", "schema": CITY_SCHEMA, "strict": True},
}
# wire dialect -> every (path in the request body, value that must be there) of the
# schema request; the schema itself must arrive whole, not only a JSON-mode switch.
SCHEMA_ON_THE_WIRE: dict[str, list[tuple[str, Any]]] = {
    "openai_chat": [
        ("response_format.type", "json_schema"),
        ("response_format.json_schema.schema", CITY_SCHEMA),
        ("response_format.json_schema.name", "w"),
        ("response_format.json_schema.strict", True),
    ],
    "openai_responses": [
        ("text.format.type", "json_schema"),
        ("text.format.schema", CITY_SCHEMA),
        ("text.format.name", "w"),
        ("text.format.strict", True),
    ],
    "gemini_generate": [
        ("generationConfig.responseMimeType", "application/json"),
        ("generationConfig.responseJsonSchema", CITY_SCHEMA),
    ],
    "cohere_v2": [
        ("response_format.type", "json_object"),
        ("response_format.json_schema", CITY_SCHEMA),
    ],
    "ollama_chat": [("format", CITY_SCHEMA)],
    "anthropic_messages": [
        ("tools.-1.name", "w"),
        ("tools.-1.input_schema", CITY_SCHEMA),
        ("tool_choice", {"type": "tool", "name": "w"}),
    ],
    "bedrock_converse": [
        ("toolConfig.tools.-1.toolSpec.name", "w"),
        ("toolConfig.tools.-1.toolSpec.inputSchema.json", CITY_SCHEMA),
        ("toolConfig.toolChoice", {"tool": {"name": "w"}}),
    ],
}

# wire dialect -> (where the JSON-mode switch is, where the system prompt is) for the
# providers whose manifest says structured_output.mode: json_object
JSON_MODE_ON_THE_WIRE = {
    "openai_chat": ("response_format.type", "messages.0.content"),
    "openai_responses": ("text.format.type", "instructions"),
}


def _provider_caps(provider: str) -> set[str]:
    spec = compiled_spec(provider)
    assert spec is not None
    return set(spec.manifest.capabilities)


def _model_for(provider: str, capability: str | None) -> str:
    """A model of the provider that declares ``capability`` (any model when None)."""
    models = compiled_spec(provider).manifest.models  # type: ignore[union-attr]
    if not models:  # a generic endpoint (openai-compatible): any model id, provider caps rule
        return "local-model"
    for name, info in models.items():
        caps = info.get("capabilities") if isinstance(info, dict) else None
        if capability is None or caps is None or capability in caps:
            return str(name)
    raise AssertionError(f"{provider} declares {capability!r} but none of its models does")


def _cases() -> list[Any]:
    out = []
    for provider in sorted(PROVIDERS):
        caps = _provider_caps(provider)
        if "text" not in caps:
            continue  # embeddings-only providers: covered by the embeddings tests
        for capability in CHAT_CAPABILITIES:
            declared = capability in caps
            mark = "declared" if declared else "undeclared"
            out.append(
                pytest.param(provider, capability, declared, id=f"{provider}-{capability}-{mark}")
            )
    return out


def _request(capability: str) -> tuple[Callable[[Any], Any], Scenario, Callable[[Any], None]]:
    """(builder configuration, mock scenario, check of the response) for one capability."""
    if capability == "tools":
        return (
            lambda b: b.user("find x").tools([TOOL]),
            Scenario(tool_calls=[("lookup", {"q": "x"})]),
            lambda r: _assert(r.tool_calls[0].arguments == {"q": "x"}),
        )
    if capability == "parallel_tools":
        return (
            lambda b: b.user("find x and y").tools([TOOL]),
            Scenario(tool_calls=[("lookup", {"q": "x"}), ("lookup", {"q": "y"})]),
            lambda r: _assert([c.arguments["q"] for c in r.tool_calls] == ["x", "y"]),
        )
    if capability == "vision":
        return (
            lambda b: b.messages(
                [Message.user_with_image("what?", image_base64=PNG, media_type="image/png")]
            ),
            Scenario(text="a picture"),
            lambda r: _assert(r.content == "a picture"),
        )
    if capability == "audio_in":
        clip = Message.user([ContentBlock.text("what is said?"), ContentBlock.audio(WAV)])
        return (
            lambda b: b.messages([clip]),
            Scenario(text="nothing, softly"),
            lambda r: _assert(r.content == "nothing, softly"),
        )
    if capability == "audio_out":
        return (
            lambda b: (
                b.user("say hi").param("modalities", ["text", "audio"]).param("audio", SPOKEN)
            ),
            Scenario(text="hi there"),
            lambda r: _assert(
                r.audio is not None
                and r.audio.format == "pcm16"
                and r.audio.data == speak("hi there", "pcm16")  # decoded exactly as sent
            ),
        )
    if capability == "reasoning":
        return (
            lambda b: b.user("think").reasoning("low"),
            Scenario(text="42", reasoning="pondering"),
            lambda r: _assert(r.reasoning == "pondering" and r.content == "42"),
        )
    if capability == "structured_output":
        return (
            lambda b: b.user("json").response_format({"type": "json_object"}),
            Scenario(text='{"a": 1}'),
            lambda r: _assert(json.loads(r.content) == {"a": 1}),
        )
    return (
        lambda b: b.user("hi"),
        Scenario(text="hello there"),
        lambda r: _assert(r.content == "hello there"),
    )


def _schema_request() -> tuple[Callable[[Any], Any], Scenario, Callable[[Any], None]]:
    """The second request of a structured_output cell: a JSON schema, not JSON mode."""
    return (
        lambda b: b.user("where?").response_format(SCHEMA_FORMAT),
        Scenario(text='{"city": "Paris"}'),
        lambda r: _assert(json.loads(r.content) == {"city": "Paris"}),
    )


def _assert(condition: bool) -> None:
    assert condition


def _values_at(body: Any, path: str) -> list[Any]:
    """Every value at ``path`` in ``body`` (see ``ON_THE_WIRE`` for the path syntax)."""
    values = [body]
    for key in path.split("."):
        found: list[Any] = []
        for value in values:
            if key == "*" and isinstance(value, (list, dict)):
                found.extend(value if isinstance(value, list) else value.values())
            elif isinstance(value, list) and key.lstrip("-").isdigit():
                if -len(value) <= int(key) < len(value):
                    found.append(value[int(key)])
            elif isinstance(value, dict) and key in value:
                found.append(value[key])
        values = found
    return values


def _assert_on_the_wire(provider: str, capability: str, server: MockServer) -> None:
    """The feature a declared capability asked for is in the body the server received."""
    wanted = ON_THE_WIRE.get(capability)
    if wanted is None:
        return  # text and streaming: the answer itself proves them
    dialect = compiled_spec(provider).manifest.dialect  # type: ignore[union-attr]
    if dialect not in wanted:
        pytest.fail(f"ON_THE_WIRE[{capability!r}] does not say where {dialect} carries it")
    path, value = wanted[dialect]
    body = server.requests[-1].json()
    found = _values_at(body, path)
    assert value in found, (
        f"{provider} ({dialect}) did not put {capability} on the wire: "
        f"{path} = {found!r}, want {value!r}; body: {json.dumps(body)[:600]}"
    )
    if capability == "audio_out":  # the voice asked for travels too
        voice = _values_at(body, VOICE_ON_THE_WIRE[dialect])
        assert SPOKEN["voice"] in voice, f"{provider} ({dialect}) dropped the voice: {body}"


def _assert_schema_on_the_wire(provider: str, server: MockServer) -> None:
    """The JSON schema of ``_schema_request`` is in the body the server received, whole."""
    manifest = compiled_spec(provider).manifest  # type: ignore[union-attr]
    dialect = manifest.dialect
    body = server.requests[-1].json()
    if (manifest.data.get("structured_output") or {}).get("mode") == "json_object":
        # a JSON mode only: the switch on the wire, the whole schema in the system prompt
        text = json.dumps(CITY_SCHEMA, separators=(",", ":"))
        switch, prompt = JSON_MODE_ON_THE_WIRE[dialect]
        assert _values_at(body, switch) == ["json_object"], body
        assert any(text in str(v) for v in _values_at(body, prompt)), body
        return
    if dialect not in SCHEMA_ON_THE_WIRE:
        pytest.fail(f"SCHEMA_ON_THE_WIRE does not say where {dialect} carries a JSON schema")
    for path, value in SCHEMA_ON_THE_WIRE[dialect]:
        found = _values_at(body, path)
        assert value in found, (
            f"{provider} ({dialect}) dropped or mangled the JSON schema: "
            f"{path} = {found!r}, want {value!r}; body: {json.dumps(body)[:600]}"
        )


def _needs_parallel_param(provider: str, capability: str, declared: bool) -> bool:
    """Parallel calls are asked for with parallel_tool_calls where the provider has it;
    an undeclared capability is always asked for explicitly (and must be refused)."""
    if capability != "parallel_tools":
        return False
    spec = compiled_spec(provider)
    assert spec is not None
    return not declared or "parallel_tool_calls" in spec.manifest.declared_parameters


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_REGION", "us-east-1")


def _base_url(server: MockServer, provider: str) -> str:
    dialect = compiled_spec(provider).manifest.dialect  # type: ignore[union-attr]
    return server.base_url(MOCK_DIALECT[dialect])


@pytest.mark.parametrize(("provider", "capability", "declared"), _cases())
def test_capability_sync(
    provider: str, capability: str, declared: bool, mock_server: MockServer, aws_env: None
) -> None:
    configure, scenario, check = _request(capability)
    model = _model_for(provider, capability if declared else None)
    with AiClient.create(
        f"{provider}/{model}", api_key="k", base_url=_base_url(mock_server, provider)
    ) as client:
        builder = configure(client.chat())
        if _needs_parallel_param(provider, capability, declared):
            builder = builder.param("parallel_tool_calls", True)
        if not declared:
            with pytest.raises(CapabilityError) as info:
                builder.execute()
            # parallel tools need tools first: a provider without tools names that one
            named = {capability} | ({"tools"} if capability == "parallel_tools" else set())
            assert info.value.code == "E1005"
            assert any(repr(name) in str(info.value) for name in named)
            assert mock_server.requests == []
            return
        mock_server.push(scenario)
        if capability == "streaming":
            with builder.stream() as stream:
                text = "".join(e.as_content_delta.content for e in stream if e.is_content_delta)
            assert text == "hello there"
        else:
            check(builder.execute())
        _assert_on_the_wire(provider, capability, mock_server)
        if capability == "structured_output":
            configure, scenario, check = _schema_request()
            mock_server.push(scenario)
            check(configure(client.chat()).execute())
            _assert_schema_on_the_wire(provider, mock_server)


@pytest.mark.parametrize(("provider", "capability", "declared"), _cases())
async def test_capability_async(
    provider: str, capability: str, declared: bool, mock_server: MockServer, aws_env: None
) -> None:
    configure, scenario, check = _request(capability)
    model = _model_for(provider, capability if declared else None)
    client = await AsyncAiClient.create(
        f"{provider}/{model}", api_key="k", base_url=_base_url(mock_server, provider)
    )
    async with client:
        builder = configure(client.chat())
        if _needs_parallel_param(provider, capability, declared):
            builder = builder.param("parallel_tool_calls", True)
        if not declared:
            with pytest.raises(CapabilityError):
                await builder.execute()
            assert mock_server.requests == []
            return
        mock_server.push(scenario)
        if capability == "streaming":
            async with builder.stream() as stream:
                text = "".join(
                    [e.as_content_delta.content async for e in stream if e.is_content_delta]
                )
            assert text == "hello there"
        else:
            check(await builder.execute())
        _assert_on_the_wire(provider, capability, mock_server)
        if capability == "structured_output":
            configure, scenario, check = _schema_request()
            mock_server.push(scenario)
            check(await configure(client.chat()).execute())
            _assert_schema_on_the_wire(provider, mock_server)


# ---- embeddings: every provider, declared (works against the mock) or refused ----------

EMBEDDING_MOCK = {  # embeddings.format -> the mock server dialect that serves it
    "openai": "openai_embeddings",
    "gemini_batch": "gemini_embeddings",
    "cohere_v2": "cohere_embeddings",
    "ollama": "ollama_embeddings",
}


def _embedding_cases() -> list[Any]:
    out = []
    for provider in sorted(PROVIDERS):
        spec = compiled_spec(provider)
        assert spec is not None
        declared = "embeddings" in spec.manifest.capabilities and bool(
            spec.manifest.data.get("embeddings")
        )
        mark = "declared" if declared else "undeclared"
        out.append(pytest.param(provider, declared, id=f"{provider}-embeddings-{mark}"))
    return out


def _embedding_base(server: MockServer, provider: str) -> str:
    spec = compiled_spec(provider)
    assert spec is not None
    fmt = spec.manifest.data.get("embeddings", {}).get("format", "openai")
    return server.base_url(EMBEDDING_MOCK[fmt])


@pytest.mark.parametrize(("provider", "declared"), _embedding_cases())
def test_embeddings_capability_sync(
    provider: str, declared: bool, mock_server: MockServer, aws_env: None
) -> None:
    from ailib.embeddings import EmbeddingClient

    model = _model_for(provider, "embeddings" if declared else None)
    if not declared:
        with pytest.raises(CapabilityError) as info:
            EmbeddingClient.create(f"{provider}/{model}", api_key="k", base_url=mock_server.url)
        assert info.value.code == "E1005" and "embeddings" in str(info.value)
        assert mock_server.requests == []
        return
    with EmbeddingClient.create(
        f"{provider}/{model}", api_key="k", base_url=_embedding_base(mock_server, provider)
    ) as client:
        resp = client.embed_batch(["alpha beta", "gamma"])
    assert len(resp.embeddings) == 2 and all(e.vector for e in resp.embeddings)


@pytest.mark.parametrize(("provider", "declared"), _embedding_cases())
async def test_embeddings_capability_async(
    provider: str, declared: bool, mock_server: MockServer, aws_env: None
) -> None:
    from ailib.embeddings import AsyncEmbeddingClient

    model = _model_for(provider, "embeddings" if declared else None)
    if not declared:
        with pytest.raises(CapabilityError):
            await AsyncEmbeddingClient.create(
                f"{provider}/{model}", api_key="k", base_url=mock_server.url
            )
        return
    client = await AsyncEmbeddingClient.create(
        f"{provider}/{model}", api_key="k", base_url=_embedding_base(mock_server, provider)
    )
    async with client:
        resp = await client.embed("alpha")
    assert resp.first.vector
