"""Red-team checks of session 6's speed work: the asyncio network backend under hostile
servers (resets, TLS failures, unasked bytes on idle keep-alive connections, a response
cut off by a cancel), the pool's handling of connections (the parsing side:
test_redteam_session6_parsing.py)."""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct
import sys
from types import ModuleType
from typing import Any

import httpx
import pytest

from ailib.transport.asyncio_stream import AsyncioBackend
from ailib.transport.httpcore_pool import tune_httpcore_pools


@pytest.fixture(params=["httpcore", "httpcore2"])
def core(request: pytest.FixtureRequest) -> ModuleType:
    return pytest.importorskip(request.param)


def backend_for(core: ModuleType) -> AsyncioBackend:
    return AsyncioBackend(core.AsyncConnectionPool()._network_backend, core)


def test_a_reset_connection_is_a_read_error(core: ModuleType) -> None:
    async def run() -> None:
        async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(10)
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()

        server = await asyncio.start_server(reset, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        stream = await backend_for(core).connect_tcp("127.0.0.1", port, timeout=5)
        await stream.write(b"hi", timeout=5)
        with pytest.raises(core.ReadError):
            while await stream.read(100, timeout=5):
                pass
        assert stream.get_extra_info("is_readable") is True  # never reused
        await stream.aclose()
        server.close()

    asyncio.run(run())


@pytest.mark.parametrize("answer", [b"", b"HTTP/1.1 400 Bad Request\r\n\r\n"])
def test_tls_to_a_plain_server_is_a_connect_error_and_closes_the_socket(
    core: ModuleType, answer: bytes
) -> None:
    async def run() -> None:
        async def plain(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(1000)
            writer.write(answer)
            writer.close()

        server = await asyncio.start_server(plain, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        stream = await backend_for(core).connect_tcp("127.0.0.1", port, timeout=5)
        transport = stream._transport
        with pytest.raises((core.ConnectError, core.ConnectTimeout)):
            await stream.start_tls(ssl.create_default_context(), "localhost", timeout=5)
        await asyncio.sleep(0.05)
        assert transport.is_closing()
        server.close()

    asyncio.run(run())


def test_tls_handshake_against_a_silent_server_times_out(core: ModuleType) -> None:
    async def run() -> None:
        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await asyncio.sleep(5)

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        stream = await backend_for(core).connect_tcp("127.0.0.1", port, timeout=5)
        with pytest.raises(core.ConnectTimeout):
            await stream.start_tls(ssl.create_default_context(), "localhost", timeout=0.2)
        assert stream._transport.is_closing()
        server.close()

    asyncio.run(run())


class _Http:
    """A tiny keep-alive HTTP/1.1 server with per-connection hooks."""

    def __init__(self) -> None:
        self.connections = 0
        self.writers: list[asyncio.StreamWriter] = []
        self.slow_first = False

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        number = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                number += 1
                path = head.split(b" ")[1]
                body = b"R" + path + b"-" + b"x" * 200_000 if path == b"/big" else b"ok" + path
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body))
                if path == b"/big":
                    writer.write(body[:1000])
                    await writer.drain()
                    await asyncio.sleep(0.3)
                    writer.write(body[1000:])
                else:
                    writer.write(body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


def _client(core_name: str) -> Any:
    if core_name == "httpcore":
        client = httpx.AsyncClient()
    else:
        httpx2 = pytest.importorskip("httpx2")
        client = httpx2.AsyncClient()
    client = tune_httpcore_pools(client)
    assert isinstance(client._transport._pool._network_backend, AsyncioBackend)
    return client


@pytest.mark.parametrize("core_name", ["httpcore", "httpcore2"])
def test_unasked_bytes_on_an_idle_connection_make_the_pool_drop_it(core_name: str) -> None:
    async def run() -> None:
        http = _Http()
        server = await asyncio.start_server(http.handle, "127.0.0.1", 0)
        base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        async with _client(core_name) as client:
            assert (await client.get(base + "/a")).text == "ok/a"
            assert http.connections == 1
            http.writers[0].write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale")
            await asyncio.sleep(0.1)
            assert (await client.get(base + "/b")).text == "ok/b"  # not "stale"
            assert http.connections == 2
        server.close()

    asyncio.run(run())


@pytest.mark.parametrize("core_name", ["httpcore", "httpcore2"])
def test_a_body_cancelled_mid_way_never_leaks_into_the_next_response(core_name: str) -> None:
    async def run() -> None:
        http = _Http()
        server = await asyncio.start_server(http.handle, "127.0.0.1", 0)
        base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        async with _client(core_name) as client:

            async def read_big() -> None:
                response = await client.get(base + "/big")
                assert response.status_code == 200

            task = asyncio.create_task(read_big())
            await asyncio.sleep(0.1)  # headers and 1000 bytes arrived, the rest is late
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            for path in ("/c", "/d"):
                assert (await client.get(base + path)).text == "ok" + path
            pool = client._transport._pool
            assert len(pool.connections) <= 1
        server.close()

    asyncio.run(run())


@pytest.mark.parametrize("core_name", ["httpcore", "httpcore2"])
def test_an_early_answer_and_a_half_close_during_an_upload_is_still_read(core_name: str) -> None:
    """A server that answers 413 at once, shuts its sending side and reads no further."""

    async def run() -> None:
        async def early(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(
                b"HTTP/1.1 413 Too Large\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbig"
            )
            await writer.drain()
            writer.write_eof()
            try:
                while await reader.read(1 << 16):
                    pass
            except ConnectionError:
                pass
            writer.close()

        server = await asyncio.start_server(early, "127.0.0.1", 0)
        base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        async with _client(core_name) as client:
            response = await client.post(base + "/upload", content=b"x" * (8 << 20))
            assert (response.status_code, response.text) == (413, "big")
        server.close()

    asyncio.run(run())


@pytest.mark.parametrize("core_name", ["httpcore", "httpcore2"])
def test_a_server_that_never_reads_an_upload_is_a_write_timeout(core_name: str) -> None:
    async def run() -> None:
        async def deaf(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await asyncio.sleep(3)
            writer.close()

        server = await asyncio.start_server(deaf, "127.0.0.1", 0)
        base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        async with _client(core_name) as client:
            with pytest.raises(Exception) as caught:
                await client.post(base + "/", content=b"x" * (64 << 20), timeout=0.3)
            assert type(caught.value).__name__ in ("WriteTimeout", "ReadTimeout")
            assert type(caught.value).__module__.startswith(("httpx", "httpx2"))
        server.close()

    asyncio.run(run())


def test_closing_after_a_write_timeout_frees_the_socket_and_its_buffer(core: ModuleType) -> None:
    """A deaf server: the request's unsent bytes must not keep the socket (and memory)
    alive after the pool closes the connection (anyio's aclose aborts after one tick)."""

    async def run() -> None:
        release = asyncio.Event()

        async def deaf(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await release.wait()
            writer.close()

        server = await asyncio.start_server(deaf, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        stream = await backend_for(core).connect_tcp("127.0.0.1", port, timeout=5)
        with pytest.raises(core.WriteTimeout):
            await stream.write(b"x" * (32 << 20), timeout=0.2)
        await stream.aclose()
        for _ in range(50):
            if stream._conn.lost:
                break
            await asyncio.sleep(0.01)
        assert stream._conn.lost, "the socket stays open while its write buffer waits"
        assert stream._transport.get_write_buffer_size() == 0
        release.set()
        server.close()

    asyncio.run(run())


# --- LinearAssignment: a connection not opened yet --------------------------------------


@pytest.mark.parametrize("core_name", ["httpcore", "httpcore2"])
def test_a_new_connection_given_in_one_pass_survives_the_next_pass(core_name: str) -> None:
    """Request A gets a new (unopened) connection; before A's task runs, request B arrives
    and the pool assigns again: A's connection stays, and B waits (max_connections=1)."""
    core = pytest.importorskip(core_name)
    from ailib.transport.httpcore_pool import _linear_class

    pool = core.AsyncConnectionPool(max_connections=1, http2=False)
    pool.__class__ = _linear_class(type(pool))
    pool_request_class = sys.modules[f"{core_name}._async.connection_pool"].AsyncPoolRequest

    def request(path: str) -> Any:
        return pool_request_class(core.Request("GET", f"http://127.0.0.1:9{path}"))

    async def run() -> None:
        first = request("/a")
        pool._requests.append(first)
        assert pool._assign_requests_to_connections() == []
        connection = first.connection
        assert connection is not None and connection._connection is None  # never opened
        second = request("/b")
        pool._requests.append(second)
        assert pool._assign_requests_to_connections() == []
        assert first.connection is connection and pool._connections == [connection]
        assert second.is_queued()
        pool._requests.remove(first)  # A cancelled before it connected: the connection goes
        assert pool._assign_requests_to_connections() == []
        assert connection not in pool._connections and second.connection is not None

    asyncio.run(run())


# --- a cancel that arrives as the connect completes -------------------------------------


def test_a_cancel_arriving_as_the_connect_completes_is_not_swallowed(core: ModuleType) -> None:
    """asyncio.wait_for (before 3.12) returns the inner result when the outer task is
    cancelled just as the inner one finishes: the cancel is lost and the task goes on."""

    async def run() -> None:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[Any] = loop.create_future()
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]

        async def connect(loop: asyncio.AbstractEventLoop, factory: Any) -> Any:
            made = await loop.create_connection(factory, "127.0.0.1", port)
            try:
                await ready
            except asyncio.CancelledError:
                made[0].abort()
                raise
            return made

        backend = backend_for(core)
        task = asyncio.create_task(backend._open(connect, 5.0, None))
        await asyncio.sleep(0.1)  # the socket is connected; the connect awaits `ready`
        ready.set_result(None)
        task.cancel()  # in the same turn of the loop as the connect's completion
        outcome = await asyncio.gather(task, return_exceptions=True)
        if not isinstance(outcome[0], asyncio.CancelledError):
            await outcome[0].aclose()
        server.close()
        assert isinstance(outcome[0], asyncio.CancelledError), outcome

    asyncio.run(run())
