"""A hostile HTTP server on a loopback socket: cut bodies, dripped bytes, bombs, redirects.

Issue 6, items 2, 19, 20 and 21, end to end over real sockets (sync and async twins). The
server is a few lines of raw socket code so it can misbehave the way real ones do.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from ailib import AiClient, AsyncAiClient
from ailib.embeddings import AsyncEmbeddingClient, EmbeddingClient
from ailib.errors import (
    RedirectError,
    ResponseTooLargeError,
    StreamInterruptedError,
    TransportError,
)
from ailib.runtime.limits import MIB

KEY = "sk-test-LoopbackKey0123456789abcd"
COMPLETION = json.dumps(
    {
        "id": "c1",
        "object": "chat.completion",
        "model": "gpt-4o",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
).encode()
MODES = ["sync", "async"]
Reply = Callable[[socket.socket], None]


def head(status: int = 200, length: int | None = None, **headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status} X", "connection: close"]
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    if length is not None:
        lines.append(f"content-length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def whole(body: bytes, status: int = 200, **headers: str) -> Reply:
    def send(conn: socket.socket) -> None:
        conn.sendall(head(status, len(body), content_type="application/json", **headers) + body)

    return send


def cut(body: bytes, status: int = 200, ctype: str = "application/json") -> Reply:
    """Announce the whole body, send a third of it, close."""

    def send(conn: socket.socket) -> None:
        conn.sendall(head(status, len(body), content_type=ctype) + body[: len(body) // 3])

    return send


def drip(body: bytes, every: float) -> Reply:
    """Headers at once, then one body byte every ``every`` seconds."""

    def send(conn: socket.socket) -> None:
        conn.sendall(head(200, len(body), content_type="application/json"))
        for i in range(len(body)):
            time.sleep(every)
            conn.sendall(body[i : i + 1])

    return send


class RawServer:
    """A loopback HTTP/1.1 server answering connection n with ``replies[n]`` (the last repeats)."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.requests: list[bytes] = []
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                more = conn.recv(65536)
                if not more:
                    return
                data += more
            top, _, body = data.partition(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in top.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            while len(body) < length:
                body += conn.recv(65536)
            self.requests.append(top + b"\r\n\r\n" + body)
            reply = self.replies[min(len(self.requests), len(self.replies)) - 1]
            with contextlib.suppress(OSError):  # the client gave up first
                reply(conn)

    def close(self) -> None:
        self._sock.close()


@pytest.fixture
def serve() -> Iterator[Callable[..., RawServer]]:
    servers: list[RawServer] = []

    def start(*replies: Reply) -> RawServer:
        servers.append(RawServer(*replies))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def chat(mode: str, url: str, *, stream: bool = False, **options: Any) -> str:
    options = {"api_key": KEY, "base_url": url, "max_retries": 0, **options}
    if mode == "sync":
        with AiClient.create("openai/gpt-4o", **options) as client:
            if not stream:
                return client.chat().user("hi").execute().content
            with client.chat().user("hi").stream() as events:
                return "".join(e.as_content_delta.content for e in events if e.is_content_delta)

    async def run() -> str:
        async with await AsyncAiClient.create("openai/gpt-4o", **options) as client:
            if not stream:
                return (await client.chat().user("hi").execute()).content
            text = ""
            async with client.chat().user("hi").stream() as events:
                async for e in events:
                    text += e.as_content_delta.content if e.is_content_delta else ""
            return text

    return asyncio.run(run())


def embed(mode: str, url: str, **options: Any) -> list[float]:
    options = {"api_key": KEY, "base_url": url, "max_retries": 0, **options}
    name = "openai/text-embedding-3-small"
    if mode == "sync":
        with EmbeddingClient.create(name, **options) as client:
            return client.embed("hi").first.vector

    async def run() -> list[float]:
        async with await AsyncEmbeddingClient.create(name, **options) as client:
            return (await client.embed("hi")).first.vector

    return asyncio.run(run())


FAST_RETRY = {"min_delay_ms": 1, "max_delay_ms": 1}


# ---- item 2: Content-Length longer than what arrives -------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("status", [200, 429, 500])
def test_cut_body_is_a_typed_transport_error(
    mode: str, status: int, serve: Callable[..., RawServer]
) -> None:
    server = serve(cut(COMPLETION, status))
    with pytest.raises(TransportError) as info:
        chat(mode, server.url)
    assert info.value.code == "E3001" and info.value.retryable
    assert "incomplete" in str(info.value)


@pytest.mark.parametrize("mode", MODES)
def test_cut_body_is_retried(mode: str, serve: Callable[..., RawServer]) -> None:
    server = serve(cut(COMPLETION), whole(COMPLETION))
    assert chat(mode, server.url, max_retries=2, retry_policy=FAST_RETRY) == "hi"
    assert len(server.requests) == 2


@pytest.mark.parametrize("mode", MODES)
def test_cut_embeddings_body_is_typed(mode: str, serve: Callable[..., RawServer]) -> None:
    body = json.dumps({"data": [{"index": 0, "embedding": [0.5] * 64}], "model": "m"}).encode()
    server = serve(cut(body))
    with pytest.raises(TransportError) as info:
        embed(mode, server.url)
    assert info.value.code == "E3001"


@pytest.mark.parametrize("mode", MODES)
def test_cut_stream_with_content_length_keeps_partial(
    mode: str, serve: Callable[..., RawServer]
) -> None:
    events = b'data: {"choices":[{"index":0,"delta":{"content":"Hello"}}]}\n\n' * 3
    server = serve(cut(events + b"data: [DONE]\n\n", ctype="text/event-stream"))
    with pytest.raises(StreamInterruptedError) as info:
        chat(mode, server.url, stream=True)
    assert info.value.partial is not None and info.value.partial.content.startswith("Hello")


# ---- item 21: a total deadline for non-streamed calls ----------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_dripping_server_hits_the_total_timeout(mode: str, serve: Callable[..., RawServer]) -> None:
    server = serve(drip(COMPLETION, every=0.1))  # about 25 s for the whole body
    with pytest.raises(TransportError) as info:
        chat(mode, server.url, timeout=0.5)
    assert info.value.code == "E3003" and info.value.retryable
    assert "timeout" in str(info.value) or "timed out" in str(info.value)


@pytest.mark.parametrize("mode", MODES)
def test_dripping_embeddings_hit_the_total_timeout(
    mode: str, serve: Callable[..., RawServer]
) -> None:
    body = json.dumps({"data": [{"index": 0, "embedding": [0.5] * 64}], "model": "m"}).encode()
    server = serve(drip(body, every=0.1))
    with pytest.raises(TransportError) as info:
        embed(mode, server.url, timeout=0.5)
    assert info.value.code == "E3003"


@pytest.mark.parametrize("mode", MODES)
def test_deadline_of_a_user_client_timeout_object(
    mode: str, serve: Callable[..., RawServer]
) -> None:
    server = serve(drip(COMPLETION, every=0.1))
    timeout = httpx.Timeout(0.3, read=0.5)  # the largest value bounds the whole attempt
    with pytest.raises(TransportError) as info:
        chat(mode, server.url, timeout=timeout)
    assert info.value.code == "E3003"


@pytest.mark.parametrize("mode", MODES)
def test_stalled_body_with_a_lenient_user_client(
    mode: str, serve: Callable[..., RawServer]
) -> None:
    """The user's client would wait 30 s per read; timeout=0.5 caps every read too."""

    def stall(conn: socket.socket) -> None:
        conn.sendall(head(200, len(COMPLETION), content_type="application/json") + b"{")
        time.sleep(3)

    server = serve(stall)
    client: Any = httpx.Client if mode == "sync" else httpx.AsyncClient
    with pytest.raises(TransportError) as info:
        chat(mode, server.url, timeout=0.5, http_client=client(timeout=30))
    assert info.value.code == "E3003"


# ---- item 20: a gzip bomb over a real socket ---------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_gzip_bomb_over_the_wire_stops_early(mode: str, serve: Callable[..., RawServer]) -> None:
    bomb = gzip.compress(bytes(50 * MIB), compresslevel=9)
    server = serve(whole(bomb, content_encoding="gzip"))
    with pytest.raises(ResponseTooLargeError) as info:
        chat(mode, server.url)
    assert info.value.received < 2 * MIB and not info.value.retryable


# ---- item 19: a redirect from a real server ----------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_redirect_names_status_and_location(mode: str, serve: Callable[..., RawServer]) -> None:
    def moved(conn: socket.socket) -> None:
        conn.sendall(head(301, 0, location="https://api.example.test/v2/chat/completions"))

    server = serve(moved)
    with pytest.raises(RedirectError) as info:
        chat(mode, server.url)
    assert info.value.status == 301
    assert "https://api.example.test/v2/chat/completions" in str(info.value)


@pytest.mark.parametrize("mode", MODES)
def test_followed_redirect_to_another_port_drops_the_key(
    mode: str, serve: Callable[..., RawServer]
) -> None:
    target = serve(whole(COMPLETION))

    def moved(conn: socket.socket) -> None:
        where = f"{target.url}/chat/completions?key={KEY}"
        conn.sendall(head(307, 0, location=where))

    origin = serve(moved)
    client: Any = httpx.Client if mode == "sync" else httpx.AsyncClient
    text = chat(mode, origin.url, http_client=client(follow_redirects=True, timeout=5))
    assert text == "hi" and len(target.requests) == 1
    assert KEY.encode() in origin.requests[0]
    assert KEY.encode() not in target.requests[0]
    assert b"authorization" not in target.requests[0].lower()
