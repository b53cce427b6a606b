"""Issue 6 item 21: ``timeout=`` bounds a whole non-streamed attempt, headers included.

A server that drips its response headers (one line every 0.25 s) never trips a per-read
timeout; before the fix a sync call with ``timeout=1`` was held for as long as the server
liked. The server here stops dripping after about 5 s and then answers properly; it counts the
responses it could send to the end. A client bounded by its deadline hangs up before
that; the old sync client waited for all of them (the test fails then, instead of
hanging). Sync and async twins.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ailib import AiClient, AsyncAiClient
from ailib.embeddings import AsyncEmbeddingClient, EmbeddingClient
from ailib.errors import TransportError

KEY = "sk-test-HeaderDripKey0123456789ab"
MODES = ["sync", "async"]
CHAT = {
    "id": "c1",
    "object": "chat.completion",
    "model": "gpt-4o",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
    ],
}
EMBED = {"object": "list", "model": "m", "data": [{"index": 0, "embedding": [0.5]}]}


class HeaderDripServer:
    """Loopback HTTP/1.1: the status line at once, then one header line every ``every``
    seconds for ``lines`` lines, then the rest of a valid response with ``body``.

    ``completed`` counts the responses sent to the end: a client that gave up at its
    deadline hung up before that (sends fail then), one that waited got them all.
    """

    def __init__(self, body: dict[str, Any], status: int = 200, lines: int = 20) -> None:
        self.body, self.status, self.lines = json.dumps(body).encode(), status, lines
        self.every, self.requests, self.completed = 0.25, 0, 0
        self._answering: list[threading.Thread] = []
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}/v1"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self._answering.append(threading.Thread(target=self._answer, args=(conn,)))
            self._answering[-1].start()

    def _answer(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):  # the client hung up first
            conn.recv(65536)
            self.requests += 1
            conn.sendall(f"HTTP/1.1 {self.status} X\r\n".encode())
            for i in range(self.lines):
                time.sleep(self.every)
                conn.sendall(f"x-drip-{i}: {i}\r\n".encode())
            rest = "content-type: application/json\r\nconnection: close\r\n"
            rest += f"content-length: {len(self.body)}\r\n\r\n"
            conn.sendall(rest.encode() + self.body)
            self.completed += 1

    def finish(self) -> int:
        """Wait for the answers in progress (at most one drip each); ``completed``."""
        for thread in self._answering:
            thread.join(timeout=30)
        return self.completed

    def close(self) -> None:
        self._sock.close()


@pytest.fixture
def drip_server() -> Iterator[type[HeaderDripServer]]:
    servers: list[HeaderDripServer] = []

    class Tracked(HeaderDripServer):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            servers.append(self)

    yield Tracked
    for server in servers:
        server.close()
        server.finish()


def chat(mode: str, url: str, **options: Any) -> str:
    options = {"api_key": KEY, "base_url": url, "max_retries": 0, **options}
    if mode == "sync":
        with AiClient.create("openai/gpt-4o", **options) as client:
            return client.chat().user("hi").execute().content

    async def run() -> str:
        async with await AsyncAiClient.create("openai/gpt-4o", **options) as client:
            return (await client.chat().user("hi").execute()).content

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


def assert_total_timeout(err: TransportError, server: HeaderDripServer) -> None:
    """E3003 naming the total timeout, raised before the server finished its headers."""
    assert server.finish() == 0, "the client waited for the dripped headers to the end"
    assert err.code == "E3003"
    assert "total timeout of 0.5s" in str(err)
    assert err.__context__ is None and err.__cause__ is None


@pytest.mark.parametrize("mode", MODES)
def test_dripped_headers_hit_the_total_timeout(
    mode: str, drip_server: type[HeaderDripServer]
) -> None:
    server = drip_server(CHAT)
    with pytest.raises(TransportError) as info:
        chat(mode, server.url, timeout=0.5)
    assert_total_timeout(info.value, server)


@pytest.mark.parametrize("mode", MODES)
def test_dripped_error_headers_hit_the_total_timeout(
    mode: str, drip_server: type[HeaderDripServer]
) -> None:
    server = drip_server({"error": {"message": "busy", "type": "server_error"}}, status=500)
    with pytest.raises(TransportError) as info:
        chat(mode, server.url, timeout=0.5)
    assert_total_timeout(info.value, server)


@pytest.mark.parametrize("mode", MODES)
def test_dripped_embeddings_headers_hit_the_total_timeout(
    mode: str, drip_server: type[HeaderDripServer]
) -> None:
    server = drip_server(EMBED)
    with pytest.raises(TransportError) as info:
        embed(mode, server.url, timeout=0.5)
    assert_total_timeout(info.value, server)


@pytest.mark.parametrize("mode", MODES)
def test_each_retry_gets_its_own_deadline(mode: str, drip_server: type[HeaderDripServer]) -> None:
    """Three attempts, each cut at its own deadline; the last one's error comes out."""
    server = drip_server(CHAT)
    fast = {"min_delay_ms": 1, "max_delay_ms": 1, "retry_on_http_status": [500]}
    with pytest.raises(TransportError) as info:
        chat(mode, server.url, timeout=0.5, max_retries=2, retry_policy=fast)
    assert_total_timeout(info.value, server)
    assert server.requests == 3


@pytest.mark.parametrize("mode", MODES)
def test_short_drip_within_the_deadline_succeeds(
    mode: str, drip_server: type[HeaderDripServer]
) -> None:
    """The deadline cuts only what is late: two dripped lines under timeout=5 are fine."""
    server = drip_server(CHAT, lines=2)
    assert chat(mode, server.url, timeout=5) == "hi"
    assert server.finish() == 1


@pytest.mark.parametrize("mode", MODES)
def test_deadline_also_bounds_a_user_timeout_object(
    mode: str, drip_server: type[HeaderDripServer]
) -> None:
    server = drip_server(CHAT)
    with pytest.raises(TransportError) as info:
        chat(mode, server.url, timeout=httpx.Timeout(0.2, read=0.5))
    assert_total_timeout(info.value, server)
