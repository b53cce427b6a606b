"""Conformance: every recorded Bedrock Converse / ConverseStream exchange, sync and async.

Each case (``tests/fixtures/corpus/bedrock/<id>.json``) is replayed on an
``httpx.MockTransport`` behind ``AiClient`` / ``AsyncAiClient``, driven with the same
conversation as the recorded request. Expectations are computed here independently of
ailib: JSON bodies with ``json.loads`` and dictionary walking, the binary stream from the
corpus' own ``eventstream_decoded`` helper (not from ailib's decoder). The request ailib
sends must equal the recorded one (path with the model id, JSON body) and be SigV4-signed.
The compiled ``ailib.providers.bedrock`` and the interpreted manifest must also agree.
"""

from __future__ import annotations

import base64
import datetime
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import attrs
import httpx
import pytest

from ailib import AiClient, AsyncAiClient, Message, ToolDefinition
from ailib.errors import RemoteError
from ailib.providers.bedrock import SPEC as COMPILED
from ailib.runtime._async_engine import AsyncEngine
from ailib.runtime._sync_engine import SyncEngine
from ailib.runtime.spec import ProviderSpec
from ailib.transport.sigv4 import sign
from ailib.types.events import (
    ContentDelta,
    StreamEnd,
    StreamEvent,
    ThinkingDelta,
    ToolCallEnded,
    ToolCallStarted,
    UsageEvent,
)
from ailib.types.response import ChatResponse

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "corpus" / "bedrock"
CASES = [json.loads(p.read_text("utf-8")) for p in sorted(FIXTURES.glob("*.json"))]
PARAMS = [pytest.param(c, id=c["id"]) for c in CASES]
STREAMS = [pytest.param(c, id=c["id"]) for c in CASES if c["api"] == "bedrock.converse_stream"]
INTERPRETED = ProviderSpec.interpreted(COMPILED.manifest)
ACCESS, SECRET, REGION = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1"

# Standard codes (AI-Protocol) and Bedrock's documented stop reasons, written out here.
STANDARD = {
    "invalid_request": ("E1001", False, False),
    "permission_denied": ("E1003", False, False),
    "not_found": ("E1004", False, False),
    "rate_limited": ("E2001", True, True),
    "server_error": ("E3001", True, True),
    "overloaded": ("E3002", True, True),
    "timeout": ("E3003", True, True),
}
HTTP_NAMES = {
    400: "invalid_request",
    403: "permission_denied",
    404: "not_found",
    408: "timeout",
    429: "rate_limited",
    500: "server_error",
    503: "overloaded",
}
FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
}


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_REGION", REGION)
    for name in ("AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)


# ---- replay --------------------------------------------------------------------------------


def is_stream(case: dict[str, Any]) -> bool:
    return bool(case["api"] == "bedrock.converse_stream")


def is_error(case: dict[str, Any]) -> bool:
    return int(case["response"]["status"]) >= 400


def model_of(case: dict[str, Any]) -> str:
    return unquote(case["request"]["url_path"].split("/")[2])


def body_of(case: dict[str, Any]) -> bytes:
    response = case["response"]
    if response.get("body_base64"):
        return base64.b64decode(response["body_base64"])
    return str(response["body_text"]).encode()


class Replay:
    """Serves one recorded response (optionally in small chunks); keeps the requests."""

    def __init__(self, case: dict[str, Any], chunk: int | None = None) -> None:
        self.case = case
        self.chunk = chunk
        self.requests: list[httpx.Request] = []

    def _parts(self) -> tuple[int, dict[str, str], list[bytes]]:
        response = self.case["response"]
        headers = {
            k: v
            for k, v in response["headers"].items()
            if k not in ("content-length", "transfer-encoding")
        }
        data = body_of(self.case)
        size = self.chunk or len(data) or 1
        return response["status"], headers, [data[i : i + size] for i in range(0, len(data), size)]

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status, headers, chunks = self._parts()

        def body() -> Iterator[bytes]:
            yield from chunks

        return httpx.Response(status, headers=headers, content=body())

    async def async_handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status, headers, chunks = self._parts()

        async def body() -> AsyncIterator[bytes]:
            for chunk in chunks:
                yield chunk

        return httpx.Response(status, headers=headers, content=body())


def drive(builder: Any, case: dict[str, Any]) -> Any:
    """Build the recorded conversation with the public builder."""
    sent = case["request"]["json"]
    for block in sent.get("system") or []:
        builder = builder.system(block["text"])
    for message in sent["messages"]:
        assert message["role"] == "user"
        builder = builder.user("".join(b["text"] for b in message["content"]))
    inference = sent.get("inferenceConfig") or {}
    if "temperature" in inference:
        builder = builder.temperature(inference["temperature"])
    if "maxTokens" in inference:
        builder = builder.max_tokens(inference["maxTokens"])
    tool_config = sent.get("toolConfig")
    if tool_config:
        tools = [
            ToolDefinition(
                t["toolSpec"]["name"],
                t["toolSpec"].get("description", ""),
                t["toolSpec"]["inputSchema"]["json"],
            )
            for t in tool_config["tools"]
        ]
        builder = builder.tools(tools)
        choice = tool_config.get("toolChoice")
        if choice is not None:
            builder = builder.tool_choice(next(iter(choice)))
    return builder


# ---- reference expectations ------------------------------------------------------------------


@attrs.define
class Expected:
    content: str = ""
    reasoning: str = ""
    tools: list[dict[str, Any]] = attrs.field(factory=list)
    finish: str | None = None
    usage: dict[str, int] = attrs.field(factory=dict)


def _usage(usage: dict[str, Any]) -> dict[str, int]:
    cached = usage.get("cacheReadInputTokens", 0)
    written = usage.get("cacheWriteInputTokens", 0)
    # Bedrock's inputTokens leaves cache reads/writes out; ailib counts the whole prompt.
    return {
        "input_tokens": usage["inputTokens"] + cached + written,
        "output_tokens": usage["outputTokens"],
        "total_tokens": usage["totalTokens"],
        "cached_tokens": cached,
        "reasoning_tokens": 0,
        "cache_creation_tokens": written,
        "audio_input_tokens": 0,
        "audio_output_tokens": 0,
    }


def reference(case: dict[str, Any]) -> Expected:
    exp = Expected()
    if not is_stream(case):
        body = json.loads(case["response"]["body_text"])
        for block in body["output"]["message"]["content"]:
            if "text" in block:
                exp.content += block["text"]
            if "reasoningContent" in block:
                exp.reasoning += block["reasoningContent"]["reasoningText"]["text"]
            if "toolUse" in block:
                use = block["toolUse"]
                exp.tools.append(
                    {"id": use["toolUseId"], "name": use["name"], "args": use["input"]}
                )
        exp.finish = body["stopReason"]
        exp.usage = _usage(body["usage"])
        return exp
    blocks: dict[int, dict[str, Any]] = {}
    for message in case["response"]["eventstream_decoded"]:
        kind = message["headers"][":event-type"]
        payload = json.loads(message["payload"])
        if kind == "contentBlockStart" and "toolUse" in payload["start"]:
            use = payload["start"]["toolUse"]
            blocks[payload["contentBlockIndex"]] = {"id": use["toolUseId"], "name": use["name"]}
        elif kind == "contentBlockDelta":
            delta = payload["delta"]
            exp.content += delta.get("text", "")
            exp.reasoning += delta.get("reasoningContent", {}).get("text", "")
            if "toolUse" in delta:
                block = blocks[payload["contentBlockIndex"]]
                block["raw"] = block.get("raw", "") + delta["toolUse"]["input"]
        elif kind == "messageStop":
            exp.finish = payload["stopReason"]
        elif kind == "metadata":
            exp.usage = _usage(payload["usage"])
    for index in sorted(blocks):
        block = blocks[index]
        raw = block.pop("raw", "")
        exp.tools.append({**block, "args": json.loads(raw) if raw else {}})
    return exp


# ---- checks ------------------------------------------------------------------------------------


def check_response(case: dict[str, Any], resp: ChatResponse) -> None:
    exp = reference(case)
    assert resp.content == exp.content
    assert resp.reasoning == (exp.reasoning or None)
    assert [(c.id, c.function_name, c.arguments) for c in resp.tool_calls] == [
        (t["id"], t["name"], t["args"]) for t in exp.tools
    ]
    assert resp.raw_finish_reason == exp.finish
    assert resp.finish_reason == FINISH[str(exp.finish)]
    assert attrs.asdict(resp.usage) == exp.usage
    assert resp.request_id is None  # the recorder dropped the x-amzn-requestid header
    # Converse bodies carry neither an id nor the model: the model is the one requested
    assert resp.id is None
    assert resp.model == unquote(case["request"]["url_path"].split("/")[2])


def check_events(events: list[StreamEvent], resp: ChatResponse) -> None:
    assert "".join(e.content for e in events if isinstance(e, ContentDelta)) == resp.content
    thinking = "".join(e.thinking for e in events if isinstance(e, ThinkingDelta))
    assert thinking == (resp.reasoning or "")
    assert len([e for e in events if isinstance(e, ToolCallStarted)]) == len(resp.tool_calls)
    assert [e.tool_call for e in events if isinstance(e, ToolCallEnded)] == resp.tool_calls
    assert [e.finish_reason for e in events if isinstance(e, StreamEnd)] == [resp.finish_reason]
    usages = [e.usage for e in events if isinstance(e, UsageEvent)]
    assert usages and usages[-1] == resp.usage
    assert not [e for e in events if e.is_unknown], "every recorded frame should be understood"


def check_error(case: dict[str, Any], err: RemoteError) -> None:
    status = int(case["response"]["status"])
    name = HTTP_NAMES[status]  # the x-amzn-errortype header was stripped by the recorder
    code, retryable, fallbackable = STANDARD[name]
    assert (err.code, err.name, err.status) == (code, name, status)
    assert err.message == json.loads(case["response"]["body_text"])["message"]
    assert (err.retryable, err.fallbackable) == (retryable, fallbackable)
    assert err.provider_code is None and err.provider == "bedrock"


def _without_empty(body: dict[str, Any]) -> dict[str, Any]:
    """The recorded body minus the empty ``system: []`` / ``inferenceConfig: {}`` it sent."""
    return {k: v for k, v in body.items() if v not in ([], {})}


def check_request(case: dict[str, Any], replay: Replay) -> None:
    assert len(replay.requests) == 1  # max_retries=0
    req = replay.requests[0]
    recorded = case["request"]
    assert req.method == recorded["method"]
    assert req.url.host == recorded["host"]
    assert req.url.raw_path.decode() == recorded["url_path"]  # model id quoted: %3A
    assert json.loads(req.content) == _without_empty(recorded["json"])
    check_signature(req)


def check_signature(req: httpx.Request) -> None:
    auth = req.headers["authorization"]
    date = req.headers["x-amz-date"]
    scope = f"{date[:8]}/{REGION}/bedrock/aws4_request"
    assert auth.startswith(f"AWS4-HMAC-SHA256 Credential={ACCESS}/{scope}, SignedHeaders=")
    names = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
    assert names == sorted(names) and {"host", "x-amz-date", "content-type"} <= set(names)
    moment = datetime.datetime.strptime(date, "%Y%m%dT%H%M%SZ").replace(
        tzinfo=datetime.timezone.utc
    )
    signed = {n: req.headers[n] for n in names if n not in ("host", "x-amz-date")}
    again = sign(
        "POST",
        str(req.url),
        req.content,
        signed,
        access_key=ACCESS,
        secret_key=SECRET,
        region=REGION,
        service="bedrock",
        now=moment,
    )
    assert again["authorization"] == auth


# ---- the tests ------------------------------------------------------------------------------


def run_sync(case: dict[str, Any], replay: Replay) -> None:
    with (
        httpx.Client(transport=httpx.MockTransport(replay.handler)) as http,
        AiClient.create(f"bedrock/{model_of(case)}", http_client=http, max_retries=0) as client,
    ):
        builder = drive(client.chat(), case)
        try:
            if is_stream(case):
                with builder.stream() as stream:
                    events = list(stream)
                    resp = stream.final_response()
                check_events(events, resp)
            else:
                resp = builder.execute()
        except RemoteError as err:
            assert is_error(case), f"unexpected error: {err}"
            check_error(case, err)
        else:
            assert not is_error(case)
            check_response(case, resp)
    check_request(case, replay)


async def run_async(case: dict[str, Any], replay: Replay) -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(replay.async_handler)) as http:
        client = await AsyncAiClient.create(
            f"bedrock/{model_of(case)}", http_client=http, max_retries=0
        )
        async with client:
            builder = drive(client.chat(), case)
            try:
                if is_stream(case):
                    async with builder.stream() as stream:
                        events = [e async for e in stream]
                        resp = await stream.final_response()
                    check_events(events, resp)
                else:
                    resp = await builder.execute()
            except RemoteError as err:
                assert is_error(case), f"unexpected error: {err}"
                check_error(case, err)
            else:
                assert not is_error(case)
                check_response(case, resp)
    check_request(case, replay)


def test_every_bedrock_case_is_here() -> None:
    ids = {c["id"] for c in CASES}
    assert ids == {
        "bedrock-converse-chat",
        "bedrock-converse-error-400",
        "bedrock-converse-stream",
        "bedrock-converse-tools",
    }
    for case in CASES:
        assert case["source"]["repo"] == "pydantic/pydantic-ai"


@pytest.mark.parametrize("case", PARAMS)
def test_case_sync(case: dict[str, Any]) -> None:
    run_sync(case, Replay(case))


@pytest.mark.parametrize("case", PARAMS)
async def test_case_async(case: dict[str, Any]) -> None:
    await run_async(case, Replay(case))


@pytest.mark.parametrize("chunk", [1, 7, 4096])
@pytest.mark.parametrize("case", STREAMS)
def test_stream_case_sync_in_chunks(case: dict[str, Any], chunk: int) -> None:
    run_sync(case, Replay(case, chunk))


@pytest.mark.parametrize("chunk", [1, 11, 4096])
@pytest.mark.parametrize("case", STREAMS)
async def test_stream_case_async_in_chunks(case: dict[str, Any], chunk: int) -> None:
    await run_async(case, Replay(case, chunk))


# ---- compiled vs interpreted ----------------------------------------------------------------


def frames_of(case: dict[str, Any]) -> list[Any]:
    if is_stream(case):
        return [
            {m["headers"][":event-type"]: json.loads(m["payload"])}
            for m in case["response"]["eventstream_decoded"]
        ]
    return [json.loads(case["response"]["body_text"])]


@pytest.mark.parametrize("case", PARAMS)
def test_event_maps_agree_on_recorded_frames(case: dict[str, Any]) -> None:
    for frame in frames_of(case):
        assert COMPILED.map_stream(frame) == INTERPRETED.map_stream(frame)
        assert COMPILED.map_response(frame) == INTERPRETED.map_response(frame)


def test_error_tables_agree() -> None:
    comp, interp = COMPILED.errors, INTERPRETED.errors
    for field in attrs.fields(type(comp)):
        if field.name not in ("codes_of", "message_of", "patterns"):
            assert getattr(comp, field.name) == getattr(interp, field.name), field.name
    assert [(p.pattern, n) for p, n in comp.patterns] == [
        (p.pattern, n) for p, n in interp.patterns
    ]
    for body in ({"message": "m"}, {"__type": "ThrottlingException", "message": "x"}, {}, []):
        assert comp.codes_of(body) == interp.codes_of(body)
        assert comp.message_of(body) == interp.message_of(body)


def test_encode_params_agree() -> None:
    samples = [
        {},
        {"max_tokens": 64, "temperature": 0.2, "top_p": 0.9, "stop": "END"},
        {"stop": ["a", "b"], "guardrail_config": {"guardrailIdentifier": "g"}},
        {"additional_model_request_fields": {"top_k": 5}, "request_metadata": {"k": "v"}},
        {"performance_config": {"latency": "optimized"}, "prompt_variables": {"x": {"text": "y"}}},
        {"additional_model_response_field_paths": ["/stop_sequence"]},
    ]
    for params in samples:
        assert COMPILED.encode_params(dict(params)) == INTERPRETED.encode_params(dict(params))
    assert COMPILED.encode_params(samples[1]) == {
        "inferenceConfig": {
            "maxTokens": 64,
            "temperature": 0.2,
            "topP": 0.9,
            "stopSequences": ["END"],
        }
    }


def _view(result: Any) -> Any:
    if isinstance(result, ChatResponse):
        data = attrs.asdict(result)
        data.pop("raw")
        return data
    if isinstance(result, RemoteError):
        return (type(result).__name__, result.code, result.message, result.status)
    return result


def run_engine_sync(case: dict[str, Any], spec: ProviderSpec) -> Any:
    replay = Replay(case)
    with httpx.Client(transport=httpx.MockTransport(replay.handler)) as http:
        engine = SyncEngine(http_client=http, spec=spec, max_retries=0)
        request = drive(_Collector(model_of(case)), case).build(stream=is_stream(case))
        try:
            if is_stream(case):
                with engine.stream(request) as stream:
                    return [*list(stream), _view(stream.final_response())]
            return _view(engine.execute(request))
        except RemoteError as err:
            return _view(err)


async def run_engine_async(case: dict[str, Any], spec: ProviderSpec) -> Any:
    replay = Replay(case, 3)
    async with httpx.AsyncClient(transport=httpx.MockTransport(replay.async_handler)) as http:
        engine = AsyncEngine(http_client=http, spec=spec, max_retries=0)
        request = drive(_Collector(model_of(case)), case).build(stream=is_stream(case))
        try:
            if is_stream(case):
                async with engine.stream(request) as stream:
                    return [*[e async for e in stream], _view(await stream.final_response())]
            return _view(await engine.execute(request))
        except RemoteError as err:
            return _view(err)


class _Collector:
    """The builder surface ``drive`` uses, collecting a ChatRequest for the engine."""

    def __init__(self, model: str) -> None:
        from ailib.runtime.builder import ChatBuilderBase

        self._builder = ChatBuilderBase(model)

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._builder, name)
        if name == "build":
            return method

        def call(*args: Any) -> _Collector:
            method(*args)
            return self

        return call


@pytest.mark.parametrize("case", PARAMS)
def test_engine_sync_compiled_vs_interpreted(case: dict[str, Any]) -> None:
    assert run_engine_sync(case, COMPILED) == run_engine_sync(case, INTERPRETED)


@pytest.mark.parametrize("case", PARAMS)
async def test_engine_async_compiled_vs_interpreted(case: dict[str, Any]) -> None:
    compiled = await run_engine_async(case, COMPILED)
    assert compiled == await run_engine_async(case, INTERPRETED)
    assert compiled == run_engine_sync(case, COMPILED)  # 3-byte chunks change nothing


# ---- request encoding details -----------------------------------------------------------------


def _encode(messages: list[Any], **params: Any) -> dict[str, Any]:
    from ailib.dialects import ChatRequest
    from ailib.dialects.bedrock_converse import encode

    tools = params.pop("tools", [])
    model = params.pop("model", "us.anthropic.claude-sonnet-4-5-20250929-v1:0")
    return encode(ChatRequest(model=model, messages=messages, params=params, tools=tools))


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("anthropic.claude-3-5-haiku-20241022-v1:0", "anthropic"),
        ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", "anthropic"),
        ("apac.amazon.nova-pro-v1:0", "amazon"),
        (
            "arn:aws:bedrock:us-east-1:1:inference-profile/us.meta.llama3-3-70b-instruct-v1:0",
            "meta",
        ),
        ("openai.gpt-oss-120b-1:0", "openai"),
        ("my-claude-finetune", "anthropic"),
    ],
)
def test_model_family(model: str, family: str) -> None:
    from ailib.dialects.bedrock_converse import model_family

    assert model_family(model) == family


def test_tool_choices() -> None:
    from ailib.errors import ParameterError
    from ailib.types.tools import ToolDefinition as Tool

    tools = [Tool("f")]
    user = [Message.user("x")]
    assert _encode(user, tools=tools, tool_choice="auto")["toolConfig"]["toolChoice"] == {
        "auto": {}
    }
    assert _encode(user, tools=tools, tool_choice="any")["toolConfig"]["toolChoice"] == {"any": {}}
    assert _encode(user, tools=tools, tool_choice="f")["toolConfig"]["toolChoice"] == {
        "tool": {"name": "f"}
    }
    raw = {"tool": {"name": "g"}}
    assert _encode(user, tools=tools, tool_choice=raw)["toolConfig"]["toolChoice"] == raw
    assert _encode(user, tools=tools)["toolConfig"] == {
        "tools": [{"toolSpec": {"name": "f", "inputSchema": {"json": tools[0].parameters}}}]
    }
    with pytest.raises(ParameterError, match="'none'"):
        _encode(user, tools=tools, tool_choice="none")
    with pytest.raises(ParameterError, match="needs tools"):
        _encode(user, tool_choice="auto")


def test_reasoning_per_model_family() -> None:
    from ailib.errors import ParameterError

    user = [Message.user("x")]
    nova = _encode(user, model="us.amazon.nova-2-lite-v1:0", reasoning="minimal")
    assert nova["additionalModelRequestFields"] == {
        "reasoningConfig": {"type": "enabled", "maxReasoningEffort": "low"}
    }
    assert "inferenceConfig" not in nova
    oss = _encode(user, model="openai.gpt-oss-20b-1:0", reasoning={"effort": "high"})
    assert oss["additionalModelRequestFields"] == {"reasoning_effort": "high"}
    assert "additionalModelRequestFields" not in _encode(
        user, model="us.deepseek.r1-v1:0", reasoning="high"
    )
    claude = _encode(user, reasoning=2048, max_tokens=4000)
    assert claude["additionalModelRequestFields"]["thinking"]["budget_tokens"] == 2048
    assert "inferenceConfig" not in claude  # max_tokens is placed by the manifest's wire path
    assert "additionalModelRequestFields" not in _encode(user, reasoning=False)
    with pytest.raises(ParameterError, match="extra_body"):
        _encode(user, model="cohere.command-r-v1:0", reasoning="low")


def test_content_blocks() -> None:
    from ailib.errors import ParameterError
    from ailib.types.messages import ContentBlock as Block

    history = [
        Message.system("one"),
        Message.system("two"),
        Message.user([Block.text(""), Block.image_url("s3://bucket/cat.webp"), Block.text("hi")]),
        Message.assistant(
            [Block("redacted_thinking", data="b64=="), Block.thinking("hmm"), Block.text("yes")]
        ),
        Message.user([Block.image_base64(b"GIF89a", "image/gif")]),
        Message.user("and?"),
    ]
    body = _encode(history)
    assert body["system"] == [{"text": "one"}, {"text": "two"}]
    assert body["messages"] == [
        {
            "role": "user",
            "content": [
                {
                    "image": {
                        "format": "webp",
                        "source": {"s3Location": {"uri": "s3://bucket/cat.webp"}},
                    }
                },
                {"text": "hi"},
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"reasoningContent": {"redactedContent": "b64=="}},
                {"reasoningContent": {"reasoningText": {"text": "hmm"}}},
                {"text": "yes"},
            ],
        },
        {
            "role": "user",
            "content": [
                {"image": {"format": "gif", "source": {"bytes": "R0lGODlh"}}},
                {"text": "and?"},
            ],
        },
    ]
    with pytest.raises(ParameterError, match="png, jpeg, gif or webp"):
        _encode([Message.user([Block.image_base64(b"x", "image/tiff")])])
