"""Parameter checks, request preparation, auth and the three wire dialect encoders."""

from __future__ import annotations

import json
import logging
from typing import Any

import attrs
import pytest

from ailib.dialects import ChatRequest, get_dialect, reasoning_config
from ailib.errors import AiLibError, CapabilityError, ParameterError, ProtocolError
from ailib.pipeline.assemble import Assembler
from ailib.providers import anthropic, gemini, mock, openai
from ailib.runtime.params import check_params
from ailib.runtime.request import (
    MaskedDict,
    Prepared,
    Secret,
    auth_headers,
    check_capabilities,
    prepare,
    resolve_api_key,
)
from ailib.runtime.spec import ProviderSpec
from ailib.types import ContentBlock, Message, ToolCall, ToolDefinition

OPENAI = openai.SPEC
ANTHROPIC = anthropic.SPEC
GEMINI = gemini.SPEC
MOCK = mock.SPEC

WEATHER = ToolDefinition(
    "get_weather",
    "Current weather",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
PNG_B64 = "iVBORw0KGgo="


def req(
    model: str = "m",
    messages: list[Message] | None = None,
    *,
    params: dict[str, Any] | None = None,
    tools: list[ToolDefinition] | None = None,
    stream: bool = False,
    extra_body: dict[str, Any] | None = None,
) -> ChatRequest:
    return ChatRequest(
        model=model,
        messages=messages if messages is not None else [Message.user("hi")],
        params=params or {},
        tools=tools or [],
        stream=stream,
        extra_body=extra_body or {},
    )


def prep(
    spec: ProviderSpec, request: ChatRequest, *, query: dict[str, str] | None = None, **kw: Any
) -> Prepared:
    return prepare(spec, request, base_url="http://h/v1/", query=query or {}, **kw)


def body(spec: ProviderSpec, **kw: Any) -> dict[str, Any]:
    return prep(spec, req(**kw)).payload


def with_overrides(spec: ProviderSpec, overlay: dict[str, Any]) -> ProviderSpec:
    return attrs.evolve(spec, manifest=spec.manifest.with_overrides(overlay, "test"))


# ---- check_params -----------------------------------------------------------------------


def test_undeclared_parameter_is_e1001_with_a_hint() -> None:
    with pytest.raises(ParameterError) as info:
        check_params(OPENAI.manifest, {"temprature": 0.2})
    err = info.value
    assert err.code == "E1001"
    assert err.provider == "openai"
    assert "does not declare parameter 'temprature'" in err.message
    assert "did you mean 'temperature'?" in err.message
    assert "declared: audio, frequency_penalty, logprobs" in err.message
    assert "drop_unsupported=True" in err.message


def test_undeclared_parameter_without_a_close_match_has_no_hint() -> None:
    with pytest.raises(ParameterError) as info:
        check_params(OPENAI.manifest, {"zzzzzz": 1})
    assert "did you mean" not in info.value.message


def test_undeclared_parameter_per_provider() -> None:
    # a parameter that stands for a capability: the capability is named (E1005)
    with pytest.raises(CapabilityError, match=r"'structured_output'.*'response_format'") as info:
        check_params(ANTHROPIC.manifest, {"response_format": {"type": "json_object"}})
    assert info.value.code == "E1005"
    assert check_params(GEMINI.manifest, {"response_format": {"type": "json_object"}})


def test_drop_unsupported_logs_and_drops(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="ailib"):
        out = check_params(OPENAI.manifest, {"temperature": 0.5, "bogus": 1}, drop_unsupported=True)
    assert out == {"temperature": 0.5}
    records = [r for r in caplog.records if r.name == "ailib"]
    assert len(records) == 1
    assert records[0].levelno == logging.WARNING
    assert records[0].getMessage() == "ailib: openai does not declare parameter 'bogus'; dropped"


@pytest.mark.parametrize(
    ("name", "value", "kind", "got"),
    [
        ("temperature", "hot", "float", "str"),
        ("temperature", True, "float", "bool"),
        ("max_tokens", 1.5, "integer", "float"),
        ("max_tokens", False, "integer", "bool"),
        ("logprobs", 1, "boolean", "int"),
        ("user", 7, "string", "int"),
        ("metadata", [], "object", "list"),
        ("stop", 5, "string_or_array", "int"),
        ("tool_choice", 1, "tool_choice", "int"),
        ("reasoning", 1.5, "reasoning", "float"),
        ("response_format", "json", "object", "str"),
    ],
)
def test_type_errors(name: str, value: Any, kind: str, got: str) -> None:
    with pytest.raises(ParameterError) as info:
        check_params(OPENAI.manifest, {name: value})
    assert info.value.code == "E1001"
    assert info.value.message == f"parameter {name!r} of 'openai' must be {kind}, got {got}"


@pytest.mark.parametrize(
    "params",
    [
        {"temperature": 1},
        {"temperature": 0.0},
        {"logprobs": True},
        {"stop": "END"},
        {"stop": ["a", "b"]},
        {"stop": ("a",)},
        {"reasoning": "high"},
        {"reasoning": 2048},
        {"reasoning": {"effort": "low"}},
        {"tool_choice": {"type": "function", "function": {"name": "f"}}},
    ],
)
def test_accepted_values(params: dict[str, Any]) -> None:
    assert check_params(OPENAI.manifest, params) == params


@pytest.mark.parametrize(
    ("name", "value", "low", "high"),
    [
        ("temperature", 2.5, 0, 2),
        ("temperature", -0.1, 0, 2),
        ("frequency_penalty", -3, -2, 2),
        ("max_tokens", 0, 1, None),
        ("top_logprobs", 21, 0, 20),
        ("n", 0, 1, None),
    ],
)
def test_range_errors(name: str, value: Any, low: Any, high: Any) -> None:
    with pytest.raises(ParameterError) as info:
        check_params(OPENAI.manifest, {name: value})
    assert info.value.code == "E1001"
    assert info.value.message == (
        f"parameter {name!r} of 'openai' must be within [{low}, {high}], got {value}"
    )


def test_range_boundaries_are_inclusive() -> None:
    params = {"temperature": 2, "top_p": 0, "top_logprobs": 20, "max_tokens": 1}
    assert check_params(OPENAI.manifest, params) == params
    with pytest.raises(ParameterError, match=r"within \[0, 1\]"):
        check_params(ANTHROPIC.manifest, {"temperature": 1.5})


def test_required_default_is_filled() -> None:
    assert check_params(ANTHROPIC.manifest, {}) == {"max_tokens": 4096}
    assert check_params(ANTHROPIC.manifest, {"max_tokens": None}) == {"max_tokens": 4096}
    assert check_params(ANTHROPIC.manifest, {"max_tokens": 100}) == {"max_tokens": 100}
    assert check_params(OPENAI.manifest, {}) == {}


def test_none_values_are_skipped_even_when_undeclared() -> None:
    assert check_params(OPENAI.manifest, {"temperature": None, "bogus": None}) == {}


# ---- prepare(): wire placement ----------------------------------------------------------


def test_openai_wire_placement() -> None:
    b = body(OPENAI, params={"max_tokens": 50, "stop": "END", "temperature": 0.3, "seed": 7})
    assert b["max_completion_tokens"] == 50
    assert "max_tokens" not in b
    assert b["stop"] == "END"
    assert b["temperature"] == 0.3
    assert b["seed"] == 7
    assert b["model"] == "m"
    assert "stream" not in b


def test_anthropic_wire_placement() -> None:
    b = body(ANTHROPIC, params={"stop": "END", "top_k": 5})
    assert b["stop_sequences"] == ["END"]
    assert "stop" not in b
    assert b["top_k"] == 5
    assert b["max_tokens"] == 4096


def test_gemini_wire_placement() -> None:
    b = body(
        GEMINI,
        params={
            "temperature": 0.5,
            "max_tokens": 99,
            "top_p": 0.9,
            "top_k": 3,
            "stop": "END",
            "seed": 1,
            "candidate_count": 2,
            "safety_settings": [{"category": "X", "threshold": "BLOCK_NONE"}],
        },
    )
    assert b["generationConfig"] == {
        "temperature": 0.5,
        "maxOutputTokens": 99,
        "topP": 0.9,
        "topK": 3,
        "stopSequences": ["END"],
        "seed": 1,
        "candidateCount": 2,
    }
    assert b["safetySettings"] == [{"category": "X", "threshold": "BLOCK_NONE"}]
    assert "model" not in b
    assert "temperature" not in b


def test_stop_list_is_kept_as_a_list() -> None:
    assert body(GEMINI, params={"stop": ["a", "b"]})["generationConfig"]["stopSequences"] == [
        "a",
        "b",
    ]
    assert body(ANTHROPIC, params={"stop": ["a", "b"]})["stop_sequences"] == ["a", "b"]


def test_gemini_dialect_and_param_generation_config_are_merged() -> None:
    b = body(GEMINI, params={"temperature": 0.1, "reasoning": "low"})
    assert b["generationConfig"] == {
        "temperature": 0.1,
        "thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": True},
    }


def test_streaming_request_extras() -> None:
    o = prep(OPENAI, req(stream=True))
    assert o.stream is True
    assert o.payload["stream"] is True
    assert o.payload["stream_options"] == {"include_usage": True}
    assert body(ANTHROPIC, stream=True)["stream"] is True
    g = prep(GEMINI, req("gemini-2.5-flash", stream=True))
    assert "stream" not in g.payload
    assert g.url == "http://h/v1/models/gemini-2.5-flash:streamGenerateContent?alt=sse"


def test_extra_body_is_deep_merged_last() -> None:
    b = body(
        GEMINI,
        params={"temperature": 0.1},
        extra_body={"generationConfig": {"candidateCount": 2}, "cachedContent": "c/1"},
    )
    assert b["generationConfig"] == {"temperature": 0.1, "candidateCount": 2}
    assert b["cachedContent"] == "c/1"
    o = body(
        OPENAI,
        stream=True,
        params={"temperature": 0.1},
        extra_body={"stream_options": {"extra": 1}, "temperature": 0.9},
    )
    assert o["stream_options"] == {"include_usage": True, "extra": 1}
    assert o["temperature"] == 0.9


def test_urls() -> None:
    assert prep(OPENAI, req()).url == "http://h/v1/chat/completions"
    assert prep(ANTHROPIC, req()).url == "http://h/v1/messages"
    assert prep(GEMINI, req("gemini-2.5-pro")).url == (
        "http://h/v1/models/gemini-2.5-pro:generateContent"
    )


def test_gemini_model_is_quoted_into_the_path() -> None:
    assert prep(GEMINI, req("tuned/my model")).url == (
        "http://h/v1/models/tuned%2Fmy%20model:generateContent"
    )


def test_query_params_are_appended() -> None:
    q = {"key": "a b&c"}
    assert prep(GEMINI, req("g"), query=q).url == (
        "http://h/v1/models/g:generateContent?key=a%20b%26c"
    )
    assert prep(GEMINI, req("g", stream=True), query=q).url == (
        "http://h/v1/models/g:streamGenerateContent?alt=sse&key=a%20b%26c"
    )


def test_body_bytes_are_compact_utf8_json_of_the_payload() -> None:
    p = prep(OPENAI, req(messages=[Message.user("héllo")]))
    assert p.body == json.dumps(p.payload, ensure_ascii=False, separators=(",", ":")).encode()
    assert "héllo".encode() in p.body
    assert b": " not in p.body


def test_prepare_refuses_empty_messages() -> None:
    with pytest.raises(AiLibError) as info:
        prep(OPENAI, req(messages=[]))
    assert info.value.code == "E1001"


def test_prepare_checks_params_and_can_drop() -> None:
    with pytest.raises(ParameterError):
        prep(OPENAI, req(params={"bogus": 1}))
    assert "bogus" not in prep(OPENAI, req(params={"bogus": 1}), drop_unsupported=True).payload


# ---- auth -------------------------------------------------------------------------------


SECRET = "sk-test-SECRET-1234"


@pytest.fixture
def no_env_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "GEMINI_API_KEY",
        "GOOGLE_API_KEY",
        "MOCK_API_KEY",
    ):
        monkeypatch.delenv(name, raising=False)


def test_bearer_auth() -> None:
    headers, query = auth_headers(OPENAI, Secret(SECRET))
    assert dict(headers) == {"Authorization": f"Bearer {SECRET}"}
    assert dict(query) == {}


def test_anthropic_auth_and_version_header() -> None:
    headers, _ = auth_headers(ANTHROPIC, Secret(SECRET))
    assert dict(headers) == {"anthropic-version": "2023-06-01", "x-api-key": SECRET}


def test_gemini_auth_header() -> None:
    headers, query = auth_headers(GEMINI, Secret(SECRET))
    assert dict(headers) == {"x-goog-api-key": SECRET}
    assert dict(query) == {}


def test_no_auth_for_type_none() -> None:
    headers, query = auth_headers(MOCK, Secret(SECRET))
    assert dict(headers) == {} and dict(query) == {}


def test_missing_key_sends_no_credential_but_keeps_extra_headers() -> None:
    headers, _ = auth_headers(ANTHROPIC, Secret(""))
    assert dict(headers) == {"anthropic-version": "2023-06-01"}


def test_query_param_auth() -> None:
    spec = with_overrides(GEMINI, {"endpoint": {"auth": {"type": "query_param", "param": "key"}}})
    headers, query = auth_headers(spec, Secret(SECRET))
    assert dict(headers) == {}
    assert dict(query) == {"key": SECRET}
    assert SECRET not in repr(query)
    url = prep(spec, req("g"), query=query).url
    assert url.endswith(f"?key={SECRET}")


def test_custom_bearer_prefix() -> None:
    spec = with_overrides(OPENAI, {"endpoint": {"auth": {"header": "api-key", "prefix": ""}}})
    headers, _ = auth_headers(spec, Secret(SECRET))
    assert dict(headers) == {"api-key": SECRET}


def test_resolve_api_key(monkeypatch: pytest.MonkeyPatch, no_env_keys: None) -> None:
    assert resolve_api_key(GEMINI, None).reveal() == ""
    assert not resolve_api_key(GEMINI, None)
    monkeypatch.setenv("GOOGLE_API_KEY", "from-fallback")
    assert resolve_api_key(GEMINI, None).reveal() == "from-fallback"
    monkeypatch.setenv("GEMINI_API_KEY", "from-primary")
    assert resolve_api_key(GEMINI, None).reveal() == "from-primary"
    assert resolve_api_key(GEMINI, "explicit").reveal() == "explicit"


def test_secret_never_shows() -> None:
    secret = Secret(SECRET)
    assert repr(secret) == str(secret) == "Secret('***')"
    assert f"{secret}" == "Secret('***')"
    assert secret.reveal() == SECRET
    assert bool(secret) is True
    assert repr(Secret("")) == "Secret('')"
    assert bool(Secret("")) is False


def test_masked_dict() -> None:
    d = MaskedDict(
        {"Authorization": "Bearer abc", "X-Api-Key": "k1", "key": "k2", "accept": "json"}
    )
    shown = repr(d)
    assert shown == str(d)
    assert "abc" not in shown and "k1" not in shown and "k2" not in shown
    assert shown.count("***") == 3
    assert "'accept': 'json'" in shown
    assert d["Authorization"] == "Bearer abc"  # the values are still there
    assert isinstance(d, dict)


@pytest.mark.parametrize(
    ("cls", "header", "value"),
    [
        (openai.OpenAI, "Authorization", f"Bearer {SECRET}"),
        (anthropic.Anthropic, "x-api-key", SECRET),
        (gemini.Gemini, "x-goog-api-key", SECRET),
    ],
)
def test_engine_headers_are_masked(cls: Any, header: str, value: str) -> None:
    engine = cls(api_key=SECRET, base_url="http://127.0.0.1:9/v1")
    try:
        assert engine._headers[header] == value
        assert engine._headers["content-type"] == "application/json"
        assert SECRET not in repr(engine._headers)
        assert SECRET not in repr(engine._key)
        assert SECRET not in repr(engine)
    finally:
        engine.close()


def test_default_headers_are_added() -> None:
    engine = openai.OpenAI(
        api_key=SECRET, base_url="http://127.0.0.1:9/v1", default_headers={"x-trace": "t1"}
    )
    try:
        assert engine._headers["x-trace"] == "t1"
        assert engine.base_url == "http://127.0.0.1:9/v1"
    finally:
        engine.close()


# ---- OpenAI dialect ---------------------------------------------------------------------


def oai(messages: list[Message], **kw: Any) -> dict[str, Any]:
    return get_dialect("openai_chat")(req("gpt-4o", messages, **kw))


def test_openai_messages() -> None:
    b = oai([Message.system("be brief"), Message.user("hi"), Message.assistant("hello")])
    assert b["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
    ]


def test_openai_images() -> None:
    msg = Message.user(
        [
            ContentBlock.text("look"),
            ContentBlock.image_url("https://x/cat.png", detail="high"),
            ContentBlock.image_base64(b"\x89PNG", "image/png"),
            ContentBlock.image_url("data:image/jpeg;base64,/9j/AA=="),
        ]
    )
    assert oai([msg])["messages"][0]["content"] == [
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": "https://x/cat.png", "detail": "high"}},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw=="}},
        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/AA=="}},
    ]


def test_openai_assistant_blocks_become_text_and_tool_calls() -> None:
    call = ToolCall.from_raw("call_1", "get_weather", '{"city": "Paris"}')
    msg = Message.assistant([ContentBlock.thinking("hmm", "sig"), ContentBlock.text("ok")], [call])
    tool = Message.tool("call_1", {"temp": 21}, name="get_weather")
    out = oai([Message.user("q"), msg, tool])["messages"]
    assert out[1] == {
        "role": "assistant",
        "content": "ok",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            }
        ],
    }
    assert out[2] == {"role": "tool", "content": '{"temp": 21}', "tool_call_id": "call_1"}


def test_openai_assistant_with_only_tool_calls_has_null_content() -> None:
    call = ToolCall.from_raw("call_1", "f", "")
    out = oai([Message.user("q"), Message.assistant("", [call])])["messages"][1]
    assert out["content"] is None
    assert out["tool_calls"][0]["function"]["arguments"] == "{}"


def test_openai_tool_call_built_from_arguments_keeps_them() -> None:
    call = ToolCall("call_1", "get_weather", {"city": "Paris"})
    out = oai([Message.user("q"), Message.assistant("", [call])])["messages"][1]
    assert json.loads(out["tool_calls"][0]["function"]["arguments"]) == {"city": "Paris"}


def test_openai_user_name() -> None:
    msg = Message("user", "hi", name="alice")
    assert oai([msg])["messages"][0] == {"role": "user", "content": "hi", "name": "alice"}


def test_openai_tools() -> None:
    bare = ToolDefinition("noop")
    strict = ToolDefinition("s", "d", {"type": "object", "properties": {}}, strict=True)
    assert oai([Message.user("q")], tools=[WEATHER, bare, strict])["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": WEATHER.parameters,
                "description": "Current weather",
            },
        },
        {"type": "function", "function": {"name": "noop", "parameters": bare.parameters}},
        {
            "type": "function",
            "function": {
                "name": "s",
                "parameters": {"type": "object", "properties": {}},
                "description": "d",
                "strict": True,
            },
        },
    ]


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        ("any", "required"),
        ("get_weather", {"type": "function", "function": {"name": "get_weather"}}),
        (
            {"type": "function", "function": {"name": "x"}},
            {"type": "function", "function": {"name": "x"}},
        ),
    ],
)
def test_openai_tool_choice(choice: Any, wire: Any) -> None:
    assert oai([Message.user("q")], params={"tool_choice": choice})["tool_choice"] == wire


@pytest.mark.parametrize(
    ("value", "effort"),
    [
        ("high", "high"),
        ("minimal", "minimal"),
        (1000, "low"),
        (2048, "low"),
        (5000, "medium"),
        (8192, "medium"),
        (9000, "high"),
        ({"budget_tokens": 3000}, "medium"),
        ({"effort": "low"}, "low"),
        (True, "medium"),
    ],
)
def test_openai_reasoning(value: Any, effort: str) -> None:
    assert oai([Message.user("q")], params={"reasoning": value})["reasoning_effort"] == effort


def test_openai_response_format_passthrough() -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}
    b = oai([Message.user("q")], params={"response_format": fmt})
    assert b["response_format"] == fmt


def test_reasoning_config_rejects_other_values() -> None:
    with pytest.raises(ProtocolError, match="reasoning must be"):
        reasoning_config(1.5)
    assert reasoning_config({"effort": "high"}) == {"effort": "high", "budget_tokens": 16384}
    assert reasoning_config({"effort": "odd"})["budget_tokens"] == 4096


def test_reasoning_false_means_no_reasoning() -> None:
    assert check_params(OPENAI.manifest, {"reasoning": False}) == {"reasoning": False}
    b = body(OPENAI, model="o3", params={"reasoning": False})
    assert "reasoning_effort" not in b


def test_unknown_dialect() -> None:
    with pytest.raises(ProtocolError, match="unknown wire dialect 'nope'"):
        get_dialect("nope")


# ---- Anthropic dialect ------------------------------------------------------------------


def ant(messages: list[Message], **kw: Any) -> dict[str, Any]:
    return get_dialect("anthropic_messages")(req("claude-sonnet-4-5", messages, **kw))


def test_anthropic_system_is_top_level() -> None:
    b = ant([Message.system("one"), Message.system("two"), Message.user("hi")])
    assert b["system"] == "one\n\ntwo"
    assert b["messages"] == [{"role": "user", "content": "hi"}]
    assert "system" not in ant([Message.user("hi")])


def test_anthropic_images() -> None:
    msg = Message.user(
        [
            ContentBlock.text("look"),
            ContentBlock.image_url("https://x/cat.png"),
            ContentBlock.image_base64(PNG_B64),
            ContentBlock.image_url("data:image/webp;base64,UklGRg=="),
        ]
    )
    assert ant([msg])["messages"][0]["content"] == [
        {"type": "text", "text": "look"},
        {"type": "image", "source": {"type": "url", "url": "https://x/cat.png"}},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64}},
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/webp", "data": "UklGRg=="},
        },
    ]


def test_anthropic_tools() -> None:
    assert ant([Message.user("q")], tools=[WEATHER])["tools"] == [
        {
            "name": "get_weather",
            "description": "Current weather",
            "input_schema": WEATHER.parameters,
        }
    ]


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", {"type": "auto"}),
        ("none", {"type": "none"}),
        ("required", {"type": "any"}),
        ("any", {"type": "any"}),
        ("get_weather", {"type": "tool", "name": "get_weather"}),
        (
            {"type": "auto", "disable_parallel_tool_use": True},
            {"type": "auto", "disable_parallel_tool_use": True},
        ),
    ],
)
def test_anthropic_tool_choice(choice: Any, wire: Any) -> None:
    assert ant([Message.user("q")], params={"tool_choice": choice})["tool_choice"] == wire


@pytest.mark.parametrize(
    ("value", "budget"),
    [
        ("low", 1024),
        ("medium", 4096),
        ("high", 16384),
        (2000, 2000),
        ({"effort": "low"}, 1024),
        ({"budget_tokens": 3000}, 3000),
        (True, 4096),
    ],
)
def test_anthropic_reasoning(value: Any, budget: int) -> None:
    b = ant([Message.user("q")], params={"reasoning": value})
    assert b["thinking"] == {"type": "enabled", "budget_tokens": budget}


def test_anthropic_reasoning_budget_fits_default_max_tokens() -> None:
    b = body(ANTHROPIC, model="claude-sonnet-4-5", params={"reasoning": "high"})
    assert b["thinking"]["budget_tokens"] < b["max_tokens"]


def test_anthropic_thinking_blocks_and_redacted_thinking_are_replayed() -> None:
    call = ToolCall.from_raw("toolu_1", "get_weather", {"city": "Paris"})
    assistant = Message.assistant(
        [
            ContentBlock.thinking("let me think", "sig-1"),
            ContentBlock("redacted_thinking", data="ENCRYPTED"),
            ContentBlock.text("Checking."),
        ],
        [call],
    )
    turns = ant([Message.user("weather?"), assistant])["messages"]
    assert turns[1] == {
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": "let me think", "signature": "sig-1"},
            {"type": "redacted_thinking", "data": "ENCRYPTED"},
            {"type": "text", "text": "Checking."},
            {
                "type": "tool_use",
                "id": "toolu_1",
                "name": "get_weather",
                "input": {"city": "Paris"},
            },
        ],
    }


def test_anthropic_consecutive_tool_results_are_one_user_turn() -> None:
    calls = [
        ToolCall.from_raw("t1", "get_weather", {"city": "Paris"}),
        ToolCall.from_raw("t2", "get_weather", {"city": "Rome"}),
    ]
    messages = [
        Message.user("weather?"),
        Message.assistant("", calls),
        Message.tool("t1", {"temp": 20}),
        Message.tool("t2", "sunny"),
        Message.user("thanks"),
    ]
    turns = ant(messages)["messages"]
    assert [t["role"] for t in turns] == ["user", "assistant", "user"]
    assert turns[1]["content"][0] == {
        "type": "tool_use",
        "id": "t1",
        "name": "get_weather",
        "input": {"city": "Paris"},
    }
    assert turns[2]["content"] == [
        {"type": "tool_result", "tool_use_id": "t1", "content": '{"temp": 20}'},
        {"type": "tool_result", "tool_use_id": "t2", "content": "sunny"},
        {"type": "text", "text": "thanks"},
    ]


def test_anthropic_streamed_thinking_roundtrips_into_the_next_request() -> None:
    frames = [
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "thinking", "thinking": ""},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "thinking_delta", "thinking": "a"},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "thinking_delta", "thinking": "b"},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "signature_delta", "signature": "S"},
        },
        {"type": "content_block_stop", "index": 0},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "tool_use", "id": "tu", "name": "f"},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '{"x":'},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": "1}"},
        },
        {"type": "content_block_stop", "index": 1},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}},
    ]
    asm = Assembler(ANTHROPIC.manifest.termination)
    for frame in frames:
        asm.feed(ANTHROPIC.map_stream(frame))
    asm.finish()
    history = [Message.user("q"), asm.response().to_message(), Message.tool("tu", "42")]
    turns = ant(history)["messages"]
    assert turns[1]["content"] == [
        {"type": "thinking", "thinking": "ab", "signature": "S"},
        {"type": "tool_use", "id": "tu", "name": "f", "input": {"x": 1}},
    ]


# ---- Gemini dialect ---------------------------------------------------------------------


def gem(messages: list[Message], **kw: Any) -> dict[str, Any]:
    return get_dialect("gemini_generate")(req("gemini-2.5-flash", messages, **kw))


def test_gemini_system_instruction_and_roles() -> None:
    b = gem(
        [Message.system("one"), Message.system("two"), Message.user("hi"), Message.assistant("yo")]
    )
    assert b["systemInstruction"] == {"parts": [{"text": "one"}, {"text": "two"}]}
    assert b["contents"] == [
        {"role": "user", "parts": [{"text": "hi"}]},
        {"role": "model", "parts": [{"text": "yo"}]},
    ]
    assert "systemInstruction" not in gem([Message.user("hi")])


def test_gemini_images() -> None:
    msg = Message.user(
        [
            ContentBlock.image_url("https://x/a.PNG?sig=1"),
            ContentBlock.image_url("https://x/b.jpg"),
            ContentBlock.image_url("https://x/c.webp"),
            ContentBlock("image", url="https://x/d", media_type="image/heic"),
            ContentBlock.image_base64(PNG_B64),
            ContentBlock.image_url("data:image/gif;base64,R0lGOD=="),
        ]
    )
    assert gem([msg])["contents"][0]["parts"] == [
        {"fileData": {"mimeType": "image/png", "fileUri": "https://x/a.PNG?sig=1"}},
        {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://x/b.jpg"}},
        {"fileData": {"mimeType": "image/webp", "fileUri": "https://x/c.webp"}},
        {"fileData": {"mimeType": "image/heic", "fileUri": "https://x/d"}},
        {"inlineData": {"mimeType": "image/png", "data": PNG_B64}},
        {"inlineData": {"mimeType": "image/gif", "data": "R0lGOD=="}},
    ]


def test_gemini_tools() -> None:
    bare = ToolDefinition("noop")
    assert gem([Message.user("q")], tools=[WEATHER, bare])["tools"] == [
        {
            "functionDeclarations": [
                {
                    "name": "get_weather",
                    "parametersJsonSchema": WEATHER.parameters,
                    "description": "Current weather",
                },
                {"name": "noop", "parametersJsonSchema": bare.parameters},
            ]
        }
    ]


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", {"functionCallingConfig": {"mode": "AUTO"}}),
        ("none", {"functionCallingConfig": {"mode": "NONE"}}),
        ("required", {"functionCallingConfig": {"mode": "ANY"}}),
        ("any", {"functionCallingConfig": {"mode": "ANY"}}),
        (
            "get_weather",
            {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}},
        ),
        (
            {"functionCallingConfig": {"mode": "VALIDATED"}},
            {"functionCallingConfig": {"mode": "VALIDATED"}},
        ),
    ],
)
def test_gemini_tool_choice(choice: Any, wire: Any) -> None:
    b = gem([Message.user("q")], params={"tool_choice": choice})
    assert b["toolConfig"] == wire
    assert "tool_choice" not in b


@pytest.mark.parametrize(
    ("value", "thinking"),
    [
        ("medium", {"thinkingBudget": 4096, "includeThoughts": True}),
        (300, {"thinkingBudget": 300, "includeThoughts": True}),
        (
            {"budget_tokens": 0, "include_thoughts": False},
            {"thinkingBudget": 0, "includeThoughts": False},
        ),
        ({"effort": "high"}, {"thinkingBudget": 16384, "includeThoughts": True}),
    ],
)
def test_gemini_reasoning(value: Any, thinking: dict[str, Any]) -> None:
    b = gem([Message.user("q")], params={"reasoning": value})
    assert b["generationConfig"] == {"thinkingConfig": thinking}


def test_gemini_response_format() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    b = gem(
        [Message.user("q")],
        params={
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "x", "schema": schema},
            }
        },
    )
    assert b["generationConfig"] == {
        "responseMimeType": "application/json",
        "responseJsonSchema": schema,
    }
    b = gem([Message.user("q")], params={"response_format": {"type": "json_object"}})
    assert b["generationConfig"] == {"responseMimeType": "application/json"}
    b = gem([Message.user("q")], params={"response_format": {"type": "text"}})
    assert "generationConfig" not in b


def test_gemini_tool_results_name_lookup_and_thought_signature() -> None:
    calls = [
        ToolCall.from_raw(
            "c1", "get_weather", {"city": "Paris"}, extra={"thought_signature": "TS1"}
        ),
        ToolCall.from_raw("c2", "get_time", {}),
    ]
    messages = [
        Message.user("q"),
        Message.assistant("", calls),
        Message.tool("c1", {"temp": 21}),
        Message.tool("c2", [1, 2]),
        Message.tool("c3", "plain text", name="explicit_name"),
        Message.tool("c4", "not json"),
    ]
    contents = gem(messages)["contents"]
    assert [c["role"] for c in contents] == ["user", "model", "user"]
    assert contents[1]["parts"] == [
        {
            "functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
            "thoughtSignature": "TS1",
        },
        {"functionCall": {"name": "get_time", "args": {}}},
    ]
    assert contents[2]["parts"] == [
        {"functionResponse": {"name": "get_weather", "response": {"temp": 21}}},
        {"functionResponse": {"name": "get_time", "response": {"result": [1, 2]}}},
        {"functionResponse": {"name": "explicit_name", "response": {"result": "plain text"}}},
        {"functionResponse": {"name": "c4", "response": {"result": "not json"}}},
    ]


def test_gemini_streamed_call_roundtrips_with_its_signature() -> None:
    frame = {
        "candidates": [
            {
                "index": 0,
                "content": {
                    "role": "model",
                    "parts": [
                        {
                            "functionCall": {"name": "get_weather", "args": {"city": "Oslo"}},
                            "thoughtSignature": "SIG",
                        }
                    ],
                },
                "finishReason": "STOP",
            }
        ]
    }
    asm = Assembler(GEMINI.manifest.termination)
    asm.feed(GEMINI.map_stream(frame))
    asm.finish()
    resp = asm.response()
    assert resp.finish_reason == "tool_calls"
    call_id = resp.tool_calls[0].id
    history = [Message.user("q"), resp.to_message(), Message.tool(call_id, {"t": -3})]
    contents = gem(history)["contents"]
    assert contents[1]["parts"][0]["thoughtSignature"] == "SIG"
    assert contents[2]["parts"][0]["functionResponse"]["name"] == "get_weather"


# ---- capability checks ------------------------------------------------------------------


IMAGE_MSG = Message.user_with_image("what?", image_url="https://x/y.png")


@pytest.mark.parametrize(
    ("spec", "request_", "message"),
    [
        (
            OPENAI,
            req("gpt-4o", params={"reasoning": "low"}),
            "model 'gpt-4o' of 'openai' does not declare the 'reasoning'",
        ),
        (
            OPENAI,
            req("o3-mini", [IMAGE_MSG]),
            "model 'o3-mini' of 'openai' does not declare the 'vision'",
        ),
        (ANTHROPIC, req("claude-3-5-sonnet", params={"reasoning": 2048}), "'reasoning'"),
        (MOCK, req("tools", [IMAGE_MSG]), "'vision'"),
        (GEMINI, req("gemini-2.0-flash", params={"reasoning": "low"}), "'reasoning'"),
    ],
)
def test_model_capabilities(spec: ProviderSpec, request_: ChatRequest, message: str) -> None:
    with pytest.raises(CapabilityError) as info:
        check_capabilities(spec, request_)
    assert info.value.code == "E1005"
    assert message in info.value.message


@pytest.mark.parametrize(
    ("spec", "request_"),
    [
        (OPENAI, req("o3", [IMAGE_MSG], params={"reasoning": "low"}, tools=[WEATHER], stream=True)),
        (OPENAI, req("some-future-model", params={"reasoning": "low"})),
        (ANTHROPIC, req("claude-sonnet-4-5", [IMAGE_MSG], params={"reasoning": 2048})),
        (GEMINI, req("gemini-2.5-flash", [IMAGE_MSG], params={"reasoning": "low"})),
    ],
)
def test_declared_capabilities_pass(spec: ProviderSpec, request_: ChatRequest) -> None:
    check_capabilities(spec, request_)


def test_provider_level_capabilities() -> None:
    spec = with_overrides(OPENAI, {"capabilities": {"required": ["text"], "optional": []}})
    with pytest.raises(CapabilityError, match="provider 'openai' does not declare the 'tools'"):
        check_capabilities(spec, req("x", tools=[WEATHER]))
    with pytest.raises(CapabilityError, match="'streaming'"):
        check_capabilities(spec, req("x", stream=True))
    check_capabilities(spec, req("x"))


def test_only_user_images_need_vision() -> None:
    image = ContentBlock.image_url("https://x/y.png")
    check_capabilities(OPENAI, req("o3-mini", [Message.user("q"), Message.assistant([image])]))


def test_no_declared_capabilities_means_no_provider_check() -> None:
    spec = attrs.evolve(
        OPENAI,
        manifest=type(OPENAI.manifest).from_dict(
            {"id": "bare", "endpoint": {"base_url": "http://h"}}
        ),
    )
    check_capabilities(spec, req("x", [IMAGE_MSG], tools=[WEATHER], stream=True))


def test_prepare_checks_capabilities() -> None:
    with pytest.raises(CapabilityError):
        prep(OPENAI, req("gpt-4o", params={"reasoning": "low"}))


def test_anthropic_defaulted_max_tokens_leaves_room_for_the_answer() -> None:
    b = body(ANTHROPIC, model="claude-sonnet-4-5", params={"reasoning": "high"})
    assert b["max_tokens"] == 16384 + 4096


def test_anthropic_explicit_max_tokens_below_budget_is_refused_before_sending() -> None:
    with pytest.raises(ParameterError, match="thinking budget") as info:
        body(ANTHROPIC, model="claude-sonnet-4-5", params={"reasoning": "low", "max_tokens": 500})
    assert info.value.code == "E1001"
