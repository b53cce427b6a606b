"""Conformance of the native Ollama (``/api/chat``) and Cohere v2 (``/v2/chat``) dialects.

Every recorded corpus exchange of the ``ollama.chat`` and ``cohere.v2_chat`` APIs
(``tests/fixtures/corpus/{ollama,cohere}/``) is replayed through ``AiClient`` /
``AsyncAiClient`` on an ``httpx.MockTransport``:

* the recorded *request* is rebuilt as ailib messages and tools, and the body ailib sends
  must equal the recorded one (Ollama: minus the empty defaults the old SDK sent, plus
  ``tool_name`` on tool results);
* the *response* expectation is computed here, independently of ailib, by walking the
  recorded JSON (a naive NDJSON / SSE split and dictionary lookups).

The recorded Cohere error body (an ``/v2/embed`` 404: Cohere's one error envelope) is
replayed on the chat endpoint. Compiled and interpreted specs are compared frame by frame.
"""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest

from ailib import AiClient, AsyncAiClient, ContentBlock, Message, ToolDefinition
from ailib.errors import RemoteError
from ailib.pipeline.decoders import NdjsonDecoder, SseDecoder
from ailib.runtime.registry import compiled_spec
from ailib.runtime.spec import ProviderSpec
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
from ailib.types.tools import ToolCall

from .conftest import FIXTURES, Recorder, body_bytes

APIS = {"ollama.chat": "ollama", "cohere.v2_chat": "cohere"}
BASE_URLS = {"ollama": "http://127.0.0.1:9", "cohere": "http://127.0.0.1:9/v2"}
PATHS = {"ollama": "/api/chat", "cohere": "/v2/chat"}
# Finish reasons as documented by each provider, mapped to the normalized names.
FINISH = {
    "ollama": {"stop": "stop", "length": "length", "load": "stop", "unload": "stop"},
    "cohere": {
        "COMPLETE": "stop",
        "STOP_SEQUENCE": "stop",
        "MAX_TOKENS": "length",
        "TOOL_CALL": "tool_calls",
        "ERROR": "error",
        "TIMEOUT": "error",
    },
}
REQUEST_ID_HEADERS = {"ollama": ("x-request-id",), "cohere": ("x-debug-trace-id", "x-request-id")}
# Fields the ollama-python 0.2/0.3 SDK always sent with their empty defaults.
OLLAMA_SDK_DEFAULTS = {"format": "", "options": {}, "keep_alive": None, "tools": []}


def _load(provider: str) -> list[dict[str, Any]]:
    cases = [json.loads(p.read_text("utf-8")) for p in sorted((FIXTURES / provider).glob("*"))]
    return [c for c in cases if c["api"] in APIS]


CASES = sorted(_load("ollama") + _load("cohere"), key=lambda c: c["id"])
ALL = [pytest.param(c, id=c["id"]) for c in CASES]


def provider_of(case: dict[str, Any]) -> str:
    return APIS[case["api"]]


def is_stream(case: dict[str, Any]) -> bool:
    return case["request"]["json"].get("stream") is True


STREAMS = [pytest.param(c, id=c["id"]) for c in CASES if is_stream(c)]


def test_every_recorded_case_is_replayed() -> None:
    assert [c["id"] for c in CASES] == [
        "cohere-chat-basic",
        "cohere-chat-stream",
        "cohere-thinking",
        "cohere-tools",
        "cohere-tools-result-followup",
        "cohere-tools-stream",
        "ollama-native-chat",
        "ollama-native-chat-stream",
        "ollama-native-chat-tool-history",
    ]
    for case in CASES:
        assert case["source"]["repo"] and case["response"]["status"] == 200


# ---- the recorded request, rebuilt as ailib input ------------------------------------------


def rebuild(case: dict[str, Any]) -> tuple[list[Message], list[ToolDefinition]]:
    body = case["request"]["json"]
    tools = [
        ToolDefinition(t["function"]["name"], t["function"].get("description", ""),
                       t["function"]["parameters"])
        for t in body.get("tools") or []
    ]  # fmt: skip
    messages: list[Message] = []
    last_ids: list[str] = []
    for m in body["messages"]:
        if m["role"] == "tool":  # Ollama's recorded result names no call: the last one
            messages.append(Message.tool(m.get("tool_call_id") or last_ids[-1], m["content"]))
        elif m["role"] == "assistant":
            calls = []
            for i, c in enumerate(m.get("tool_calls") or []):
                fn = c["function"]
                calls.append(ToolCall.from_raw(c.get("id") or f"call_{i}", fn["name"],
                                               fn["arguments"]))  # fmt: skip
            last_ids = [c.id for c in calls]
            content = m.get("content") or m.get("tool_plan") or ""
            if isinstance(content, list):
                content = [
                    ContentBlock.thinking(p["thinking"]) if p["type"] == "thinking"
                    else ContentBlock.text(p["text"])
                    for p in content
                ]  # fmt: skip
            messages.append(Message.assistant(content, calls))
        else:
            messages.append(Message(m["role"], m["content"]))
    return messages, tools


def check_request(case: dict[str, Any], rec: Recorder) -> None:
    assert len(rec.requests) == 1
    req = rec.requests[0]
    provider = provider_of(case)
    assert req.url.path == PATHS[provider]
    sent = json.loads(req.content)
    recorded = dict(case["request"]["json"])
    assert "authorization" in req.headers
    if provider == "ollama":
        for key, empty in OLLAMA_SDK_DEFAULTS.items():
            if recorded.get(key, empty) == empty:
                recorded.pop(key, None)
        calls = {}
        for got in sent["messages"]:
            for call in got.get("tool_calls") or []:
                calls = {"name": call["function"]["name"]}
            if got["role"] == "tool":  # the call it answers, by name (no ids on the wire)
                assert got.pop("tool_name") == calls["name"]
    assert sent == recorded


# ---- reference decoding ----------------------------------------------------------------------


def sse_data(text: str) -> list[str]:
    """Naive SSE split: blank-line separated events, their ``data:`` lines joined."""
    out = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        data = [ln[5:].removeprefix(" ") for ln in block.split("\n") if ln.startswith("data:")]
        if data:
            out.append("\n".join(data))
    return out


def frames(case: dict[str, Any]) -> list[Any]:
    text = case["response"]["body_text"]
    fmt = case["response"]["body_format"]
    if fmt == "ndjson":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    if fmt == "sse":
        return [json.loads(d) for d in sse_data(text) if d != "[DONE]"]
    return [json.loads(text)]


@attrs.define
class Expected:
    content: str = ""
    reasoning: str = ""
    tools: list[dict[str, Any]] = attrs.field(factory=list)
    finish: str | None = None
    usage: dict[str, int] = attrs.field(factory=dict)
    id: str | None = None
    model: str | None = None


def ref_ollama(case: dict[str, Any]) -> Expected:
    exp = Expected()
    for frame in frames(case):
        exp.model = exp.model or frame.get("model")
        message = frame.get("message") or {}
        exp.content += message.get("content") or ""
        exp.reasoning += message.get("thinking") or ""
        for call in message.get("tool_calls") or []:
            fn = call["function"]
            exp.tools.append({"id": call.get("id"), "name": fn["name"], "args": fn["arguments"]})
        if frame.get("done") is True:
            exp.finish = frame.get("done_reason") or "stop"
            exp.usage = {
                "input_tokens": frame.get("prompt_eval_count", 0),
                "output_tokens": frame.get("eval_count", 0),
            }
    return exp


def _cohere_usage(exp: Expected, usage: dict[str, Any]) -> None:
    tokens = usage.get("tokens") or usage.get("billed_units") or {}
    exp.usage = {
        "input_tokens": tokens.get("input_tokens", 0),
        "output_tokens": tokens.get("output_tokens", 0),
        "cached_tokens": usage.get("cached_tokens", 0),
    }


def ref_cohere(case: dict[str, Any]) -> Expected:
    exp = Expected()
    if case["response"]["body_format"] == "json":
        (body,) = frames(case)
        exp.id = body["id"]
        message = body["message"]
        exp.content = message.get("tool_plan") or ""
        for part in message.get("content") or []:
            if part["type"] == "text":
                exp.content += part["text"]
            elif part["type"] == "thinking":
                exp.reasoning += part["thinking"]
        for call in message.get("tool_calls") or []:
            fn = call["function"]
            exp.tools.append({"id": call["id"], "name": fn["name"], "args": fn["arguments"]})
        exp.finish = body["finish_reason"]
        _cohere_usage(exp, body.get("usage") or {})
        return exp
    calls: dict[int, dict[str, Any]] = {}
    for frame in frames(case):
        kind, delta = frame["type"], frame.get("delta") or {}
        message = delta.get("message") or {}
        if kind == "message-start":
            exp.id = frame["id"]
        elif kind in ("content-start", "content-delta"):
            exp.content += message["content"].get("text") or ""
            exp.reasoning += message["content"].get("thinking") or ""
        elif kind == "tool-plan-delta":
            exp.content += message["tool_plan"]
        elif kind == "tool-call-start":
            call = message["tool_calls"]
            calls[frame["index"]] = {"id": call["id"], "name": call["function"]["name"],
                                     "args": call["function"]["arguments"]}  # fmt: skip
        elif kind == "tool-call-delta":
            calls[frame["index"]]["args"] += message["tool_calls"]["function"]["arguments"]
        elif kind == "message-end":
            exp.finish = delta["finish_reason"]
            _cohere_usage(exp, delta.get("usage") or {})
    exp.tools = [calls[i] for i in sorted(calls)]
    return exp


REFERENCE = {"ollama": ref_ollama, "cohere": ref_cohere}


def _args(raw: Any) -> dict[str, Any]:
    return raw if isinstance(raw, dict) else json.loads(raw)


def check_response(case: dict[str, Any], resp: ChatResponse) -> None:
    provider = provider_of(case)
    exp = REFERENCE[provider](case)
    assert resp.content == exp.content
    assert resp.reasoning == (exp.reasoning or None)
    assert [c.function_name for c in resp.tool_calls] == [t["name"] for t in exp.tools]
    assert [c.arguments for c in resp.tool_calls] == [_args(t["args"]) for t in exp.tools]
    for got, want in zip(resp.tool_calls, exp.tools, strict=True):
        if want["id"]:
            assert got.id == want["id"]
        assert got.id  # generated when the provider gives none
    assert resp.raw_finish_reason == exp.finish
    name = FINISH[provider].get(str(exp.finish), exp.finish)
    assert resp.finish_reason == ("tool_calls" if name == "stop" and exp.tools else name)
    inp, out = exp.usage["input_tokens"], exp.usage["output_tokens"]
    assert attrs.asdict(resp.usage) == {
        "input_tokens": inp,
        "output_tokens": out,
        "total_tokens": inp + out,
        "cached_tokens": exp.usage.get("cached_tokens", 0),
        "reasoning_tokens": 0,
        "cache_creation_tokens": 0,
        "audio_input_tokens": 0,
        "audio_output_tokens": 0,
    }
    # Cohere bodies carry no model: it falls back to the requested one
    assert (resp.id, resp.model) == (exp.id, exp.model or case["request"]["json"]["model"])
    headers = {k.lower(): v for k, v in case["response"]["headers"].items()}
    rid = next((headers[h] for h in REQUEST_ID_HEADERS[provider] if h in headers), None)
    assert resp.request_id == rid
    thinking = [(b.type, b.text_value) for b in resp.thinking_blocks]
    assert thinking == ([("thinking", exp.reasoning)] if exp.reasoning else [])


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


# ---- the replay tests ------------------------------------------------------------------------


def _target(case: dict[str, Any]) -> tuple[str, str]:
    provider = provider_of(case)
    return f"{provider}/{case['request']['json']['model']}", BASE_URLS[provider]


def run_sync(case: dict[str, Any], rec: Recorder) -> None:
    messages, tools = rebuild(case)
    name, base = _target(case)
    with (
        rec.client() as http,
        AiClient.create(name, api_key="test", base_url=base, http_client=http) as client,
    ):
        builder = client.chat().messages(messages).tools(tools)
        if is_stream(case):
            with builder.stream() as stream:
                events = list(stream)
                resp = stream.final_response()
            check_events(events, resp)
        else:
            resp = builder.execute()
    check_response(case, resp)
    check_request(case, rec)


async def run_async(case: dict[str, Any], rec: Recorder) -> None:
    messages, tools = rebuild(case)
    name, base = _target(case)
    async with rec.async_client() as http:
        client = await AsyncAiClient.create(name, api_key="test", base_url=base, http_client=http)
        async with client:
            builder = client.chat().messages(messages).tools(tools)
            if is_stream(case):
                async with builder.stream() as stream:
                    events = [ev async for ev in stream]
                resp = await stream.final_response()
                check_events(events, resp)
            else:
                resp = await builder.execute()
    check_response(case, resp)
    check_request(case, rec)


@pytest.mark.parametrize("case", ALL)
def test_case_sync(case: dict[str, Any]) -> None:
    run_sync(case, Recorder(case))


@pytest.mark.parametrize("case", ALL)
async def test_case_async(case: dict[str, Any]) -> None:
    await run_async(case, Recorder(case))


@pytest.mark.parametrize("case", STREAMS)
def test_stream_case_sync_small_chunks(case: dict[str, Any]) -> None:
    """The same result when the body arrives in pieces cut mid-line and mid-UTF-8."""
    run_sync(case, Recorder(case, chunk_size=7))


@pytest.mark.parametrize("case", STREAMS)
async def test_stream_case_async_small_chunks(case: dict[str, Any]) -> None:
    await run_async(case, Recorder(case, chunk_size=11))


# ---- the recorded Cohere error envelope ------------------------------------------------------

ERROR_CASE = json.loads((FIXTURES / "cohere" / "cohere-embeddings-error-404.json").read_text())


def check_error(err: RemoteError) -> None:
    body = json.loads(ERROR_CASE["response"]["body_text"])
    assert (err.code, err.name, err.status) == ("E1004", "not_found", 404)
    assert err.message == body["message"]
    assert err.provider_code is None and err.request_id is None
    assert (err.retryable, err.fallbackable, err.retry_after) == (False, False, None)
    assert err.provider == "cohere" and err.body == body


def test_recorded_error_sync() -> None:
    rec = Recorder(ERROR_CASE)
    with (
        rec.client() as http,
        AiClient.create("cohere/nonexistent", api_key="t", base_url=BASE_URLS["cohere"],
                        http_client=http, max_retries=0) as client,
        pytest.raises(RemoteError) as info,
    ):  # fmt: skip
        client.chat().user("x").execute()
    check_error(info.value)
    assert len(rec.requests) == 1


async def test_recorded_error_async() -> None:
    rec = Recorder(ERROR_CASE)
    async with rec.async_client() as http:
        client = await AsyncAiClient.create(
            "cohere/nonexistent",
            api_key="t",
            base_url=BASE_URLS["cohere"],
            http_client=http,
            max_retries=0,
        )
        async with client:
            with pytest.raises(RemoteError) as info:
                async with client.chat().user("x").stream():
                    pass
    check_error(info.value)
    assert len(rec.requests) == 1


# ---- compiled vs interpreted -----------------------------------------------------------------


def decoded(case: dict[str, Any]) -> list[Any]:
    """The frames as ailib's own decoders cut them."""
    data = body_bytes(case)
    if case["response"]["body_format"] == "ndjson":
        nd = NdjsonDecoder()
        return nd.feed(data) + nd.flush()
    if case["response"]["body_format"] == "sse":
        sse = SseDecoder()
        return [json.loads(e.data) for e in sse.feed(data) + sse.flush() if e.data != "[DONE]"]
    return [json.loads(data)]


@pytest.mark.parametrize("case", ALL)
def test_compiled_equals_interpreted(case: dict[str, Any]) -> None:
    compiled = compiled_spec(provider_of(case))
    assert compiled is not None and compiled.compiled
    interpreted = ProviderSpec.interpreted(compiled.manifest)
    for frame in decoded(case):
        if is_stream(case):
            assert compiled.map_stream(frame) == interpreted.map_stream(frame)
        else:
            assert compiled.map_response(frame) == interpreted.map_response(frame)
    params = {"temperature": 0.5, "max_tokens": 9, "top_p": 0.5, "top_k": 4, "stop": "x"}
    assert compiled.encode_params(params) == interpreted.encode_params(params)
    for body in ({"error": "boom"}, {"message": "m", "id": "1"}, {"error": {"x": 1}}, None, []):
        assert compiled.errors.codes_of(body) == interpreted.errors.codes_of(body)
        assert compiled.errors.message_of(body) == interpreted.errors.message_of(body)
    assert compiled.errors.by_status == interpreted.errors.by_status
    assert compiled.errors.by_code == interpreted.errors.by_code
