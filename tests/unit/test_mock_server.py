"""End-to-end tests of ``ailib.testing.MockServer`` with plain httpx over 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import attrs
import httpx
import pytest

from ailib.testing import MockServer, RecordedRequest, Scenario

pytest_plugins = ["ailib.testing.pytest_plugin"]

USER = [{"role": "user", "content": "hello there"}]
GEMINI_USER = [{"role": "user", "parts": [{"text": "hello there"}]}]


@pytest.fixture
def server(mock_server: MockServer) -> MockServer:
    return mock_server


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as c:
        yield c


def openai(
    client: httpx.Client, server: MockServer, *, stream: bool = False, **extra: Any
) -> httpx.Response:
    body = {"model": "gpt-4o-mini", "messages": USER, **extra}
    if stream:
        body["stream"] = True
    return client.post(server.base_url("openai") + "/chat/completions", json=body)


def anthropic(client: httpx.Client, server: MockServer, *, stream: bool = False) -> httpx.Response:
    body = {"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": USER}
    if stream:
        body["stream"] = True
    headers = {"x-api-key": "test", "anthropic-version": "2023-06-01"}
    return client.post(server.base_url("anthropic") + "/messages", json=body, headers=headers)


def gemini(client: httpx.Client, server: MockServer, mode: str = "") -> httpx.Response:
    """``mode``: "" (generateContent), "sse" or "array" (streamGenerateContent)."""
    method = "generateContent" if not mode else "streamGenerateContent"
    url = f"{server.base_url('gemini')}/models/gemini-2.0-flash:{method}"
    if mode == "sse":
        url += "?alt=sse"
    return client.post(url, json={"contents": GEMINI_USER})


def sse(text: str, sep: str = "\n\n") -> list[tuple[str | None, str]]:
    """Parse an SSE body into ``(event, data)`` pairs."""
    events = []
    for frame in text.split(sep):
        if not frame.strip():
            continue
        name, data = None, []
        for line in frame.splitlines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
        events.append((name, "\n".join(data)))
    return events


def openai_chunks(text: str) -> list[Any]:
    data = [d for _, d in sse(text)]
    assert data[-1] == "[DONE]"
    return [json.loads(d) for d in data[:-1]]


def anthropic_events(text: str) -> list[dict[str, Any]]:
    out = []
    for name, data in sse(text):
        payload = json.loads(data)
        assert payload["type"] == name
        out.append(payload)
    return out


def gemini_sse(text: str) -> list[Any]:
    assert text.endswith("\r\n\r\n")
    return [json.loads(d) for _, d in sse(text, "\r\n\r\n")]


# --------------------------------------------------------------------- basics


def test_urls_and_lifecycle() -> None:
    server = MockServer()
    with pytest.raises(RuntimeError):
        _ = server.url
    with server:
        assert server.port > 0
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert server.base_url("openai") == server.url + "/v1"
        assert server.base_url("anthropic") == server.url + "/v1"
        assert server.base_url("mock") == server.url + "/v1"
        assert server.base_url("gemini") == server.url + "/v1beta"
        assert httpx.get(server.url + "/v1/models").status_code == 200
    with pytest.raises(RuntimeError):
        _ = server.url


def test_scenario_validation() -> None:
    with pytest.raises(ValueError):
        Scenario(repeat=0)
    with pytest.raises(ValueError):
        Scenario(chunks=0)
    assert attrs.has(Scenario) and attrs.has(RecordedRequest)


# --------------------------------------------------------------------- OpenAI


def test_openai_non_stream_echo(server: MockServer, client: httpx.Client) -> None:
    r = openai(client, server)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.headers["x-request-id"].startswith("req_")
    body = r.json()
    assert list(body) == [
        "id", "object", "created", "model", "choices", "usage", "service_tier",
        "system_fingerprint",
    ]  # fmt: skip
    assert body["id"].startswith("chatcmpl-")
    assert body["object"] == "chat.completion"
    assert body["model"] == "gpt-4o-mini"
    choice = body["choices"][0]
    assert choice == {
        "index": 0,
        "message": {
            "role": "assistant",
            "content": "echo: hello there",
            "refusal": None,
            "annotations": [],
        },
        "logprobs": None,
        "finish_reason": "stop",
    }
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["prompt_tokens_details"] == {"cached_tokens": 0, "audio_tokens": 0}


def test_mock_provider_any_model_name(server: MockServer, client: httpx.Client) -> None:
    body = {
        "model": "echo",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
    }
    r = client.post(server.base_url("mock") + "/chat/completions", json=body)
    assert r.json()["model"] == "echo"
    assert r.json()["choices"][0]["message"]["content"] == "echo: hi"


def test_openai_stream_include_usage(server: MockServer, client: httpx.Client) -> None:
    server.push(Scenario(text="Hello brave new world", usage=(7, 4)))
    r = openai(client, server, stream=True, stream_options={"include_usage": True})
    assert r.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert r.headers["transfer-encoding"] == "chunked"
    chunks = openai_chunks(r.text)
    first = chunks[0]
    assert first["object"] == "chat.completion.chunk"
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}
    assert all(c["usage"] is None for c in chunks[:-1])
    deltas = [c["choices"][0]["delta"].get("content") for c in chunks[1:-2]]
    assert deltas == ["Hello", " brave", " new", " world"]
    assert chunks[-2]["choices"][0] == {
        "index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"
    }  # fmt: skip
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["prompt_tokens"] == 7
    assert chunks[-1]["usage"]["completion_tokens"] == 4
    assert {c["id"] for c in chunks} == {first["id"]}


def test_openai_stream_without_usage(server: MockServer, client: httpx.Client) -> None:
    server.push(Scenario(text="a b"))
    chunks = openai_chunks(openai(client, server, stream=True).text)
    assert all("usage" not in c for c in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_openai_tool_calls(server: MockServer, client: httpx.Client) -> None:
    calls = [("get_weather", {"city": "Paris"}), ("get_time", {"tz": "Europe/Paris"})]
    server.push(Scenario(tool_calls=calls), Scenario(tool_calls=calls))
    message = openai(client, server).json()["choices"][0]
    assert message["finish_reason"] == "tool_calls"
    assert message["message"]["content"] is None
    tool_calls = message["message"]["tool_calls"]
    assert [t["id"] for t in tool_calls] == ["call_1", "call_2"]
    assert tool_calls[0] == {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
    }

    chunks = openai_chunks(openai(client, server, stream=True).text)
    first = chunks[0]["choices"][0]["delta"]
    assert first["role"] == "assistant" and first["content"] is None
    assert first["tool_calls"] == [
        {"index": 0, "id": "call_3", "type": "function",
         "function": {"name": "get_weather", "arguments": ""}}
    ]  # fmt: skip
    args: dict[int, str] = {}
    for chunk in chunks[:-1]:
        for tc in chunk["choices"][0]["delta"].get("tool_calls", []):
            args[tc["index"]] = args.get(tc["index"], "") + tc["function"]["arguments"]
    assert {i: json.loads(a) for i, a in args.items()} == {0: calls[0][1], 1: calls[1][1]}
    assert sum(len(c["choices"][0]["delta"].get("tool_calls", [])) for c in chunks) > 4
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_openai_reasoning_and_usage_fields(server: MockServer, client: httpx.Client) -> None:
    scenario = Scenario(
        reasoning="Think first", text="42", usage=(100, 20), cached_tokens=40, reasoning_tokens=5
    )
    server.push(scenario, scenario)
    body = openai(client, server).json()
    assert body["choices"][0]["message"]["reasoning_content"] == "Think first"
    assert body["choices"][0]["message"]["content"] == "42"
    assert body["usage"]["prompt_tokens_details"]["cached_tokens"] == 40
    assert body["usage"]["completion_tokens_details"]["reasoning_tokens"] == 5
    assert body["usage"]["total_tokens"] == 120

    chunks = openai_chunks(
        openai(client, server, stream=True, stream_options={"include_usage": True}).text
    )
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert deltas[0] == {"role": "assistant", "content": None, "reasoning_content": ""}
    reasoning = "".join(d.get("reasoning_content") or "" for d in deltas)
    content = "".join(d.get("content") or "" for d in deltas)
    assert (reasoning, content) == ("Think first", "42")
    assert chunks[-1]["usage"]["completion_tokens_details"]["reasoning_tokens"] == 5


# ------------------------------------------------------------------ Anthropic


def test_anthropic_non_stream(server: MockServer, client: httpx.Client) -> None:
    r = anthropic(client, server)
    assert r.headers["content-type"] == "application/json"
    assert r.headers["request-id"].startswith("req_")
    assert "\n" not in r.text  # compact JSON like the real API
    body = r.json()
    assert list(body) == [
        "model", "id", "type", "role", "content", "stop_reason", "stop_sequence", "usage"
    ]  # fmt: skip
    assert body["id"].startswith("msg_")
    assert body["model"] == "claude-sonnet-4-5"
    assert body["content"] == [{"type": "text", "text": "echo: hello there"}]
    assert body["stop_reason"] == "end_turn" and body["stop_sequence"] is None
    assert body["usage"]["service_tier"] == "standard"


def test_anthropic_thinking_tools_usage(server: MockServer, client: httpx.Client) -> None:
    server.push(
        Scenario(
            reasoning="hmm",
            text="Checking.",
            tool_calls=[("lookup", {"q": "x"})],
            usage=(50, 10),
            cached_tokens=30,
        )
    )
    body = anthropic(client, server).json()
    kinds = [block["type"] for block in body["content"]]
    assert kinds == ["thinking", "text", "tool_use"]
    assert body["content"][0]["thinking"] == "hmm" and body["content"][0]["signature"]
    assert body["content"][2] == {
        "type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": "x"}
    }  # fmt: skip
    assert body["stop_reason"] == "tool_use"
    assert body["usage"]["input_tokens"] == 20
    assert body["usage"]["cache_read_input_tokens"] == 30
    assert body["usage"]["output_tokens"] == 10


def test_anthropic_stream(server: MockServer, client: httpx.Client) -> None:
    server.push(Scenario(reasoning="Let me see", text="Hi there", tool_calls=[("f", {"a": 1})]))
    r = anthropic(client, server, stream=True)
    assert r.headers["content-type"] == "text/event-stream; charset=utf-8"
    events = anthropic_events(r.text)
    kinds = [e["type"] for e in events]
    assert kinds[:3] == ["message_start", "content_block_start", "ping"]
    assert kinds[-2:] == ["message_delta", "message_stop"]
    assert events[0]["message"]["content"] == [] and events[0]["message"]["usage"]["input_tokens"]
    starts = [e["content_block"]["type"] for e in events if e["type"] == "content_block_start"]
    assert starts == ["thinking", "text", "tool_use"]
    assert kinds.count("content_block_stop") == 3
    deltas = [e["delta"] for e in events if e["type"] == "content_block_delta"]
    thinking = "".join(d["thinking"] for d in deltas if d["type"] == "thinking_delta")
    text = "".join(d["text"] for d in deltas if d["type"] == "text_delta")
    partial = "".join(d["partial_json"] for d in deltas if d["type"] == "input_json_delta")
    assert (thinking, text, json.loads(partial)) == ("Let me see", "Hi there", {"a": 1})
    assert [d["type"] for d in deltas].count("signature_delta") == 1
    tool_start = next(e for e in events if e.get("content_block", {}).get("type") == "tool_use")
    assert tool_start["content_block"] == {
        "type": "tool_use",
        "id": "toolu_1",
        "name": "f",
        "input": {},
    }
    assert events[-2]["delta"] == {"stop_reason": "tool_use", "stop_sequence": None}
    assert events[-2]["usage"]["output_tokens"] > 0


# --------------------------------------------------------------------- Gemini


def test_gemini_non_stream(server: MockServer, client: httpx.Client) -> None:
    server.push(
        Scenario(
            reasoning="ponder", text="Answer", usage=(9, 8), cached_tokens=4, reasoning_tokens=3
        )
    )
    r = gemini(client, server)
    assert r.headers["content-type"] == "application/json; charset=UTF-8"
    body = r.json()
    candidate = body["candidates"][0]
    assert candidate["content"] == {
        "parts": [{"text": "ponder", "thought": True}, {"text": "Answer"}],
        "role": "model",
    }
    assert candidate["finishReason"] == "STOP" and candidate["index"] == 0
    usage = body["usageMetadata"]
    assert usage["promptTokenCount"] == 9
    assert usage["candidatesTokenCount"] == 5
    assert usage["thoughtsTokenCount"] == 3
    assert usage["cachedContentTokenCount"] == 4
    assert usage["totalTokenCount"] == 17
    assert body["modelVersion"] == "gemini-2.0-flash" and body["responseId"]
    assert gemini(client, server).json()["candidates"][0]["content"]["parts"] == [
        {"text": "echo: hello there"}
    ]


def test_gemini_sse_stream(server: MockServer, client: httpx.Client) -> None:
    server.push(Scenario(text="one two three"))
    r = gemini(client, server, "sse")
    assert r.headers["content-type"] == "text/event-stream"
    assert "[DONE]" not in r.text
    chunks = gemini_sse(r.text)
    texts = [c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks]
    assert texts == ["one", " two", " three"]
    assert "finishReason" not in chunks[0]["candidates"][0]
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    assert all("usageMetadata" in c for c in chunks)
    assert "candidatesTokenCount" in chunks[-1]["usageMetadata"]


def test_gemini_json_array_stream(server: MockServer, client: httpx.Client) -> None:
    server.push(Scenario(reasoning="hm", text="a b", tool_calls=[("f", {"x": 1})]))
    r = gemini(client, server, "array")
    assert r.headers["content-type"] == "application/json; charset=UTF-8"
    assert r.text.startswith("[{") and r.text.endswith("}\n]") and "\n,\r\n{" in r.text
    items = json.loads(r.text)
    assert isinstance(items, list) and len(items) == 4
    parts = [p for item in items for p in item["candidates"][0]["content"]["parts"]]
    assert parts == [
        {"text": "hm", "thought": True}, {"text": "a"}, {"text": " b"},
        {"functionCall": {"name": "f", "args": {"x": 1}}},
    ]  # fmt: skip
    assert items[-1]["candidates"][0]["finishReason"] == "STOP"


def test_gemini_tools_non_stream(server: MockServer, client: httpx.Client) -> None:
    server.push(Scenario(tool_calls=[("a", {}), ("b", {"k": "v"})]))
    parts = gemini(client, server).json()["candidates"][0]["content"]["parts"]
    assert parts == [
        {"functionCall": {"name": "a", "args": {}}},
        {"functionCall": {"name": "b", "args": {"k": "v"}}},
    ]


# ---------------------------------------------------------------------- errors

ERRORS = [
    ("openai", 401, {"type": "invalid_request_error", "code": "invalid_api_key"}),
    ("openai", 404, {"type": "invalid_request_error", "code": "model_not_found"}),
    ("openai", 429, {"type": "requests", "code": "rate_limit_exceeded"}),
    ("openai", 500, {"type": "server_error", "code": None}),
    ("openai", 503, {"type": "server_error", "code": None}),
    ("anthropic", 400, {"type": "invalid_request_error"}),
    ("anthropic", 401, {"type": "authentication_error"}),
    ("anthropic", 403, {"type": "permission_error"}),
    ("anthropic", 404, {"type": "not_found_error"}),
    ("anthropic", 429, {"type": "rate_limit_error"}),
    ("anthropic", 500, {"type": "api_error"}),
    ("anthropic", 529, {"type": "overloaded_error"}),
    ("gemini", 400, {"status": "INVALID_ARGUMENT"}),
    ("gemini", 403, {"status": "PERMISSION_DENIED"}),
    ("gemini", 404, {"status": "NOT_FOUND"}),
    ("gemini", 429, {"status": "RESOURCE_EXHAUSTED"}),
    ("gemini", 503, {"status": "UNAVAILABLE"}),
]


@pytest.mark.parametrize(("dialect", "status", "expected"), ERRORS)
def test_error_bodies(
    server: MockServer, client: httpx.Client, dialect: str, status: int, expected: dict[str, Any]
) -> None:
    server.push(Scenario(status=status))
    call = {"openai": openai, "anthropic": anthropic, "gemini": gemini}[dialect]
    r = call(client, server)  # type: ignore[operator]
    assert r.status_code == status
    assert r.headers["content-type"].startswith("application/json")
    assert "retry-after" not in r.headers
    body = r.json()
    if dialect == "openai":
        assert set(body["error"]) == {"message", "type", "param", "code"}
        assert r.headers["x-request-id"].startswith("req_")
    elif dialect == "anthropic":
        assert list(body) == ["type", "error", "request_id"] and body["type"] == "error"
        assert body["request_id"] == r.headers["request-id"]
        assert body["error"]["message"]
    else:
        assert body["error"]["code"] == status and body["error"]["message"]
    assert body["error"] | expected == body["error"]


def test_error_details_and_formats(server: MockServer, client: httpx.Client) -> None:
    server.push(Scenario(status=400), Scenario(status=404), Scenario(status=401))
    details = gemini(client, server).json()["error"]["details"]
    assert details[0]["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"
    assert details[0]["reason"] == "API_KEY_INVALID"
    r = openai(client, server)
    assert r.text.startswith('{\n    "error"')  # the real model_not_found is 4-space indented
    assert "gpt-4o-mini" in r.json()["error"]["message"]
    assert openai(client, server).text.startswith('{\n  "error"')


def test_gemini_stream_error_content_type(server: MockServer, client: httpx.Client) -> None:
    server.push(Scenario(status=400))
    r = gemini(client, server, "sse")
    assert r.status_code == 400
    assert r.headers["content-type"] == "text/event-stream"  # like Google: JSON body anyway
    assert r.json()["error"]["status"] == "INVALID_ARGUMENT"


@pytest.mark.parametrize("status", [429, 503, 529])
def test_retry_after(server: MockServer, client: httpx.Client, status: int) -> None:
    server.push(Scenario(status=status, retry_after=2), Scenario(status=status, retry_after=0.25))
    assert anthropic(client, server).headers["retry-after"] == "2"
    assert openai(client, server).headers["retry-after"] == "0.25"


def test_custom_error_body_and_headers(server: MockServer, client: httpx.Client) -> None:
    server.push(
        Scenario(status=418, error_body={"oops": True}, headers={"x-extra": "1"}),
        Scenario(status=502, error_body="<html>bad gateway</html>",
                 headers={"content-type": "text/html"}),
        Scenario(text="ok", headers={"x-trace": "abc"}),
    )  # fmt: skip
    r = openai(client, server)
    assert (r.status_code, r.json(), r.headers["x-extra"]) == (418, {"oops": True}, "1")
    r = openai(client, server)
    assert (r.status_code, r.text, r.headers["content-type"]) == (
        502, "<html>bad gateway</html>", "text/html"
    )  # fmt: skip
    r = openai(client, server)
    assert r.status_code == 200 and r.headers["x-trace"] == "abc"


def test_unknown_path_and_bad_json(server: MockServer, client: httpx.Client) -> None:
    r = client.post(server.url + "/v1/nope", json={})
    assert r.status_code == 404
    assert r.json()["error"] == {
        "message": "Invalid URL (POST /v1/nope)",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    r = client.post(server.base_url("anthropic") + "/messages", content=b"{not json")
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    assert [req.dialect for req in server.requests] == ["unknown", "anthropic"]


def test_models_listing(server: MockServer, client: httpx.Client) -> None:
    body = client.get(server.base_url("openai") + "/models").json()
    assert body["object"] == "list" and body["data"][0]["object"] == "model"
    body = client.get(
        server.base_url("anthropic") + "/models", headers={"anthropic-version": "2023-06-01"}
    ).json()
    assert body["data"][0]["type"] == "model" and body["has_more"] is False
    body = client.get(server.base_url("gemini") + "/models").json()
    assert body["models"][0]["name"].startswith("models/")


# ---------------------------------------------------- stream failures, timing


@pytest.mark.parametrize("dialect", ["openai", "anthropic", "gemini"])
def test_cut_stream(server: MockServer, client: httpx.Client, dialect: str) -> None:
    server.push(Scenario(text="one two three four five", cut_after=3))
    if dialect == "openai":
        url, body = (
            server.base_url("openai") + "/chat/completions",
            {"model": "m", "messages": USER, "stream": True},
        )
    elif dialect == "anthropic":
        url, body = (
            server.base_url("anthropic") + "/messages",
            {"model": "m", "messages": USER, "stream": True},
        )
    else:
        url = server.base_url("gemini") + "/models/g:streamGenerateContent?alt=sse"
        body = {"contents": GEMINI_USER}
    received = b""
    with pytest.raises(httpx.RemoteProtocolError), client.stream("POST", url, json=body) as r:
        assert r.status_code == 200
        for data in r.iter_bytes():
            received += data
    text = received.decode()
    assert text.count("data: ") == 3
    assert "[DONE]" not in text and "message_stop" not in text and "finishReason" not in text


def test_cut_non_stream_body(server: MockServer, client: httpx.Client) -> None:
    server.push(Scenario(text="hello", cut_after=10))
    with pytest.raises(httpx.RemoteProtocolError):
        openai(client, server)
    assert openai(client, server).status_code == 200  # the next request works


def test_stream_error_events(server: MockServer, client: httpx.Client) -> None:
    server.push(*[Scenario(text="partial answer", stream_error={}) for _ in range(3)])
    data = [d for _, d in sse(openai(client, server, stream=True).text)]
    assert json.loads(data[-1])["error"]["type"] == "server_error"
    assert "[DONE]" not in data
    content = "".join(json.loads(d)["choices"][0]["delta"].get("content") or "" for d in data[:-1])
    assert content == "partial answer"

    events = list(sse(anthropic(client, server, stream=True).text))
    assert events[-1][0] == "error"
    assert json.loads(events[-1][1]) == {
        "type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}
    }  # fmt: skip
    assert "message_stop" not in [name for name, _ in events]

    chunks = gemini_sse(gemini(client, server, "sse").text)
    assert chunks[-1]["error"]["status"] == "UNAVAILABLE"
    assert all("finishReason" not in c["candidates"][0] for c in chunks[:-1])

    server.push(Scenario(text="x", stream_error={"message": "boom", "code": "custom"}))
    data = [d for _, d in sse(openai(client, server, stream=True).text)]
    assert json.loads(data[-1])["error"]["message"] == "boom"
    assert json.loads(data[-1])["error"]["code"] == "custom"


def test_slow_chunks_arrive_separately(server: MockServer, client: httpx.Client) -> None:
    server.push(Scenario(text="a b c d", chunk_delay=0.03))
    url = server.base_url("openai") + "/chat/completions"
    reads: list[str] = []
    body = {"model": "m", "messages": USER, "stream": True}
    with client.stream("POST", url, json=body) as r:
        reads.extend(raw.decode() for raw in r.iter_raw())
    assert len(reads) >= 4  # not one coalesced write
    joined = "".join(reads)
    positions = [joined.index(f'"content":"{w}"') for w in ("a", " b", " c", " d")]
    assert positions == sorted(positions)
    assert joined.endswith("data: [DONE]\n\n")


async def test_delay_orders_responses(server: MockServer) -> None:
    server.push(Scenario(text="slow", delay=0.3), Scenario(text="fast"))
    finished: list[str] = []
    url = server.base_url("openai") + "/chat/completions"
    async with httpx.AsyncClient(timeout=10) as ac:

        async def ask() -> None:
            r = await ac.post(url, json={"model": "m", "messages": USER})
            finished.append(r.json()["choices"][0]["message"]["content"])

        slow = asyncio.create_task(ask())
        while not server.requests:
            await asyncio.sleep(0.005)
        await asyncio.gather(ask(), slow)
    assert finished == ["fast", "slow"]


def test_chunks_count_and_large_stream(server: MockServer, client: httpx.Client) -> None:
    text = " ".join(f"w{i}" for i in range(2000))
    server.push(Scenario(text=text, chunks=2000), Scenario(text="abc", chunks=3))
    chunks = openai_chunks(openai(client, server, stream=True).text)
    content = [c["choices"][0]["delta"]["content"] for c in chunks[1:-1]]
    assert len(content) == 2000 and "".join(content) == text
    events = anthropic_events(anthropic(client, server, stream=True).text)
    texts = [e["delta"]["text"] for e in events if e["type"] == "content_block_delta"]
    assert texts == ["a", "b", "c"]


# --------------------------------------------------- queue, default, recording


def test_queue_repeat_default(server: MockServer, client: httpx.Client) -> None:
    def content() -> str:
        return str(openai(client, server).json()["choices"][0]["message"]["content"])

    server.push(Scenario(text="first", repeat=2), Scenario(text="second"))
    assert [content(), content(), content()] == ["first", "first", "second"]
    assert content() == "echo: hello there"
    server.set_default(Scenario(text="default"))
    server.push(Scenario(text="queued"))
    assert [content(), content(), content()] == ["queued", "default", "default"]
    server.set_default(None)
    assert content() == "echo: hello there"
    server.push(Scenario(text="dropped"))
    server.reset()
    assert server.requests == []
    assert content() == "echo: hello there"


def test_models_and_404_do_not_consume_queue(server: MockServer, client: httpx.Client) -> None:
    server.push(Scenario(text="kept"))
    client.get(server.base_url("openai") + "/models")
    client.post(server.url + "/elsewhere", json={})
    assert openai(client, server).json()["choices"][0]["message"]["content"] == "kept"


def test_request_recording(server: MockServer, client: httpx.Client) -> None:
    anthropic(client, server)
    url = server.base_url("gemini") + "/models/gemini-2.0-flash:streamGenerateContent?alt=sse&key=k"
    client.post(url, json={"contents": GEMINI_USER}, headers={"X-Goog-Api-Key": "secret"})
    first, second = server.requests
    assert isinstance(first, RecordedRequest)
    assert (first.method, first.path, first.dialect) == ("POST", "/v1/messages", "anthropic")
    assert first.headers["x-api-key"] == "test"
    assert first.json()["model"] == "claude-sonnet-4-5"
    assert json.loads(first.body) == first.json()
    assert second.path == "/v1beta/models/gemini-2.0-flash:streamGenerateContent"
    assert second.query == {"alt": "sse", "key": "k"}
    assert second.headers["x-goog-api-key"] == "secret"
    assert second.dialect == "gemini"
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        first.method = "GET"  # type: ignore[misc]


async def test_concurrency_64(server: MockServer) -> None:
    server.set_default(Scenario(text="alpha beta gamma", usage=(3, 3)))
    url = server.base_url("openai") + "/chat/completions"
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(timeout=10, limits=limits) as ac:

        async def one(i: int) -> str:
            body = {"model": f"m{i}", "messages": USER, "stream": i % 2 == 0}
            r = await ac.post(url, json=body)
            assert r.status_code == 200
            return r.text

        results = await asyncio.gather(*(one(i) for i in range(64)))
    assert len(results) == 64 and len(server.requests) == 64
    assert all("gamma" in text for text in results)


# ------------------------------------------------------------- raw HTTP, CLI


def _read_response(sock_file: Any) -> tuple[str, dict[str, str], bytes]:
    status = sock_file.readline().decode().strip()
    headers = {}
    while (line := sock_file.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, sock_file.read(int(headers["content-length"]))


def test_raw_keep_alive_and_chunked_request(server: MockServer) -> None:
    payload = json.dumps({"model": "m", "messages": USER}).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        f = sock.makefile("rb")
        for _ in range(2):  # two requests over one connection
            sock.sendall(
                b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                b"Content-Length: %d\r\n\r\n%b" % (len(payload), payload)
            )
            status, headers, body = _read_response(f)
            assert status == "HTTP/1.1 200 OK" and headers["connection"] == "keep-alive"
            assert json.loads(body)["choices"][0]["message"]["content"] == "echo: hello there"
        half = len(payload) // 2
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
            b"Connection: close\r\n\r\n%x\r\n%b\r\n%x\r\n%b\r\n0\r\n\r\n"
            % (half, payload[:half], len(payload) - half, payload[half:])
        )
        status, headers, body = _read_response(f)
        assert headers["connection"] == "close"
        assert json.loads(body)["model"] == "m"
        assert f.read() == b""  # server closed the connection
    assert len(server.requests) == 3


def test_cli_serves_until_interrupted() -> None:
    command = [sys.executable, "-m", "ailib.testing", "--host", "127.0.0.1", "--port", "0"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().split()[-1]
            assert url.startswith("http://127.0.0.1:")
            lines = [proc.stdout.readline() for _ in range(4)]
            assert any("gemini" in line and url + "/v1beta" in line for line in lines)
            r = httpx.post(url + "/v1/chat/completions", json={"model": "echo", "messages": USER})
            assert r.json()["choices"][0]["message"]["content"] == "echo: hello there"
        finally:
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=10) == 0
