"""Structured output end to end, every wire dialect through the mock server (sync and
async twins): the schema on the wire where each manifest says, ``resp.parsed`` typed,
streams with partial values, repairs, refusals, prompt-only mode, JSON mode, a fallback
that changes the wire, and the partial view of plain tool-call arguments."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any, TypedDict

import attrs
import pytest

from ailib import AiClient, AsyncAiClient, Message
from ailib.errors import CapabilityError, StructuredOutputError
from ailib.resilience import FallbackTarget, RetryConfig
from ailib.structured import JsonModeConfig
from ailib.testing import MockServer, Scenario
from ailib.types import ToolDefinition


@attrs.frozen
class Weather:
    city: str
    temperature_c: float
    conditions: list[str]


@dataclasses.dataclass
class Forecast:
    days: list[Weather]
    source: str | None = None


class Place(TypedDict):
    name: str
    country: str


GOOD = '{"city": "Paris", "temperature_c": 21.5, "conditions": ["sunny", "warm"]}'
PARIS = Weather("Paris", 21.5, ["sunny", "warm"])

# (provider, mock dialect, model): every wire dialect, plus a JSON-mode-only provider
TARGETS = {
    "openai": ("openai", "gpt-4o"),
    "openai-responses": ("responses", "gpt-5"),
    "anthropic": ("anthropic", "claude-sonnet-4-5"),
    "gemini": ("gemini", "gemini-2.5-flash"),
    "cohere": ("cohere", "command-a-03-2025"),
    "ollama": ("ollama", "llama3.1"),
    "bedrock": ("bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0"),
    "deepseek": ("openai", "deepseek-chat"),
}


def _schema_sent(provider: str, body: dict[str, Any]) -> Any:
    """The JSON schema as the provider's wire carries it (text, for JSON-mode-only)."""
    if provider == "openai":
        assert body["response_format"]["json_schema"]["strict"] is True
        return body["response_format"]["json_schema"]["schema"]
    if provider == "openai-responses":
        assert body["text"]["format"]["name"] == "Weather"
        return body["text"]["format"]["schema"]
    if provider == "anthropic":
        assert body["tool_choice"] == {"type": "tool", "name": "Weather"}
        return body["tools"][-1]["input_schema"]
    if provider == "bedrock":
        assert body["toolConfig"]["toolChoice"] == {"tool": {"name": "Weather"}}
        return body["toolConfig"]["tools"][-1]["toolSpec"]["inputSchema"]["json"]
    if provider == "gemini":
        assert body["generationConfig"]["responseMimeType"] == "application/json"
        return body["generationConfig"]["responseJsonSchema"]
    if provider == "cohere":
        assert body["response_format"]["type"] == "json_object"
        return body["response_format"]["json_schema"]
    if provider == "ollama":
        return body["format"]
    assert provider == "deepseek"
    assert body["response_format"] == {"type": "json_object"}
    system = body["messages"][0]
    assert system["role"] == "system"
    return json.loads(system["content"].split("\n", 2)[2])


def _check_wire(provider: str, server: MockServer) -> None:
    schema = _schema_sent(provider, server.requests[-1].json())
    assert schema["properties"]["city"] == {"type": "string"}
    assert set(schema["required"]) == {"city", "temperature_c", "conditions"}


@pytest.fixture(params=sorted(TARGETS))
def provider(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    return str(request.param)


def _client(server: MockServer, provider: str) -> AiClient:
    dialect, model = TARGETS[provider]
    return AiClient.create(f"{provider}/{model}", api_key="k", base_url=server.base_url(dialect))


async def _aclient(server: MockServer, provider: str) -> AsyncAiClient:
    dialect, model = TARGETS[provider]
    url = server.base_url(dialect)
    return await AsyncAiClient.create(f"{provider}/{model}", api_key="k", base_url=url)


# ---- every dialect: the wire, the parsed answer, the echo ------------------------------------


def test_parsed_on_every_dialect_sync(mock_server: MockServer, provider: str) -> None:
    mock_server.push(Scenario(text=GOOD), Scenario())
    with _client(mock_server, provider) as client:
        resp = client.chat().user("Weather in Paris?").response_format(Weather).execute()
        assert resp.parsed == PARIS and json.loads(resp.content) == json.loads(GOOD)
        assert resp.finish_reason == "stop" and resp.tool_calls == []
        _check_wire(provider, mock_server)
        echoed = client.chat().user("Lyon").response_format(Weather).execute()
    assert echoed.parsed is not None and echoed.parsed.city == "Lyon"  # the mock fits the schema


async def test_parsed_on_every_dialect_async(mock_server: MockServer, provider: str) -> None:
    mock_server.push(Scenario(text=GOOD), Scenario())
    async with await _aclient(mock_server, provider) as client:
        resp = await client.chat().user("Weather in Paris?").response_format(Weather).execute()
        assert resp.parsed == PARIS and json.loads(resp.content) == json.loads(GOOD)
        assert resp.finish_reason == "stop" and resp.tool_calls == []
        _check_wire(provider, mock_server)
        echoed = await client.chat().user("Lyon").response_format(Weather).execute()
    assert echoed.parsed is not None and echoed.parsed.city == "Lyon"


def _check_stream(partials: list[Any], texts: list[str], final: Any) -> None:
    assert final.parsed == PARIS
    assert "".join(texts) == final.content and json.loads(final.content) == json.loads(GOOD)
    assert len(partials) >= 3 and partials[-1] == json.loads(GOOD)
    assert any(p not in (None, {}) and p != partials[-1] for p in partials)  # it grew


def test_stream_partials_on_every_dialect_sync(mock_server: MockServer, provider: str) -> None:
    mock_server.push(Scenario(text=GOOD))
    partials: list[Any] = []
    texts: list[str] = []
    with _client(mock_server, provider) as client:
        builder = client.chat().user("Weather in Paris?").response_format(Weather)
        with builder.stream() as stream:
            for event in stream:
                assert not event.is_tool_call_started  # a forced tool looks like content
                if event.is_content_delta:
                    texts.append(event.as_content_delta.content)
                    partials.append(event.as_content_delta.partial)
            final = stream.final_response()
    _check_stream(partials, texts, final)
    _check_wire(provider, mock_server)


async def test_stream_partials_on_every_dialect_async(
    mock_server: MockServer, provider: str
) -> None:
    mock_server.push(Scenario(text=GOOD))
    partials: list[Any] = []
    texts: list[str] = []
    async with await _aclient(mock_server, provider) as client:
        builder = client.chat().user("Weather in Paris?").response_format(Weather)
        async with builder.stream() as stream:
            async for event in stream:
                assert not event.is_tool_call_started
                if event.is_content_delta:
                    texts.append(event.as_content_delta.content)
                    partials.append(event.as_content_delta.partial)
            final = await stream.final_response()
    _check_stream(partials, texts, final)
    _check_wire(provider, mock_server)


# ---- repair, refusals ------------------------------------------------------------------------

BAD = '{"city": "Paris", "temperature_c": "warm", "conditions": []}'
REPAIR_TARGETS = ["openai", "anthropic", "gemini"]


def _check_repair_request(server: MockServer, provider: str) -> None:
    assert len(server.requests) == 2
    text = json.dumps(server.requests[-1].json())
    assert "$.temperature_c" in text and "is not of type" in text  # the problem, shown
    assert "warm" in text  # and the answer it was about


@pytest.mark.parametrize("provider", REPAIR_TARGETS)
def test_repair_then_success_sync(mock_server: MockServer, provider: str) -> None:
    mock_server.push(Scenario(text=BAD), Scenario(text=GOOD))
    with _client(mock_server, provider) as client:
        builder = client.chat().user("Weather?").response_format(Weather, max_repairs=1)
        assert builder.execute().parsed == PARIS
    _check_repair_request(mock_server, provider)


@pytest.mark.parametrize("provider", REPAIR_TARGETS)
async def test_repair_then_success_async(mock_server: MockServer, provider: str) -> None:
    mock_server.push(Scenario(text=BAD), Scenario(text=GOOD))
    async with await _aclient(mock_server, provider) as client:
        builder = client.chat().user("Weather?").response_format(Weather, max_repairs=1)
        assert (await builder.execute()).parsed == PARIS
    _check_repair_request(mock_server, provider)


def _check_exhausted(err: StructuredOutputError, server: MockServer) -> None:
    assert err.attempts == 2 and len(server.requests) == 2
    assert err.path == "$" and err.raw == "still not JSON"
    assert err.response is not None and err.response.content == "still not JSON"


def test_repairs_exhausted_raise_sync(mock_server: MockServer) -> None:
    mock_server.push(Scenario(text=BAD), Scenario(text="still not JSON"))
    with _client(mock_server, "openai") as client, pytest.raises(StructuredOutputError) as info:
        client.chat().user("Weather?").response_format(Weather, max_repairs=1).execute()
    _check_exhausted(info.value, mock_server)


async def test_repairs_exhausted_raise_async(mock_server: MockServer) -> None:
    mock_server.push(Scenario(text=BAD), Scenario(text="still not JSON"))
    async with await _aclient(mock_server, "openai") as client:
        with pytest.raises(StructuredOutputError) as info:
            await client.chat().user("Weather?").response_format(Weather, max_repairs=1).execute()
    _check_exhausted(info.value, mock_server)


def test_invalid_stream_answer_raises_from_final_response_sync(mock_server: MockServer) -> None:
    mock_server.push(Scenario(text=BAD))
    with (
        _client(mock_server, "anthropic") as client,
        client.chat().user("Weather?").response_format(Weather).stream() as stream,
        pytest.raises(StructuredOutputError) as info,
    ):
        stream.final_response()
    assert info.value.path == "$.temperature_c" and len(mock_server.requests) == 1


async def test_invalid_stream_answer_raises_from_final_response_async(
    mock_server: MockServer,
) -> None:
    mock_server.push(Scenario(text=BAD))
    client = await _aclient(mock_server, "anthropic")
    async with client, client.chat().user("Weather?").response_format(Weather).stream() as stream:
        with pytest.raises(StructuredOutputError) as info:
            await stream.final_response()
    assert info.value.path == "$.temperature_c" and len(mock_server.requests) == 1


REFUSING = ["openai", "openai-responses", "anthropic", "bedrock", "gemini"]
NO = "I can't help with that."


def _check_refusal(provider: str, resp: Any) -> None:
    assert resp.parsed is None
    want = "the model refused (SAFETY)" if provider == "gemini" else NO
    assert resp.refusal == want


@pytest.mark.parametrize("provider", REFUSING)
def test_refusals_are_refusals_sync(mock_server: MockServer, provider: str) -> None:
    mock_server.push(Scenario(refusal=NO), Scenario(refusal=NO))
    with _client(mock_server, provider) as client:
        builder = client.chat().user("Something bad").response_format(Weather, max_repairs=2)
        _check_refusal(provider, builder.execute())
        with client.chat().user("Again").response_format(Weather).stream() as stream:
            _check_refusal(provider, stream.final_response())
    assert len(mock_server.requests) == 2  # a refusal is not repaired


@pytest.mark.parametrize("provider", REFUSING)
async def test_refusals_are_refusals_async(mock_server: MockServer, provider: str) -> None:
    mock_server.push(Scenario(refusal=NO), Scenario(refusal=NO))
    async with await _aclient(mock_server, provider) as client:
        builder = client.chat().user("Something bad").response_format(Weather, max_repairs=2)
        _check_refusal(provider, await builder.execute())
        async with client.chat().user("Again").response_format(Weather).stream() as stream:
            _check_refusal(provider, await stream.final_response())
    assert len(mock_server.requests) == 2


# ---- a provider without structured output: refused up front, or prompt-only -----------------


def _no_structured(server: MockServer) -> tuple[str, str]:
    return "mock/tools", server.base_url("openai")  # a model without structured_output


def _check_prompt_request(server: MockServer) -> None:
    body = server.requests[-1].json()
    assert "response_format" not in body
    systems = [m["content"] for m in body["messages"] if m["role"] == "system"]
    assert any('"temperature_c"' in text for text in systems), systems


def test_native_refused_up_front_prompt_mode_works_sync(mock_server: MockServer) -> None:
    model, url = _no_structured(mock_server)
    with AiClient.create(model, base_url=url) as client:
        with pytest.raises(CapabilityError, match="mode='prompt'") as info:
            client.chat().user("Weather?").response_format(Weather).execute()
        assert info.value.code == "E1005" and mock_server.requests == []
        mock_server.push(Scenario(text=f"```json\n{GOOD}\n```"))
        builder = client.chat().system("Be brief.").user("Weather?")
        resp = builder.response_format(Weather, mode="prompt").execute()
    assert resp.parsed == PARIS
    _check_prompt_request(mock_server)
    sent = mock_server.requests[-1].json()["messages"]
    assert sent[0]["content"] == "Be brief." and sent[1]["content"].startswith("Answer with")


async def test_native_refused_up_front_prompt_mode_works_async(mock_server: MockServer) -> None:
    model, url = _no_structured(mock_server)
    async with await AsyncAiClient.create(model, base_url=url) as client:
        with pytest.raises(CapabilityError, match="mode='prompt'"):
            await client.chat().user("Weather?").response_format(Weather).execute()
        assert mock_server.requests == []
        mock_server.push(Scenario(text=GOOD))
        config = JsonModeConfig(Weather, mode="prompt")
        resp = await client.chat().user("Weather?").response_format(config).execute()
    assert resp.parsed == PARIS
    _check_prompt_request(mock_server)


def _check_prompt_everywhere(provider: str, resp: Any, server: MockServer) -> None:
    assert resp.parsed == Weather("Paris", 1.5, ["Paris"])  # the mock follows the prompt
    body = json.dumps(server.requests[-1].json())
    assert "conform to this JSON Schema" in body and "Be brief." in body
    assert "response_format" not in body and "responseJsonSchema" not in body
    assert "toolChoice" not in body and "tool_choice" not in body


def test_prompt_mode_on_every_dialect_sync(mock_server: MockServer, provider: str) -> None:
    with _client(mock_server, provider) as client:
        builder = client.chat().system("Be brief.").user("Paris")
        resp = builder.response_format(Weather, mode="prompt").execute()
    _check_prompt_everywhere(provider, resp, mock_server)


async def test_prompt_mode_on_every_dialect_async(mock_server: MockServer, provider: str) -> None:
    async with await _aclient(mock_server, provider) as client:
        builder = client.chat().system("Be brief.").user("Paris")
        resp = await builder.response_format(Weather, mode="prompt").execute()
    _check_prompt_everywhere(provider, resp, mock_server)


# ---- JSON mode and the other schema sources --------------------------------------------------


@pytest.mark.parametrize("provider", ["openai", "anthropic", "ollama"])
def test_json_mode_sync(mock_server: MockServer, provider: str) -> None:
    mock_server.push(Scenario(text='{"any": ["json", 1]}'))
    with _client(mock_server, provider) as client:
        resp = client.chat().user("Some JSON").json_mode().execute()
    assert resp.parsed == {"any": ["json", 1]}


@pytest.mark.parametrize("provider", ["openai", "anthropic", "ollama"])
async def test_json_mode_async(mock_server: MockServer, provider: str) -> None:
    mock_server.push(Scenario(text='{"any": ["json", 1]}'))
    async with await _aclient(mock_server, provider) as client:
        resp = await client.chat().user("Some JSON").json_mode().execute()
    assert resp.parsed == {"any": ["json", 1]}


def _sources() -> list[Any]:
    out: list[Any] = [
        pytest.param(Forecast, '{"days": [' + GOOD + "]}", Forecast([PARIS]), id="dataclass"),
        pytest.param(
            Place,
            '{"name": "Paris", "country": "FR"}',
            {"name": "Paris", "country": "FR"},
            id="typeddict",
        ),
        pytest.param({"type": "array", "items": {"type": "integer"}}, "[1, 2]", [1, 2], id="dict"),
    ]
    return out


@pytest.mark.parametrize(("source", "text", "want"), _sources())
@pytest.mark.parametrize("provider", ["openai", "gemini"])
def test_schema_sources_sync(
    mock_server: MockServer, provider: str, source: Any, text: str, want: Any
) -> None:
    mock_server.push(Scenario(text=text))
    with _client(mock_server, provider) as client:
        assert client.chat().user("x").response_format(source).execute().parsed == want


@pytest.mark.parametrize(("source", "text", "want"), _sources())
@pytest.mark.parametrize("provider", ["openai", "gemini"])
async def test_schema_sources_async(
    mock_server: MockServer, provider: str, source: Any, text: str, want: Any
) -> None:
    mock_server.push(Scenario(text=text))
    async with await _aclient(mock_server, provider) as client:
        assert (await client.chat().user("x").response_format(source).execute()).parsed == want


def _pydantic_city() -> Any:
    pydantic = pytest.importorskip("pydantic")
    return pydantic.create_model("City", name=(str, ...), population=(int, 0))


def test_pydantic_model_sync(mock_server: MockServer) -> None:
    city = _pydantic_city()
    mock_server.push(Scenario(text='{"name": "Paris", "population": 2}'))
    with _client(mock_server, "anthropic") as client:
        resp = client.chat().user("x").response_format(city).execute()
    assert isinstance(resp.parsed, city) and resp.parsed.population == 2


async def test_pydantic_model_async(mock_server: MockServer) -> None:
    city = _pydantic_city()
    mock_server.push(Scenario(text='{"name": "Paris", "population": 2}'))
    async with await _aclient(mock_server, "anthropic") as client:
        resp = await client.chat().user("x").response_format(city).execute()
    assert isinstance(resp.parsed, city) and resp.parsed.name == "Paris"


# ---- a fallback changes the wire; plain tool calls get the partial view ----------------------

FAST = RetryConfig(max_retries=0, min_delay_ms=1, max_delay_ms=5)


def _fallback(server: MockServer) -> FallbackTarget:
    url = server.base_url("anthropic")
    return FallbackTarget("anthropic/claude-sonnet-4-5", api_key="ak", base_url=url)


def _check_fallback(resp: Any, server: MockServer) -> None:
    assert resp.parsed == PARIS and resp.served_by == "anthropic/claude-sonnet-4-5"
    first, second = (r.json() for r in server.requests)
    assert first["response_format"]["json_schema"]["name"] == "Weather"
    assert second["tool_choice"] == {"type": "tool", "name": "Weather"}


def test_fallback_speaks_the_next_targets_structured_output_sync(mock_server: MockServer) -> None:
    mock_server.push(Scenario(status=500), Scenario(text=GOOD))
    builder = AiClient.builder().model("openai/gpt-4o").api_key("k")
    builder = builder.base_url(mock_server.base_url("openai")).with_retry(FAST)
    with builder.with_fallbacks([_fallback(mock_server)]).build() as client:
        resp = client.chat().user("Weather?").response_format(Weather).execute()
    _check_fallback(resp, mock_server)


async def test_fallback_speaks_the_next_targets_structured_output_async(
    mock_server: MockServer,
) -> None:
    mock_server.push(Scenario(status=500), Scenario(text=GOOD))
    builder = AsyncAiClient.builder().model("openai/gpt-4o").api_key("k")
    builder = builder.base_url(mock_server.base_url("openai")).with_retry(FAST)
    async with await builder.with_fallbacks([_fallback(mock_server)]).build() as client:
        resp = await client.chat().user("Weather?").response_format(Weather).execute()
    _check_fallback(resp, mock_server)


LOOKUP = ToolDefinition.from_function(
    name="lookup",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
)
ARGS = {"city": "Paris", "days": [1, 2, 3], "detail": {"unit": "C"}}


def _check_tool_partials(partials: list[Any]) -> None:
    assert partials[-1] == ARGS
    assert all(p is None or isinstance(p, dict) for p in partials)
    if len(partials) > 1:  # streamed in pieces: the value grew
        assert partials[0] != ARGS


@pytest.mark.parametrize("provider", ["openai", "anthropic", "bedrock", "gemini", "cohere"])
def test_tool_call_deltas_carry_partial_arguments_sync(
    mock_server: MockServer, provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    mock_server.push(Scenario(tool_calls=[("lookup", ARGS)]))
    with (
        _client(mock_server, provider) as client,
        client.chat().user("x").tools([LOOKUP]).stream() as stream,
    ):
        partials = [e.as_tool_call_delta.partial_arguments for e in stream if e.is_tool_call_delta]
    _check_tool_partials(partials)


@pytest.mark.parametrize("provider", ["openai", "anthropic", "bedrock", "gemini", "cohere"])
async def test_tool_call_deltas_carry_partial_arguments_async(
    mock_server: MockServer, provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    mock_server.push(Scenario(tool_calls=[("lookup", ARGS)]))
    client = await _aclient(mock_server, provider)
    async with client, client.chat().user("x").tools([LOOKUP]).stream() as stream:
        partials = [
            e.as_tool_call_delta.partial_arguments async for e in stream if e.is_tool_call_delta
        ]
    _check_tool_partials(partials)


def test_history_with_a_structured_answer_replays_sync(mock_server: MockServer) -> None:
    """A forced-tool answer becomes plain assistant text, so the next turn sends cleanly."""
    mock_server.push(Scenario(text=GOOD), Scenario(text="Nice."))
    with _client(mock_server, "anthropic") as client:
        first = client.chat().user("Weather?").response_format(Weather).execute()
        history = [Message.user("Weather?"), first.to_message(), Message.user("Thanks")]
        assert client.chat().messages(history).execute().content == "Nice."
    sent = mock_server.requests[-1].json()["messages"]
    assert sent[1] == {"role": "assistant", "content": first.content}


async def test_history_with_a_structured_answer_replays_async(mock_server: MockServer) -> None:
    mock_server.push(Scenario(text=GOOD), Scenario(text="Nice."))
    async with await _aclient(mock_server, "anthropic") as client:
        first = await client.chat().user("Weather?").response_format(Weather).execute()
        history = [Message.user("Weather?"), first.to_message(), Message.user("Thanks")]
        assert (await client.chat().messages(history).execute()).content == "Nice."
    sent = mock_server.requests[-1].json()["messages"]
    assert sent[1] == {"role": "assistant", "content": first.content}


# ---- the README's section runs as shown ------------------------------------------------------

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")


def _readme_blocks() -> list[str]:
    section = README.split("### Structured output\n", 1)[1].split("\n### ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_readme_section_runs_as_shown(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    mock_server: MockServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("openai", "anthropic"):  # the README's own override mechanism
        (tmp_path / f"{name}.yaml").write_text(
            f"endpoint:\n  base_url: {mock_server.base_url(name)}\n"
        )
    monkeypatch.setenv("AI_PROTOCOL_PATH", str(tmp_path))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    lyon = '{"city": "Lyon", "temperature_c": 18, "conditions": ["cloudy"]}'
    mock_server.push(Scenario(text=GOOD), Scenario(text=lyon), Scenario(text=GOOD))
    blocks = _readme_blocks()
    assert len(blocks) == 2
    namespace: dict[str, object] = {"__name__": "readme"}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)
    out = capsys.readouterr().out
    assert "Weather(city='Paris', temperature_c=21.5, conditions=['sunny', 'warm'])" in out
    assert "{'city': 'Ly'}" in out or "{'city': 'Lyon'}" in out
    assert "Weather(city='Lyon', temperature_c=18.0, conditions=['cloudy'])" in out
    assert [r.dialect for r in mock_server.requests] == ["openai", "openai", "anthropic"]
    assert mock_server.requests[-1].json()["tool_choice"]["name"] == "Weather"
