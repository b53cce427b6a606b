"""End-to-end: the generated ``Bedrock`` / ``AsyncBedrock`` classes against the mock server.

The mock's Bedrock plugin answers Converse with JSON and ConverseStream with real binary
event-stream messages. Every request must arrive SigV4-signed: the Authorization header
is checked for shape and re-computed here with ``ailib.transport.sigv4.sign`` from what
the server received (method, path, host, signed headers, body). Sync and async twins.
"""

from __future__ import annotations

import datetime
import re
from typing import Any
from urllib.parse import quote

import pytest

from ailib import AiClient, AsyncAiClient, ContentBlock, Message, ToolDefinition
from ailib.errors import (
    AiLibError,
    CapabilityError,
    ParameterError,
    RemoteError,
    StreamInterruptedError,
)
from ailib.providers.bedrock import AsyncBedrock, Bedrock
from ailib.testing import MockServer, Scenario
from ailib.testing.scenario import RecordedRequest
from ailib.transport.sigv4 import sign
from ailib.types.events import ContentDelta, ThinkingDelta, ToolCallEnded
from ailib.types.tools import ToolCall

CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
NOVA = "us.amazon.nova-micro-v1:0"
ACCESS, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION = "eu-west-3"
WEATHER = ToolDefinition.from_function(
    name="get_weather",
    description="Get current weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
)
AUTH_RE = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<day>\d{8})/(?P<region>[^/]+)/bedrock/"
    r"aws4_request, SignedHeaders=(?P<names>[a-z0-9;-]+), Signature=(?P<sig>[0-9a-f]{64})"
)


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_REGION", REGION)
    for name in ("AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)


def _sync(server: MockServer, **kw: Any) -> Bedrock:
    return Bedrock(base_url=server.base_url("bedrock"), max_retries=0, **kw)


def _async(server: MockServer, **kw: Any) -> AsyncBedrock:
    return AsyncBedrock(base_url=server.base_url("bedrock"), max_retries=0, **kw)


def verify_sigv4(req: RecordedRequest, *, token: str | None = None) -> list[str]:
    """Check the Authorization header's shape and recompute it; returns the signed names."""
    match = AUTH_RE.fullmatch(req.headers["authorization"])
    assert match, req.headers["authorization"]
    date = req.headers["x-amz-date"]
    assert re.fullmatch(r"\d{8}T\d{6}Z", date) and date[:8] == match["day"]
    assert (match["key"], match["region"]) == (ACCESS, REGION)
    names = match["names"].split(";")
    want = ["accept-encoding", "content-type", "host", "x-amz-date"] + (
        ["x-amz-security-token"] if token else []
    )
    assert names == want
    assert req.headers.get("x-amz-security-token") == token
    moment = datetime.datetime.strptime(date, "%Y%m%dT%H%M%SZ").replace(
        tzinfo=datetime.timezone.utc
    )
    url = f"http://{req.headers['host']}{quote(req.path, safe='/-_.~')}"
    signed = {n: req.headers[n] for n in names if n not in ("host", "x-amz-date")}
    signed.pop("x-amz-security-token", None)

    def resign(body: bytes) -> str:
        return sign(
            req.method,
            url,
            body,
            signed,
            access_key=ACCESS,
            secret_key=SECRET,
            region=REGION,
            service="bedrock",
            session_token=token,
            now=moment,
        )["authorization"]

    assert resign(req.body) == req.headers["authorization"]
    assert resign(req.body + b" ") != req.headers["authorization"]  # the body is signed
    return names


def _check_chat_wire(server: MockServer, model: str, *, stream: bool) -> None:
    req = server.requests[-1]
    assert req.dialect == "bedrock"
    assert req.path == f"/model/{model}/{'converse-stream' if stream else 'converse'}"
    body = req.json()
    assert body == {
        "messages": [{"role": "user", "content": [{"text": "Hello"}]}],
        "system": [{"text": "Be brief."}],
        "inferenceConfig": {
            "maxTokens": 64,
            "temperature": 0.2,
            "topP": 0.9,
            "stopSequences": ["END"],
        },
    }
    verify_sigv4(req)


MESSAGES = [Message.system("Be brief."), Message.user("Hello")]
PARAMS: dict[str, Any] = {"max_tokens": 64, "temperature": 0.2, "top_p": 0.9, "stop": "END"}


# ---- chat -----------------------------------------------------------------------------------


def test_chat_sync(mock_server: MockServer) -> None:
    mock_server.push(Scenario(usage=(12, 3)))
    with _sync(mock_server) as provider:
        resp = provider.chat(model=NOVA, messages=MESSAGES, **PARAMS)
    assert resp.content == "echo: Hello"
    assert resp.finish_reason == "stop" and resp.raw_finish_reason == "end_turn"
    assert (resp.usage.input_tokens, resp.usage.output_tokens, resp.usage.total_tokens) == (
        12,
        3,
        15,
    )
    assert resp.request_id == "00000000-0000-4000-8000-000000000001"
    _check_chat_wire(mock_server, NOVA, stream=False)


async def test_chat_async(mock_server: MockServer) -> None:
    mock_server.push(Scenario(usage=(12, 3)))
    async with _async(mock_server) as provider:
        resp = await provider.chat(model=NOVA, messages=MESSAGES, **PARAMS)
    assert resp.content == "echo: Hello"
    assert resp.finish_reason == "stop"
    assert resp.usage.total_tokens == 15
    _check_chat_wire(mock_server, NOVA, stream=False)


def test_stream_sync(mock_server: MockServer) -> None:
    mock_server.push(Scenario(text="once upon a time", usage=(7, 9), cached_tokens=2))
    with (
        _sync(mock_server) as provider,
        provider.chat(model=NOVA, messages=MESSAGES, stream=True, **PARAMS) as stream,
    ):
        parts = [e.content for e in stream if isinstance(e, ContentDelta)]
        final = stream.final_response()
    assert parts == ["once", " upon", " a", " time"]
    assert final.content == "once upon a time" and final.finish_reason == "stop"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (7, 9)
    assert final.usage.cached_tokens == 2 and final.usage.total_tokens == 16
    assert stream.request_id == "00000000-0000-4000-8000-000000000001"
    _check_chat_wire(mock_server, NOVA, stream=True)


async def test_stream_async(mock_server: MockServer) -> None:
    mock_server.push(Scenario(text="once upon a time", usage=(7, 9), cached_tokens=2))
    async with _async(mock_server) as provider:
        stream = await provider.chat(model=NOVA, messages=MESSAGES, stream=True, **PARAMS)
        async with stream:
            parts = [e.content async for e in stream if isinstance(e, ContentDelta)]
        final = await stream.final_response()
    assert "".join(parts) == final.content == "once upon a time"
    assert final.usage.cached_tokens == 2 and final.usage.total_tokens == 16
    _check_chat_wire(mock_server, NOVA, stream=True)


# ---- reasoning ------------------------------------------------------------------------------


def _check_reasoning(final: Any, server: MockServer, thinking: list[str]) -> None:
    assert "".join(thinking) == final.reasoning == "step one then two"
    assert final.content == "42"
    (block,) = final.thinking_blocks
    assert block.type == "thinking" and block.text_value == "step one then two"
    assert block.signature and block.signature.startswith("bW9jay1iZWRyb2Nr")
    body = server.requests[-1].json()
    assert body["additionalModelRequestFields"] == {
        "thinking": {"type": "enabled", "budget_tokens": 1024}
    }
    assert body["inferenceConfig"] == {"maxTokens": 1024 + 4096}
    verify_sigv4(server.requests[-1])


def test_reasoning_stream_sync(mock_server: MockServer) -> None:
    mock_server.push(Scenario(text="42", reasoning="step one then two"))
    with (
        _sync(mock_server) as provider,
        provider.chat(
            model=CLAUDE, messages=[Message.user("6*7?")], reasoning="low", stream=True
        ) as stream,
    ):
        thinking = [e.thinking for e in stream if isinstance(e, ThinkingDelta)]
        final = stream.final_response()
    _check_reasoning(final, mock_server, thinking)


async def test_reasoning_stream_async(mock_server: MockServer) -> None:
    mock_server.push(Scenario(text="42", reasoning="step one then two"))
    async with _async(mock_server) as provider:
        stream = await provider.chat(
            model=CLAUDE, messages=[Message.user("6*7?")], reasoning="low", stream=True
        )
        thinking = [e.thinking async for e in stream if isinstance(e, ThinkingDelta)]
        final = await stream.final_response()
    _check_reasoning(final, mock_server, thinking)


def test_reasoning_round_trip_sync(mock_server: MockServer) -> None:
    mock_server.push(Scenario(text="42", reasoning="step one then two"), Scenario(text="ok"))
    with _sync(mock_server) as provider:
        first = provider.chat(model=CLAUDE, messages=[Message.user("6*7?")], reasoning="low")
        history = [
            Message.user("6*7?"),
            Message.assistant([*first.thinking_blocks, ContentBlock.text(first.content)]),
            Message.user("sure?"),
        ]
        provider.chat(model=CLAUDE, messages=history, reasoning="low")
    _check_round_trip(first, mock_server)


async def test_reasoning_round_trip_async(mock_server: MockServer) -> None:
    mock_server.push(Scenario(text="42", reasoning="step one then two"), Scenario(text="ok"))
    async with _async(mock_server) as provider:
        first = await provider.chat(model=CLAUDE, messages=[Message.user("6*7?")], reasoning="low")
        history = [
            Message.user("6*7?"),
            Message.assistant([*first.thinking_blocks, ContentBlock.text(first.content)]),
            Message.user("sure?"),
        ]
        await provider.chat(model=CLAUDE, messages=history, reasoning="low")
    _check_round_trip(first, mock_server)


def _check_round_trip(first: Any, server: MockServer) -> None:
    signature = first.thinking_blocks[0].signature
    assert signature
    assistant = server.requests[-1].json()["messages"][1]
    assert assistant == {
        "role": "assistant",
        "content": [
            {
                "reasoningContent": {
                    "reasoningText": {"text": "step one then two", "signature": signature}
                }
            },
            {"text": "42"},
        ],
    }


def test_reasoning_needs_room_and_a_capable_model_sync(mock_server: MockServer) -> None:
    with _sync(mock_server) as provider:
        with pytest.raises(ParameterError, match="thinking budget"):
            provider.chat(model=CLAUDE, messages=MESSAGES, reasoning="high", max_tokens=1000)
        with pytest.raises(CapabilityError, match="reasoning"):
            provider.chat(model=NOVA, messages=MESSAGES, reasoning="low")
    assert mock_server.requests == []  # refused before sending


async def test_reasoning_needs_room_and_a_capable_model_async(mock_server: MockServer) -> None:
    async with _async(mock_server) as provider:
        with pytest.raises(ParameterError, match="thinking budget"):
            await provider.chat(model=CLAUDE, messages=MESSAGES, reasoning="high", max_tokens=1000)
        with pytest.raises(CapabilityError, match="reasoning"):
            await provider.chat(model=NOVA, messages=MESSAGES, reasoning="low")
    assert mock_server.requests == []


# ---- tools ----------------------------------------------------------------------------------

CALLS = [("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Lyon, FR"})]


def _check_tools(calls: list[ToolCall], server: MockServer) -> None:
    assert [(c.function_name, c.arguments) for c in calls] == CALLS
    ids = [c.id for c in calls]
    assert len(set(ids)) == 2 and all(i.startswith("tooluse_mock") for i in ids)
    body = server.requests[-1].json()
    assert body["toolConfig"] == {
        "tools": [
            {
                "toolSpec": {
                    "name": "get_weather",
                    "description": "Get current weather for a city",
                    "inputSchema": {"json": WEATHER.parameters},
                }
            }
        ],
        "toolChoice": {"any": {}},
    }
    verify_sigv4(server.requests[-1])


def test_tools_sync(mock_server: MockServer) -> None:
    mock_server.push(Scenario(tool_calls=CALLS), Scenario(tool_calls=CALLS))
    with _sync(mock_server) as provider:
        kw: dict[str, Any] = {"tools": [WEATHER], "tool_choice": "required"}
        resp = provider.chat(model=CLAUDE, messages=[Message.user("weather?")], **kw)
        assert resp.finish_reason == "tool_calls" and resp.raw_finish_reason == "tool_use"
        _check_tools(resp.tool_calls, mock_server)
        with provider.chat(
            model=CLAUDE, messages=[Message.user("weather?")], stream=True, **kw
        ) as stream:
            ended = [e.tool_call for e in stream if isinstance(e, ToolCallEnded)]
            final = stream.final_response()
    assert ended == final.tool_calls
    assert final.finish_reason == "tool_calls"
    _check_tools(final.tool_calls, mock_server)


async def test_tools_async(mock_server: MockServer) -> None:
    mock_server.push(Scenario(tool_calls=CALLS), Scenario(tool_calls=CALLS))
    async with _async(mock_server) as provider:
        kw: dict[str, Any] = {"tools": [WEATHER], "tool_choice": "required"}
        resp = await provider.chat(model=CLAUDE, messages=[Message.user("weather?")], **kw)
        _check_tools(resp.tool_calls, mock_server)
        stream = await provider.chat(
            model=CLAUDE, messages=[Message.user("weather?")], stream=True, **kw
        )
        ended = [e.tool_call async for e in stream if isinstance(e, ToolCallEnded)]
        final = await stream.final_response()
    assert ended == final.tool_calls
    _check_tools(final.tool_calls, mock_server)


def _tool_history() -> list[Message]:
    call = ToolCall("tooluse_abc", "get_weather", {"city": "Paris"})
    return [
        Message.user("weather in Paris?"),
        Message.assistant("Let me check.", tool_calls=[call]),
        Message.tool("tooluse_abc", {"temp_c": 21}),
    ]


def _check_tool_history(resp: Any, server: MockServer) -> None:
    assert resp.content == 'echo: {"temp_c": 21}'
    assert server.requests[-1].json()["messages"] == [
        {"role": "user", "content": [{"text": "weather in Paris?"}]},
        {
            "role": "assistant",
            "content": [
                {"text": "Let me check."},
                {
                    "toolUse": {
                        "toolUseId": "tooluse_abc",
                        "name": "get_weather",
                        "input": {"city": "Paris"},
                    }
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "toolResult": {
                        "toolUseId": "tooluse_abc",
                        "content": [{"text": '{"temp_c": 21}'}],
                    }
                }
            ],
        },
    ]


def test_tool_result_round_trip_sync(mock_server: MockServer) -> None:
    with _sync(mock_server) as provider:
        resp = provider.chat(model=CLAUDE, messages=_tool_history(), tools=[WEATHER])
    _check_tool_history(resp, mock_server)


async def test_tool_result_round_trip_async(mock_server: MockServer) -> None:
    async with _async(mock_server) as provider:
        resp = await provider.chat(model=CLAUDE, messages=_tool_history(), tools=[WEATHER])
    _check_tool_history(resp, mock_server)


# ---- images ---------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\nmock"


def test_image_bytes_sync(mock_server: MockServer) -> None:
    msg = Message.user_with_image("What is it?", image_base64=PNG, media_type="image/png")
    with _sync(mock_server) as provider:
        provider.chat(model=CLAUDE, messages=[msg])
        with pytest.raises(ParameterError, match="s3://"):
            provider.chat(
                model=CLAUDE,
                messages=[Message.user_with_image("x", image_url="https://x/y.png")],
            )
    content = mock_server.requests[-1].json()["messages"][0]["content"]
    assert content[1] == {"image": {"format": "png", "source": {"bytes": "iVBORw0KGgptb2Nr"}}}
    assert len(mock_server.requests) == 1


async def test_image_bytes_async(mock_server: MockServer) -> None:
    msg = Message.user_with_image("What is it?", image_base64=PNG)  # PNG: from the bytes
    async with _async(mock_server) as provider:
        await provider.chat(model=CLAUDE, messages=[msg])
    content = mock_server.requests[-1].json()["messages"][0]["content"]
    assert content[1] == {"image": {"format": "png", "source": {"bytes": "iVBORw0KGgptb2Nr"}}}


# ---- errors ---------------------------------------------------------------------------------

ERRORS = [
    (400, "ValidationException", "E1001"),
    (403, "AccessDeniedException", "E1003"),
    (404, "ResourceNotFoundException", "E1004"),
    (408, "ModelTimeoutException", "E3003"),
    (424, "ModelErrorException", "E3001"),
    (429, "ThrottlingException", "E2001"),
    (500, "InternalServerException", "E3001"),
    (503, "ServiceUnavailableException", "E3002"),
]


def _check_error(err: RemoteError, status: int, kind: str, code: str) -> None:
    assert (err.status, err.provider_code, err.code) == (status, kind, code)
    assert err.provider == "bedrock" and err.message
    assert err.request_id == "00000000-0000-4000-8000-000000000001"


@pytest.mark.parametrize(("status", "kind", "code"), ERRORS)
def test_http_errors_sync(mock_server: MockServer, status: int, kind: str, code: str) -> None:
    mock_server.push(Scenario(status=status))
    with _sync(mock_server) as provider, pytest.raises(RemoteError) as info:
        provider.chat(model=NOVA, messages=MESSAGES)
    _check_error(info.value, status, kind, code)


@pytest.mark.parametrize(("status", "kind", "code"), ERRORS)
async def test_http_errors_async(
    mock_server: MockServer, status: int, kind: str, code: str
) -> None:
    mock_server.push(Scenario(status=status))
    async with _async(mock_server) as provider:
        stream = await provider.chat(model=NOVA, messages=MESSAGES, stream=True)
        with pytest.raises(RemoteError) as info:
            await stream.final_response()
    _check_error(info.value, status, kind, code)


QUOTA = Scenario(
    status=400,
    error_body={"message": "Your account has exceeded its quota."},
    headers={"x-amzn-errortype": "ServiceQuotaExceededException:http://internal.amazon.com/"},
)


def test_error_type_header_wins_over_status_sync(mock_server: MockServer) -> None:
    mock_server.push(QUOTA)
    with _sync(mock_server) as provider, pytest.raises(RemoteError) as info:
        provider.chat(model=NOVA, messages=MESSAGES)
    assert (info.value.code, info.value.provider_code) == ("E2002", "ServiceQuotaExceededException")


async def test_error_type_header_wins_over_status_async(mock_server: MockServer) -> None:
    mock_server.push(QUOTA)
    async with _async(mock_server) as provider:
        with pytest.raises(RemoteError) as info:
            await provider.chat(model=NOVA, messages=MESSAGES)
    assert info.value.name == "quota_exhausted"


def test_retry_after_throttling_sync(mock_server: MockServer) -> None:
    mock_server.push(Scenario(status=429, retry_after=0), Scenario(text="fine"))
    with Bedrock(base_url=mock_server.base_url("bedrock"), max_retries=1) as provider:
        resp = provider.chat(model=NOVA, messages=MESSAGES)
    assert resp.content == "fine" and len(mock_server.requests) == 2
    verify_sigv4(mock_server.requests[-1])  # the retry is signed again


async def test_retry_after_throttling_async(mock_server: MockServer) -> None:
    mock_server.push(Scenario(status=429, retry_after=0), Scenario(text="fine"))
    async with AsyncBedrock(base_url=mock_server.base_url("bedrock"), max_retries=1) as provider:
        resp = await provider.chat(model=NOVA, messages=MESSAGES)
    assert resp.content == "fine" and len(mock_server.requests) == 2


STREAM_ERROR = Scenario(text="partial answer", stream_error={"type": "throttlingException"})


def test_exception_inside_the_stream_sync(mock_server: MockServer) -> None:
    mock_server.push(STREAM_ERROR)
    with (
        _sync(mock_server) as provider,
        pytest.raises(RemoteError) as info,
        provider.chat(model=NOVA, messages=MESSAGES, stream=True) as stream,
    ):
        list(stream)
    err = info.value
    assert (err.code, err.provider_code) == ("E2001", "throttlingException")
    assert err.message == "Too many requests, please wait before trying again."
    assert err.partial is not None and err.partial.content == "partial answer"


async def test_exception_inside_the_stream_async(mock_server: MockServer) -> None:
    mock_server.push(STREAM_ERROR)
    async with _async(mock_server) as provider:
        stream = await provider.chat(model=NOVA, messages=MESSAGES, stream=True)
        with pytest.raises(RemoteError) as info:
            async for _ in stream:
                pass
    assert info.value.provider_code == "throttlingException"
    assert info.value.partial is not None and info.value.partial.content == "partial answer"


def test_cut_stream_sync(mock_server: MockServer) -> None:
    mock_server.push(Scenario(text="a b c d e", cut_after=3))
    with (
        _sync(mock_server) as provider,
        pytest.raises(StreamInterruptedError) as info,
        provider.chat(model=NOVA, messages=MESSAGES, stream=True) as stream,
    ):
        list(stream)
    assert info.value.partial is not None and info.value.partial.content == "a b"


async def test_cut_stream_async(mock_server: MockServer) -> None:
    mock_server.push(Scenario(text="a b c d e", cut_after=3))
    async with _async(mock_server) as provider:
        stream = await provider.chat(model=NOVA, messages=MESSAGES, stream=True)
        with pytest.raises(StreamInterruptedError) as info:
            async for _ in stream:
                pass
    assert info.value.partial is not None and info.value.partial.content == "a b"


# ---- credentials and region ------------------------------------------------------------------


def test_session_token_is_sent_and_signed_sync(
    mock_server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", "FQoGZXIvYXdzE-session")
    with _sync(mock_server) as provider:
        provider.chat(model=NOVA, messages=MESSAGES)
    verify_sigv4(mock_server.requests[-1], token="FQoGZXIvYXdzE-session")


async def test_session_token_is_sent_and_signed_async(
    mock_server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", "FQoGZXIvYXdzE-session")
    async with _async(mock_server) as provider:
        stream = await provider.chat(model=NOVA, messages=MESSAGES, stream=True)
        await stream.final_response()
    verify_sigv4(mock_server.requests[-1], token="FQoGZXIvYXdzE-session")


def test_missing_credentials_fail_before_sending_sync(
    mock_server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with _sync(mock_server) as provider, pytest.raises(AiLibError) as info:
        provider.chat(model=NOVA, messages=MESSAGES)
    assert info.value.code == "E1002" and mock_server.requests == []


async def test_missing_credentials_fail_before_sending_async(
    mock_server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    async with _async(mock_server) as provider:
        with pytest.raises(AiLibError) as info:
            await provider.chat(model=NOVA, messages=MESSAGES)
    assert info.value.code == "E1002" and mock_server.requests == []


def test_bedrock_api_key_is_a_bearer_token_only_sync(mock_server: MockServer) -> None:
    with _sync(mock_server, api_key="bedrock-api-key-123") as provider:
        provider.chat(model=NOVA, messages=MESSAGES)
    headers = mock_server.requests[-1].headers
    assert headers["authorization"] == "Bearer bedrock-api-key-123"
    assert "bedrock-api-key-123" not in {v for k, v in headers.items() if k != "authorization"}


async def test_bedrock_api_key_is_a_bearer_token_only_async(
    mock_server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "bedrock-api-key-123")
    async with _async(mock_server) as provider:
        await provider.chat(model=NOVA, messages=MESSAGES)
    headers = mock_server.requests[-1].headers
    assert headers["authorization"] == "Bearer bedrock-api-key-123"
    assert "bedrock-api-key-123" not in {v for k, v in headers.items() if k != "authorization"}


def test_region_fills_the_default_base_url_sync(monkeypatch: pytest.MonkeyPatch) -> None:
    with Bedrock() as provider:
        assert provider.base_url == f"https://bedrock-runtime.{REGION}.amazonaws.com"
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    with Bedrock() as provider:
        assert provider.base_url == "https://bedrock-runtime.ap-south-1.amazonaws.com"
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with Bedrock() as provider:
        assert provider.base_url == "https://bedrock-runtime.us-east-1.amazonaws.com"


async def test_region_fills_the_default_base_url_async(monkeypatch: pytest.MonkeyPatch) -> None:
    async with AsyncBedrock() as provider:
        assert provider.base_url == f"https://bedrock-runtime.{REGION}.amazonaws.com"


# ---- through AiClient ------------------------------------------------------------------------


def test_ai_client_sync(mock_server: MockServer) -> None:
    base = mock_server.base_url("bedrock")
    with AiClient.create(f"bedrock/{CLAUDE}", base_url=base, max_retries=0) as client:
        resp = client.chat().system("Be brief.").user("Hello").temperature(0.2).execute()
        with client.chat().user("Hi there").stream() as stream:
            final = stream.final_response()
    assert resp.content == "echo: Hello" and final.content == "echo: Hi there"
    assert [r.path for r in mock_server.requests] == [
        f"/model/{CLAUDE}/converse",
        f"/model/{CLAUDE}/converse-stream",
    ]
    for req in mock_server.requests:
        verify_sigv4(req)


async def test_ai_client_async(mock_server: MockServer) -> None:
    base = mock_server.base_url("bedrock")
    client = await AsyncAiClient.create(f"bedrock/{CLAUDE}", base_url=base, max_retries=0)
    async with client:
        resp = await client.chat().user("Hello").execute()
        async with client.chat().user("Hi there").stream() as stream:
            final = await stream.final_response()
    assert resp.content == "echo: Hello" and final.content == "echo: Hi there"
    for req in mock_server.requests:
        verify_sigv4(req)
