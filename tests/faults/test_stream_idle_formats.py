"""The idle timeout on content, on every stream format (sync and async twins).

Bytes that carry no content never reset a stream's idle timeout: SSE keep-alive comments
and blank lines, Anthropic pings, NDJSON blank lines, whitespace between the elements of
a JSON array, and empty deltas in each dialect (SSE, NDJSON, AWS event stream). The first
bytes a stream reads to choose its decoder (a JSON array or an untyped body is sniffed)
are read within the idle timeout too: a server that sends its headers and then nothing
fails after ``idle`` seconds, not after the much longer read timeout.

A small loopback server answers each request with a scripted byte sequence, and the mock
server scripts the empty deltas of each dialect.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from ailib import AiClient, AsyncAiClient
from ailib.errors import StreamInterruptedError
from ailib.testing.scenario import Scenario
from ailib.testing.server import MockServer

IDLE = 0.3
READ_TIMEOUT = 8.0  # each read may wait this long: the idle timeout must end it far sooner
Script = Sequence[tuple[float, bytes]]  # (seconds to wait, bytes to send)


class ScriptedServer:
    """Answers every request on a loopback port with ``script``, then holds the line."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self._stop.set()
        self._sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                got = conn.recv(65536)
                if not got:
                    return
                data += got
            try:
                for delay, chunk in self.script:
                    if self._stop.wait(delay):
                        return
                    conn.sendall(chunk)
                self._stop.wait(READ_TIMEOUT * 2)  # then silence, until the client hangs up
            except OSError:
                return


def head(content_type: str | None) -> bytes:
    typed = f"content-type: {content_type}\r\n" if content_type else ""
    return f"HTTP/1.1 200 OK\r\n{typed}connection: close\r\n\r\n".encode()


def openai_delta(text: str) -> bytes:
    chunk = {"id": "c1", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": text}}]}  # fmt: skip
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


def gemini_part(text: str) -> bytes:
    part = {"candidates": [{"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}]}
    return json.dumps(part).encode()


def every(seconds: float, chunk: bytes, times: int = 40) -> list[tuple[float, bytes]]:
    return [(seconds, chunk)] * times


ANTHROPIC_START = (
    b'event: message_start\ndata: {"type":"message_start","message":{"id":"m1","type":"message",'
    b'"role":"assistant","model":"claude-sonnet-4-5","content":[],"usage":{"input_tokens":1,'
    b'"output_tokens":0}}}\n\n'
)
PING = b'event: ping\ndata: {"type": "ping"}\n\n'

#: name -> (model, base path, script): content stops, bytes without content go on
SCRIPTS: dict[str, tuple[str, str, Script]] = {
    "sse keep-alive comments": (
        "openai/gpt-4o",
        "/v1",
        [
            (0, head("text/event-stream")),
            (0, openai_delta("hi")),
            *every(0.05, b": keep-alive\n\n"),
        ],
    ),
    "sse blank lines": (
        "openai/gpt-4o",
        "/v1",
        [(0, head("text/event-stream")), (0, openai_delta("hi")), *every(0.05, b"\n")],
    ),
    "anthropic pings": (
        "anthropic/claude-sonnet-4-5",
        "/v1",
        [(0, head("text/event-stream")), (0, ANTHROPIC_START), *every(0.05, PING)],
    ),
    "ndjson blank lines": (
        "ollama/llama3",
        "",
        [(0, head("application/x-ndjson")), *every(0.05, b"\n")],
    ),
    "json array whitespace": (
        "gemini/gemini-2.5-flash",
        "/v1beta",
        [(0, head("application/json")), (0, b"[" + gemini_part("hi")), *every(0.05, b"\n ")],
    ),
    # the first bytes choose the decoder: they are read within the idle timeout too
    "json array silent after the headers": (
        "gemini/gemini-2.5-flash",
        "/v1beta",
        [(0, head("application/json"))],
    ),
    "json array whitespace before it starts": (
        "gemini/gemini-2.5-flash",
        "/v1beta",
        [(0, head("application/json")), *every(0.05, b" ")],
    ),
    "untyped body silent after the headers": ("openai/gpt-4o", "/v1", [(0, head(None))]),
    "sse silent after the headers": ("openai/gpt-4o", "/v1", [(0, head("text/event-stream"))]),
}


@pytest.fixture(params=list(SCRIPTS), ids=list(SCRIPTS))
def scripted(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    model, path, script = SCRIPTS[request.param]
    server = ScriptedServer(script)
    try:
        yield model, server.url(path)
    finally:
        server.close()


def options(base_url: str) -> dict[str, Any]:
    return {
        "api_key": "sk-test",
        "base_url": base_url,
        "timeout": READ_TIMEOUT,
        "stream_idle_timeout": IDLE,
        "max_retries": 0,
    }


def check(error: StreamInterruptedError, seconds: float) -> None:
    assert error.code == "E3003" and "idle" in error.message
    assert error.partial is not None
    assert seconds < READ_TIMEOUT / 2  # the idle timeout ended it, not a read timeout


def test_bytes_without_content_do_not_reset_the_idle_timeout_sync(
    scripted: tuple[str, str],
) -> None:
    model, base_url = scripted
    start = time.monotonic()
    with (
        AiClient.create(model, **options(base_url)) as client,
        pytest.raises(StreamInterruptedError) as info,
        client.chat().user("x").stream() as s,
    ):
        for _ in s:
            pass
    check(info.value, time.monotonic() - start)


async def test_bytes_without_content_do_not_reset_the_idle_timeout_async(
    scripted: tuple[str, str],
) -> None:
    model, base_url = scripted
    start = time.monotonic()
    async with await AsyncAiClient.create(model, **options(base_url)) as client:
        with pytest.raises(StreamInterruptedError) as info:
            async with client.chat().user("x").stream() as stream:
                async for _ in stream:
                    pass
    check(info.value, time.monotonic() - start)


# ---- empty deltas, in each dialect the mock server speaks -----------------------------------

DIALECTS = {  # model -> the mock server's dialect (its stream format)
    "openai/gpt-4o": "openai",  # SSE
    "anthropic/claude-sonnet-4-5": "anthropic",  # SSE, named events
    "gemini/gemini-2.5-flash": "gemini",  # SSE (alt=sse)
    "ollama/llama3": "ollama",  # NDJSON
    "cohere/command-r": "cohere",  # SSE, v2 events
    "bedrock/anthropic.claude-3-haiku": "bedrock",  # AWS event stream
}


@pytest.mark.parametrize("model", list(DIALECTS))
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_empty_deltas_do_not_reset_the_idle_timeout_in_any_dialect(
    mode: str, model: str, mock_server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "bedrock-test-token")
    mock_server.push(Scenario(text="", chunks=40, chunk_delay=0.05))
    opts = options(mock_server.base_url(DIALECTS[model]))
    start = time.monotonic()

    async def consume_async() -> None:
        client = await AsyncAiClient.create(model, **opts)
        async with client, client.chat().user("x").stream() as stream:
            async for _ in stream:
                pass

    with pytest.raises(StreamInterruptedError) as info:
        if mode == "async":
            asyncio.run(consume_async())
        else:
            with AiClient.create(model, **opts) as client, client.chat().user("x").stream() as s:
                for _ in s:
                    pass
    check(info.value, time.monotonic() - start)
    assert info.value.partial is not None and info.value.partial.content == ""
