"""ailib's asyncio network backend for httpcore / httpcore2 pools
(ailib.transport.asyncio_stream): the same bytes, ends, errors and timeouts as httpcore's
anyio backend, over real loopback sockets; TLS through start_tls."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from ailib import AsyncAiClient
from ailib.testing import MockServer
from ailib.transport.asyncio_stream import HIGH_WATER, AsyncioBackend, AsyncioStream
from ailib.transport.backends import PoolLimits, make_client

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture(params=["httpcore", "httpcore2"])
def core(request: pytest.FixtureRequest) -> ModuleType:
    return pytest.importorskip(request.param)


def backend_for(core: ModuleType) -> AsyncioBackend:
    return AsyncioBackend(core.AsyncConnectionPool()._network_backend, core)


async def serve(handler: Handler, **kwargs: Any) -> tuple[asyncio.AbstractServer, int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0, **kwargs)
    return server, server.sockets[0].getsockname()[1]


async def echo_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    data = await reader.read(100)
    writer.write(b"got " + data)
    await writer.drain()
    writer.close()


def test_bytes_go_and_come_back_then_the_end(core: ModuleType) -> None:
    async def run() -> None:
        server, port = await serve(echo_once)
        stream = await backend_for(core).connect_tcp("127.0.0.1", port, timeout=5)
        assert isinstance(stream, AsyncioStream)
        assert stream.get_extra_info("server_addr")[1] == port
        assert stream.get_extra_info("client_addr")[0] == "127.0.0.1"
        assert stream.get_extra_info("socket") is not None
        assert stream.get_extra_info("ssl_object") is None
        await stream.write(b"hello", timeout=5)
        got = b""
        while chunk := await stream.read(3, timeout=5):  # max_bytes is honoured
            assert len(chunk) <= 3
            got += chunk
        assert got == b"got hello"
        assert await stream.read(10, timeout=5) == b""  # still the end
        await stream.aclose()
        server.close()

    asyncio.run(run())


def test_is_readable_says_whether_the_server_spoke_or_closed(core: ModuleType) -> None:
    """The pool's question before reusing an idle connection."""
    sent = asyncio.Event()

    async def run() -> None:
        async def later(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await sent.wait()
            writer.close()

        server, port = await serve(later)
        stream = await backend_for(core).connect_tcp("127.0.0.1", port)
        await asyncio.sleep(0.05)
        assert stream.get_extra_info("is_readable") is False  # idle, open
        sent.set()
        for _ in range(100):
            if stream.get_extra_info("is_readable"):
                break
            await asyncio.sleep(0.01)
        assert stream.get_extra_info("is_readable") is True  # the server closed it
        await stream.aclose()
        server.close()

    asyncio.run(run())


def test_a_read_times_out_as_httpcore_says(core: ModuleType) -> None:
    async def run() -> None:
        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await asyncio.sleep(5)

        server, port = await serve(silent)
        stream = await backend_for(core).connect_tcp("127.0.0.1", port)
        with pytest.raises(core.ReadTimeout):
            await stream.read(10, timeout=0.05)
        await stream.aclose()
        server.close()

    asyncio.run(run())


def test_connect_errors_and_timeouts_are_httpcores(core: ModuleType) -> None:
    async def run() -> None:
        server, port = await serve(echo_once)
        server.close()
        await server.wait_closed()
        with pytest.raises(core.ConnectError):
            await backend_for(core).connect_tcp("127.0.0.1", port, timeout=5)
        server, port = await serve(echo_once)
        with pytest.raises(core.ConnectTimeout):
            await backend_for(core).connect_tcp("127.0.0.1", port, timeout=0)
        server.close()

    asyncio.run(run())


def test_writing_to_a_closed_connection_is_a_write_error(core: ModuleType) -> None:
    async def run() -> None:
        server, port = await serve(echo_once)
        stream = await backend_for(core).connect_tcp("127.0.0.1", port)
        await stream.aclose()
        await asyncio.sleep(0)
        with pytest.raises(core.WriteError):
            await stream.write(b"x")
        server.close()

    asyncio.run(run())


def test_a_write_the_server_does_not_read_times_out(core: ModuleType) -> None:
    async def run() -> None:
        async def deaf(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await asyncio.sleep(5)

        server, port = await serve(deaf, limit=1024)
        stream = await backend_for(core).connect_tcp("127.0.0.1", port)
        with pytest.raises(core.WriteTimeout):
            for _ in range(64):  # the transport's buffer fills: the write waits for room
                await stream.write(b"x" * (1 << 20), timeout=0.1)
        await stream.aclose()
        server.close()

    asyncio.run(run())


def test_a_large_answer_pauses_reading_and_arrives_whole(core: ModuleType) -> None:
    size = 3 * HIGH_WATER

    async def run() -> None:
        async def flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(bytes(range(256)) * (size // 256))
            await writer.drain()
            writer.close()

        server, port = await serve(flood)
        stream = await backend_for(core).connect_tcp("127.0.0.1", port)
        await asyncio.sleep(0.2)  # the answer arrives while nobody reads
        conn = stream._conn
        assert conn.reading_paused and conn.buffered <= HIGH_WATER + (256 << 10)
        got = bytearray()
        while chunk := await stream.read(65536, timeout=5):
            got += chunk
        assert bytes(got) == bytes(range(256)) * (size // 256)
        assert not conn.reading_paused
        await stream.aclose()
        server.close()

    asyncio.run(run())


def test_cancelling_a_read_leaves_the_stream_usable(core: ModuleType) -> None:
    async def run() -> None:
        go = asyncio.Event()

        async def late(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await go.wait()
            writer.write(b"late")
            await writer.drain()

        server, port = await serve(late)
        stream = await backend_for(core).connect_tcp("127.0.0.1", port)
        task = asyncio.ensure_future(stream.read(10))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        go.set()
        assert await stream.read(10, timeout=5) == b"late"
        await stream.aclose()
        server.close()

    asyncio.run(run())


def test_another_event_loop_library_gets_the_wrapped_backend(
    core: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under trio (no asyncio loop) the pool's own backend serves."""

    calls: list[str] = []

    class Inner:
        async def connect_tcp(self, *args: Any) -> str:
            calls.append("tcp")
            return "inner stream"

        async def sleep(self, seconds: float) -> None:
            calls.append("sleep")

    backend = AsyncioBackend(Inner(), core)
    monkeypatch.setattr("sniffio.current_async_library", lambda: "trio")

    async def run() -> None:
        assert await backend.connect_tcp("127.0.0.1", 1) == "inner stream"
        await backend.sleep(0)

    asyncio.run(run())
    assert calls == ["tcp", "sleep"]


# ---- TLS ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"),
            *("-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return key, cert


def test_tls_through_start_tls(core: ModuleType, certificate: tuple[Path, Path]) -> None:
    key, cert = certificate
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(cert, key)
    client_side = ssl.create_default_context(cafile=str(cert))

    async def run() -> None:
        server, port = await serve(echo_once, ssl=server_side)
        plain = await backend_for(core).connect_tcp("localhost", port, timeout=5)
        stream = await plain.start_tls(client_side, server_hostname="localhost", timeout=5)
        assert stream.get_extra_info("ssl_object") is not None
        await stream.write(b"secret", timeout=5)
        got = b""
        while chunk := await stream.read(100, timeout=5):
            got += chunk
        assert got == b"got secret"
        await stream.aclose()
        other = await backend_for(core).connect_tcp("localhost", port, timeout=5)
        with pytest.raises(core.ConnectError):  # a certificate nobody vouches for
            await other.start_tls(ssl.create_default_context(), "localhost", timeout=5)
        server.close()

    asyncio.run(run())


def test_an_https_call_through_an_ailib_client(certificate: tuple[Path, Path]) -> None:
    """A whole request over TLS on ailib's httpx client (its pool on AsyncioBackend)."""
    key, cert = certificate
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(cert, key)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()

    async def run() -> None:
        server, port = await serve(answer, ssl=server_side)
        client = make_client("httpx", 5.0, PoolLimits(), asynchronous=True)
        backend = client._transport._pool._network_backend
        assert isinstance(backend, AsyncioBackend)
        client._transport._pool._ssl_context = ssl.create_default_context(cafile=str(cert))
        response = await client.get(f"https://localhost:{port}/")
        assert (response.status_code, response.content) == (200, b"ok")
        await client.aclose()
        server.close()

    asyncio.run(run())


# ---- through ailib: the whole call on each httpcore ------------------------------------------


@pytest.mark.parametrize("transport", ["httpx", "httpx2"])
def test_ailib_calls_ride_the_asyncio_backend(transport: str) -> None:
    if transport == "httpx2":
        pytest.importorskip("httpx2")
    with MockServer() as server:

        async def run() -> list[str]:
            client = await AsyncAiClient.create(
                "openai/gpt-4o",
                api_key="sk-test",
                base_url=server.base_url("openai"),
                transport=transport,
            )
            pool = client._engine._client._transport._pool
            assert isinstance(pool._network_backend, AsyncioBackend)
            answers = await asyncio.gather(
                *(client.chat().user(f"n{i}").execute() for i in range(20))
            )
            await client.aclose()
            return [a.content for a in answers]

        assert asyncio.run(run()) == [f"echo: n{i}" for i in range(20)]


def test_a_trust_store_that_cannot_load_is_its_own_error_and_the_socket_closes(
    core: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ailib.errors import ConfigurationError
    from ailib.transport.tls import LazyTLSContext

    monkeypatch.setenv("SSL_CERT_FILE", "/nonexistent/ca.pem")

    async def run() -> None:
        server, port = await serve(echo_once)
        plain = await backend_for(core).connect_tcp("127.0.0.1", port, timeout=5)
        with pytest.raises(ConfigurationError, match="SSL_CERT_FILE"):
            await plain.start_tls(LazyTLSContext(), "localhost", timeout=5)
        assert plain._transport.is_closing()
        server.close()

    asyncio.run(run())
