"""Hostile or broken response bodies, through httpx.MockTransport (sync and async twins).

Issue 6, items 2, 8, 19 and 20: a body cut short is a typed, retried TransportError; a
non-stream answer to a stream request says what it was; a redirect is a typed error, or
is followed without credentials across origins; bodies and inflation are bounded.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from ailib import AiClient, AsyncAiClient, Message
from ailib.dialects import ChatRequest
from ailib.embeddings import AsyncEmbeddingClient, EmbeddingClient
from ailib.errors import (
    RedirectError,
    RemoteError,
    ResponseTooLargeError,
    StreamDecodeError,
    StreamInterruptedError,
    TransportError,
)
from ailib.providers import openai
from ailib.runtime._async_engine import AsyncEngine
from ailib.runtime._sync_engine import SyncEngine
from ailib.runtime.limits import MIB, Limits
from ailib.runtime.spec import ProviderSpec

KEY = "sk-test-Hostile0123456789abcdef"
BASE = {
    "openai": "http://127.0.0.1:9/v1",
    "anthropic": "http://127.0.0.1:9/v1",
    "gemini": "http://127.0.0.1:9/v1beta",
    "bedrock": "http://127.0.0.1:9",
}
MODEL = {
    "openai": "gpt-4o",
    "anthropic": "claude-sonnet-4-5",
    "gemini": "gemini-2.5-flash",
    "bedrock": "anthropic.claude-3-5-sonnet-20240620-v1:0",
}
BODY = {
    "openai": {
        "id": "c1",
        "object": "chat.completion",
        "model": "gpt-4o",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    },
    "anthropic": {
        "id": "m1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "hi"}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 1, "output_tokens": 1},
    },
    "gemini": {
        "candidates": [
            {
                "index": 0,
                "content": {"role": "model", "parts": [{"text": "hi"}]},
                "finishReason": "STOP",
            }
        ],
        "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 1},
    },
}
BODY["bedrock"] = {
    "output": {"message": {"role": "assistant", "content": [{"text": "hi"}]}},
    "stopReason": "end_turn",
    "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
}
EMBEDDING = {
    "object": "list",
    "data": [{"object": "embedding", "index": 0, "embedding": [0.5, 0.25]}],
    "model": "text-embedding-3-small",
    "usage": {"prompt_tokens": 1, "total_tokens": 1},
}
MODES = ["sync", "async"]
Handler = Callable[[httpx.Request], httpx.Response]


class Chunks(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body sent chunk by chunk (not pre-read), optionally failing at the end."""

    def __init__(self, *chunks: bytes, error: Exception | None = None) -> None:
        self.chunks = chunks
        self.error = error

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
        if self.error is not None:
            raise self.error

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        if self.error is not None:
            raise self.error


def cut_short(received: int = 10, expected: int = 100) -> httpx.RemoteProtocolError:
    """What httpx raises when the connection closes before Content-Length bytes came."""
    return httpx.RemoteProtocolError(
        "peer closed connection without sending complete message body "
        f"(received {received} bytes, expected {expected})"
    )


def json_reply(body: Any, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(
        status, headers={"content-type": "application/json", **headers}, json=body
    )


def chat(
    mode: str,
    handler: Handler,
    *,
    provider: str = "openai",
    stream: bool = False,
    client_options: dict[str, Any] | None = None,
    **options: Any,
) -> str:
    """One chat call, sync or async, against ``handler``; returns the answer text."""
    name = f"{provider}/{MODEL[provider]}"
    options = {"api_key": KEY, "base_url": BASE[provider], "max_retries": 0, **options}
    transport = httpx.MockTransport(handler)
    if mode == "sync":
        with AiClient.create(
            name, http_client=httpx.Client(transport=transport, **(client_options or {})), **options
        ) as client:
            if not stream:
                return client.chat().user("hi").execute().content
            with client.chat().user("hi").stream() as events:
                return "".join(e.as_content_delta.content for e in events if e.is_content_delta)

    async def run() -> str:
        http = httpx.AsyncClient(transport=transport, **(client_options or {}))
        async with await AsyncAiClient.create(name, http_client=http, **options) as client:
            if not stream:
                return (await client.chat().user("hi").execute()).content
            text = ""
            async with client.chat().user("hi").stream() as events:
                async for e in events:
                    if e.is_content_delta:
                        text += e.as_content_delta.content
            return text

    return asyncio.run(run())


def embed(mode: str, handler: Handler, **options: Any) -> list[float]:
    name = "openai/text-embedding-3-small"
    options = {"api_key": KEY, "base_url": BASE["openai"], "max_retries": 0, **options}
    transport = httpx.MockTransport(handler)
    if mode == "sync":
        with EmbeddingClient.create(
            name, http_client=httpx.Client(transport=transport), **options
        ) as client:
            return client.embed("hi").first.vector

    async def run() -> list[float]:
        http = httpx.AsyncClient(transport=transport)
        async with await AsyncEmbeddingClient.create(name, http_client=http, **options) as client:
            return (await client.embed("hi")).first.vector

    return asyncio.run(run())


# ---- item 2: a body cut short ---------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("status", [200, 400, 500])
def test_truncated_body_is_a_typed_retryable_transport_error(mode: str, status: int) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        head = b'{"id": "c1", "choi'
        return httpx.Response(status, stream=Chunks(head, error=cut_short()))

    with pytest.raises(TransportError) as info:
        chat(mode, handler)
    err = info.value
    assert not isinstance(err, StreamInterruptedError)
    assert err.code == "E3001" and err.retryable
    assert "incomplete" in str(err) and "expected 100" in str(err)


@pytest.mark.parametrize("mode", MODES)
def test_truncated_embeddings_body_is_typed(mode: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=Chunks(b'{"data": [', error=cut_short()))

    with pytest.raises(TransportError) as info:
        embed(mode, handler)
    assert info.value.code == "E3001" and info.value.retryable


@pytest.mark.parametrize("mode", MODES)
def test_truncated_body_is_retried_then_succeeds(mode: str) -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            return httpx.Response(200, stream=Chunks(b'{"id":', error=cut_short()))
        return json_reply(BODY["openai"])

    policy = {"min_delay_ms": 1, "max_delay_ms": 1}
    assert chat(mode, handler, max_retries=2, retry_policy=policy) == "hi"
    assert len(calls) == 2


@pytest.mark.parametrize("mode", MODES)
def test_stream_cut_mid_body_keeps_the_partial(mode: str) -> None:
    event = b'data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}\n\n'

    def handler(request: httpx.Request) -> httpx.Response:
        ctype = {"content-type": "text/event-stream"}
        return httpx.Response(200, headers=ctype, stream=Chunks(event, error=cut_short()))

    with pytest.raises(StreamInterruptedError) as info:
        chat(mode, handler, stream=True)
    assert info.value.partial is not None and info.value.partial.content == "Hel"
    assert info.value.code == "E3001" and "incomplete" in str(info.value)


# ---- item 8: a non-stream answer to a stream request --------------------------------


NOT_STREAMS = [
    ("openai", "text/html; charset=utf-8", b"<!DOCTYPE html><html><body>Sign in</body></html>"),
    ("openai", "application/json", json.dumps(BODY["openai"]).encode()),
    ("anthropic", "application/json", json.dumps(BODY["anthropic"]).encode()),
    ("gemini", "application/json", json.dumps(BODY["gemini"]).encode()),
    ("gemini", "text/html", b"<html>login</html>"),
    ("bedrock", "application/json", b'{"output": {"message": {}}}'),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider,ctype,body", NOT_STREAMS)
def test_non_stream_answer_to_stream_request(
    mode: str, provider: str, ctype: str, body: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(200, headers={"content-type": ctype}, content=body)

    with pytest.raises(StreamDecodeError) as info:
        chat(mode, handler, provider=provider, stream=True, max_retries=2)
    err = info.value
    assert not err.retryable and len(calls) == 1
    assert ctype.split(";")[0] in str(err) and body[:10] in err.data
    assert repr(body[:10])[2:-1] in str(err)  # the start of the body is shown


@pytest.mark.parametrize("mode", MODES)
def test_gemini_json_array_stream_still_decodes(mode: str) -> None:
    frames = [
        {"candidates": [{"index": 0, "content": {"parts": [{"text": "one "}]}}]},
        {
            "candidates": [
                {"index": 0, "content": {"parts": [{"text": "two"}]}, "finishReason": "STOP"}
            ]
        },
    ]
    body = ("[" + ",\r\n".join(json.dumps(f) for f in frames) + "]").encode()

    def handler(request: httpx.Request) -> httpx.Response:
        ctype = {"content-type": "application/json; charset=UTF-8"}
        return httpx.Response(200, headers=ctype, stream=Chunks(b"  ", body[:7], body[7:]))

    assert chat(mode, handler, provider="gemini", stream=True) == "one two"


# ---- item 19: redirects -------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirect_is_a_typed_error_naming_it(mode: str, status: int) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers={"location": "https://elsewhere.test/v1/x"})

    with pytest.raises(RedirectError) as info:
        chat(mode, handler)
    err = info.value
    assert isinstance(err, RemoteError) and err.status == status and not err.retryable
    assert err.location == "https://elsewhere.test/v1/x"
    assert str(status) in str(err) and "https://elsewhere.test/v1/x" in str(err)


CREDENTIALS = {  # provider -> the header its manifest sends the key in
    "openai": "authorization",
    "anthropic": "x-api-key",
    "gemini": "x-goog-api-key",
}


def recording_redirector(seen: list[httpx.Request], provider: str, location: str) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            return httpx.Response(307, headers={"location": location})
        return json_reply(BODY[provider])

    return handler


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", sorted(CREDENTIALS))
def test_cross_origin_redirect_drops_every_credential(mode: str, provider: str) -> None:
    seen: list[httpx.Request] = []
    other = f"https://other.test:8443/relay?key={KEY}&keep=1"
    handler = recording_redirector(seen, provider, other)
    extra = {"X-Custom-Token": "custom-secret-0123456789", "X-Trace": "t1"}
    text = chat(
        mode,
        handler,
        provider=provider,
        client_options={"follow_redirects": True},
        default_headers=extra,
    )
    assert text == "hi" and len(seen) == 2
    first, hop = seen
    assert first.headers[CREDENTIALS[provider]]
    assert hop.url.host == "other.test" and hop.method == "POST" and hop.content == first.content
    for name in [*CREDENTIALS.values(), "x-custom-token", "cookie"]:
        assert name not in hop.headers, name
    assert hop.headers["x-trace"] == "t1"
    assert KEY not in str(hop.url) and hop.url.params["keep"] == "1"
    assert KEY not in str(hop.headers) and "custom-secret" not in str(hop.headers)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "auth",
    [{"type": "custom_header", "header": "X-Portal"}, {"type": "query_param", "param": "sig"}],
)
def test_cross_origin_redirect_drops_the_manifests_own_credential(
    mode: str, auth: dict[str, str]
) -> None:
    """A credential under a name that does not look like one (X-Portal, sig) is dropped too."""
    spec = ProviderSpec.interpreted(
        openai.SPEC.manifest.with_overrides({"endpoint": {"auth": auth}}, "test")
    )
    seen: list[httpx.Request] = []
    name = auth.get("header") or auth["param"]
    handler = recording_redirector(seen, "openai", f"https://other.test/v1/chat?{name}={KEY}")
    request = ChatRequest("gpt-4o", [Message.user("hi")], {}, stream=False)
    options: dict[str, Any] = {"spec": spec, "api_key": KEY, "base_url": BASE["openai"]}
    transport = httpx.MockTransport(handler)
    if mode == "sync":
        engine = SyncEngine(
            http_client=httpx.Client(transport=transport, follow_redirects=True), **options
        )
        assert engine.execute(request).content == "hi"
    else:

        async def run() -> str:
            http = httpx.AsyncClient(transport=transport, follow_redirects=True)
            return (await AsyncEngine(http_client=http, **options).execute(request)).content

        assert asyncio.run(run()) == "hi"
    first, hop = seen
    assert KEY in str(first.url) + str(first.headers.get("x-portal"))
    assert KEY not in str(hop.url) and KEY not in str(list(hop.headers.values()))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("target", ["https://other.test/model/m/converse", "/model/other/converse"])
def test_bedrock_redirect_drops_or_resigns_sigv4(
    mode: str, target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token-0123456789")
    seen: list[httpx.Request] = []
    handler = recording_redirector(seen, "bedrock", target)
    assert (
        chat(
            mode,
            handler,
            provider="bedrock",
            api_key=None,
            client_options={"follow_redirects": True},
        )
        == "hi"
    )
    first, hop = seen
    assert first.headers["authorization"].startswith("AWS4-HMAC-SHA256")
    if target.startswith("/"):  # same origin: signed again, for the new URL
        assert hop.headers["authorization"] != first.headers["authorization"]
        assert hop.headers["x-amz-security-token"] == "session-token-0123456789"
    else:
        assert not [k for k in hop.headers if k.startswith("x-amz-") or k == "authorization"]


@pytest.mark.parametrize("mode", MODES)
def test_same_origin_redirect_keeps_the_key(mode: str) -> None:
    seen: list[httpx.Request] = []
    handler = recording_redirector(seen, "anthropic", "/v2/messages")
    options = {"follow_redirects": True}
    assert chat(mode, handler, provider="anthropic", client_options=options) == "hi"
    assert seen[1].url.path == "/v2/messages" and seen[1].headers["x-api-key"] == KEY


@pytest.mark.parametrize("mode", MODES)
def test_redirect_loop_stops(mode: str) -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(302, headers={"location": f"/v1/hop{len(calls)}"})

    options = {"follow_redirects": True, "max_redirects": 3}
    with pytest.raises(RedirectError) as info:
        chat(mode, handler, client_options=options)
    assert "too many redirects" in str(info.value) and len(calls) == 4


# ---- item 20: bounded bodies and inflation ----------------------------------------------


SMALL = Limits(max_body_bytes=64 * 1024)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("status", [200, 500])
def test_body_over_the_limit_is_refused(mode: str, status: int) -> None:
    big = json.dumps({"error": {"message": "x" * 200_000}}).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        pieces = [big[i : i + 8192] for i in range(0, len(big), 8192)]
        return httpx.Response(
            status, headers={"content-type": "application/json"}, stream=Chunks(*pieces)
        )

    with pytest.raises(ResponseTooLargeError) as info:
        chat(mode, handler, limits=SMALL, max_retries=2)
    err = info.value
    assert not err.retryable and err.limit == SMALL.max_body_bytes
    assert err.received <= SMALL.max_body_bytes + 8192 and "max_body_bytes" in str(err)


@pytest.mark.parametrize("mode", MODES)
def test_content_length_over_the_limit_is_refused_before_reading(mode: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "application/json", "content-length": str(10 * MIB)}
        return httpx.Response(200, headers=headers, stream=Chunks(b"{"))

    with pytest.raises(ResponseTooLargeError) as info:
        chat(mode, handler, limits=SMALL)
    assert info.value.received == 0


@pytest.mark.parametrize("mode", MODES)
def test_embeddings_body_over_the_limit_is_refused(mode: str) -> None:
    body = json.dumps({**EMBEDDING, "pad": "y" * 100_000}).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=Chunks(body))

    with pytest.raises(ResponseTooLargeError):
        embed(mode, handler, limits=SMALL)


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """50 MB of zeros, gzip-compressed to about 50 KB."""
    return gzip.compress(bytes(50 * MIB), compresslevel=9)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("coding", ["gzip", "deflate"])
def test_decompression_bomb_stops_early(mode: str, coding: str, gzip_bomb: bytes) -> None:
    bomb = gzip_bomb if coding == "gzip" else zlib.compress(bytes(50 * MIB), 9)

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "application/json", "content-encoding": coding}
        return httpx.Response(200, headers=headers, stream=Chunks(bomb))  # one network chunk

    with pytest.raises(ResponseTooLargeError) as info:
        chat(mode, handler, limits=Limits(max_body_bytes=1 << 30))
    err = info.value
    assert "max_decompression_ratio" in str(err) and not err.retryable
    assert err.received < 2 * MIB  # stopped after about 1 MiB, never near 50 MB


@pytest.mark.parametrize("mode", MODES)
def test_decompression_bomb_in_a_stream_stops_early(mode: str, gzip_bomb: bytes) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "text/event-stream", "content-encoding": "gzip"}
        return httpx.Response(200, headers=headers, stream=Chunks(gzip_bomb))

    with pytest.raises(ResponseTooLargeError) as info:
        chat(mode, handler, stream=True)
    assert info.value.received < 2 * MIB


@pytest.mark.parametrize("mode", MODES)
def test_gzip_bodies_within_bounds_decode(mode: str) -> None:
    body = gzip.compress(json.dumps(BODY["openai"]).encode())

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "application/json", "content-encoding": "gzip"}
        return httpx.Response(200, headers=headers, stream=Chunks(body[:5], body[5:]))

    assert chat(mode, handler) == "hi"


@pytest.mark.parametrize("mode", MODES)
def test_corrupt_gzip_is_a_typed_error(mode: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "application/json", "content-encoding": "gzip"}
        return httpx.Response(200, headers=headers, stream=Chunks(b"\x1f\x8bnot gzip at all"))

    with pytest.raises(TransportError) as info:
        chat(mode, handler)
    assert "could not be decoded" in str(info.value)
