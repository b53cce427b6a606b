"""ailib's httpcore pool fixes (ailib.transport.httpcore_pool): keep-alive as documented,
connections checked before reuse, the same answers; sync and async twins, real loopback
sockets."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

import httpcore
import httpx
import pytest

from ailib import AiClient, AsyncAiClient
from ailib.testing import MockServer
from ailib.transport.asyncio_stream import AsyncioBackend
from ailib.transport.backends import PoolLimits, make_client
from ailib.transport.httpcore_pool import (
    LinearAssignment,
    LinearAsyncConnectionPool,
    LinearConnectionPool,
    tune_httpcore_pools,
)

BODY = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


class Counting:
    """A network backend wrapper counting the connections it opens (sync or async)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.opened = 0

    def connect_tcp(self, *args: Any, **kwargs: Any) -> Any:
        self.opened += 1
        return self.inner.connect_tcp(*args, **kwargs)  # a coroutine for the async backend

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def counted(client: Any) -> Counting:
    pool = client._transport._pool
    pool._network_backend = Counting(pool._network_backend)
    return pool._network_backend


@pytest.fixture(scope="module")
def server() -> Any:
    with MockServer() as srv:
        yield srv


def url(server: MockServer) -> str:
    return server.base_url("openai") + "/chat/completions"


# ---- what is installed, and where ----------------------------------------------------------


def test_httpcore_internals_the_fix_relies_on() -> None:
    """Fails on purpose if httpcore renames what tune_httpcore_pools sets or calls."""
    assert httpcore.__version__.startswith("1.")
    for cls in (httpcore.ConnectionPool, httpcore.AsyncConnectionPool):
        assert callable(cls._assign_requests_to_connections)
        assert callable(cls.create_connection)
    pool = httpcore.AsyncConnectionPool(http2=False)
    for name in ("_connections", "_requests", "_max_connections", "_network_backend"):
        assert hasattr(pool, name), name
    assert pool._http2 is False and pool._max_keepalive_connections >= 0


def test_clients_ailib_creates_are_tuned() -> None:
    sync = make_client("httpx", 10.0, PoolLimits(), asynchronous=False)
    assert type(sync._transport._pool) is LinearConnectionPool
    sync.close()

    async def run() -> None:
        client = make_client("httpx", 10.0, PoolLimits(), asynchronous=True)
        assert type(client._transport._pool) is LinearAsyncConnectionPool
        assert isinstance(client._transport._pool._network_backend, AsyncioBackend)
        await client.aclose()

    asyncio.run(run())


def test_httpx2_clients_ailib_creates_are_tuned_too() -> None:
    httpcore2 = pytest.importorskip("httpcore2")
    for name in ("_connections", "_requests", "_max_connections", "_network_backend"):
        assert hasattr(httpcore2.AsyncConnectionPool(http2=False), name), name
    sync = make_client("httpx2", 10.0, PoolLimits(), asynchronous=False)
    assert isinstance(sync._transport._pool, (LinearAssignment, httpcore2.ConnectionPool))
    sync.close()

    async def run() -> None:
        client = make_client("httpx2", 10.0, PoolLimits(), asynchronous=True)
        pool = client._transport._pool
        assert isinstance(pool, LinearAssignment) and isinstance(
            pool, httpcore2.AsyncConnectionPool
        )
        assert isinstance(pool._network_backend, AsyncioBackend)
        await client.aclose()

    asyncio.run(run())


def test_a_callers_client_and_http2_pools_are_left_alone() -> None:
    mine = httpx.Client()
    with AiClient.create("openai/gpt-4o", api_key="sk-x", http_client=mine):
        assert type(mine._transport._pool) is httpcore.ConnectionPool
    h2 = tune_httpcore_pools(httpx.Client(http2=True)) if _has_h2() else None
    if h2 is not None:
        assert type(h2._transport._pool) is httpcore.ConnectionPool

    async def run() -> None:
        theirs = httpx.AsyncClient()
        client = await AsyncAiClient.create("openai/gpt-4o", api_key="sk-x", http_client=theirs)
        assert type(theirs._transport._pool) is httpcore.AsyncConnectionPool
        await client.aclose()
        await theirs.aclose()

    asyncio.run(run())


def _has_h2() -> bool:
    try:
        import h2  # noqa: F401
    except ImportError:
        return False
    return True


# ---- keep-alive: connections are reused, surplus idle ones close ----------------------------


def test_many_calls_in_flight_reuse_their_connections_async(server: MockServer) -> None:
    async def run() -> tuple[int, int]:
        client = make_client("httpx", 10.0, PoolLimits(), asynchronous=True)
        counter = counted(client)
        sem = asyncio.Semaphore(32)

        async def one() -> str:
            async with sem:
                r = await client.post(url(server), json=BODY)
                return str(r.json()["choices"][0]["message"]["content"])

        answers = await asyncio.gather(*(one() for _ in range(300)))
        assert set(answers) == {"echo: hi"}
        kept = len(client._transport._pool.connections)
        await client.aclose()
        return counter.opened, kept

    opened, kept = asyncio.run(run())
    assert opened <= 32  # httpcore alone: one new connection for nearly every request
    assert kept == opened


def test_many_calls_in_flight_reuse_their_connections_sync(server: MockServer) -> None:
    client = make_client("httpx", 10.0, PoolLimits(), asynchronous=False)
    counter = counted(client)

    def one(_: int) -> str:
        return str(client.post(url(server), json=BODY).json()["choices"][0]["message"]["content"])

    with ThreadPoolExecutor(8) as workers:
        answers = list(workers.map(one, range(200)))
    assert set(answers) == {"echo: hi"}
    assert counter.opened <= 8
    client.close()


def test_an_idle_connection_is_kept_while_others_are_busy_async(server: MockServer) -> None:
    """httpcore alone closes it (more connections open than the keep-alive limit): then
    every call while 3 responses are open would open a new connection."""

    async def run() -> int:
        limits = PoolLimits(max_connections=10, max_keepalive_connections=2)
        client = make_client("httpx", 10.0, limits, asynchronous=True)
        counter = counted(client)
        busy = [client.stream("POST", url(server), json=BODY) for _ in range(3)]
        for response in busy:
            await response.__aenter__()  # headers read, body not: the connection is busy
        for _ in range(5):
            assert (await client.post(url(server), json=BODY)).status_code == 200
        for response in busy:
            await response.__aexit__(None, None, None)
        await client.aclose()
        return counter.opened

    assert asyncio.run(run()) == 3 + 1


def test_an_idle_connection_is_kept_while_others_are_busy_sync(server: MockServer) -> None:
    limits = PoolLimits(max_connections=10, max_keepalive_connections=2)
    client = make_client("httpx", 10.0, limits, asynchronous=False)
    counter = counted(client)
    with ExitStack() as stack:
        for _ in range(3):
            stack.enter_context(client.stream("POST", url(server), json=BODY))
        for _ in range(5):
            assert client.post(url(server), json=BODY).status_code == 200
    assert counter.opened == 3 + 1
    client.close()


def test_idle_connections_beyond_the_keepalive_limit_close_async(server: MockServer) -> None:
    async def run() -> tuple[int, int]:
        limits = PoolLimits(max_connections=8, max_keepalive_connections=2)
        client = make_client("httpx", 10.0, limits, asynchronous=True)
        counter = counted(client)
        for _ in range(3):  # bursts of 8: 8 open at once, 2 kept between the bursts
            await asyncio.gather(*(client.post(url(server), json=BODY) for _ in range(8)))
        kept = len(client._transport._pool.connections)
        await client.aclose()
        return counter.opened, kept

    opened, kept = asyncio.run(run())
    assert kept == 2
    assert 8 <= opened <= 8 + 2 * 6  # each later burst reuses the 2 kept


def test_idle_connections_beyond_the_keepalive_limit_close_sync(server: MockServer) -> None:
    limits = PoolLimits(max_connections=8, max_keepalive_connections=2)
    client = make_client("httpx", 10.0, limits, asynchronous=False)
    with ThreadPoolExecutor(8) as workers:
        for _ in range(3):
            list(workers.map(lambda _: client.post(url(server), json=BODY), range(8)))
    assert len(client._transport._pool.connections) <= 2
    client.close()


def test_calls_beyond_max_connections_wait_their_turn_async(server: MockServer) -> None:
    async def run() -> int:
        limits = PoolLimits(max_connections=2, max_keepalive_connections=2)
        client = make_client("httpx", 10.0, limits, asynchronous=True)
        counter = counted(client)
        replies = await asyncio.gather(*(client.post(url(server), json=BODY) for _ in range(20)))
        assert [r.status_code for r in replies] == [200] * 20
        await client.aclose()
        return counter.opened

    assert asyncio.run(run()) == 2


def test_calls_beyond_max_connections_wait_their_turn_sync(server: MockServer) -> None:
    limits = PoolLimits(max_connections=2, max_keepalive_connections=2)
    client = make_client("httpx", 10.0, limits, asynchronous=False)
    counter = counted(client)
    with ThreadPoolExecutor(6) as workers:
        codes = list(
            workers.map(lambda _: client.post(url(server), json=BODY).status_code, range(20))
        )
    assert codes == [200] * 20 and counter.opened == 2
    client.close()


def test_an_expired_idle_connection_is_not_reused_async(server: MockServer) -> None:
    async def run() -> int:
        limits = PoolLimits(keepalive_expiry=0.05)
        client = make_client("httpx", 10.0, limits, asynchronous=True)
        counter = counted(client)
        await client.post(url(server), json=BODY)
        await asyncio.sleep(0.2)
        assert (await client.post(url(server), json=BODY)).status_code == 200
        await client.aclose()
        return counter.opened

    assert asyncio.run(run()) == 2


def test_an_expired_idle_connection_is_not_reused_sync(server: MockServer) -> None:
    client = make_client("httpx", 10.0, PoolLimits(keepalive_expiry=0.05), asynchronous=False)
    counter = counted(client)
    client.post(url(server), json=BODY)
    time.sleep(0.2)
    assert client.post(url(server), json=BODY).status_code == 200
    assert counter.opened == 2
    client.close()


# ---- a connection the server closed is never handed out --------------------------------------


class ClosingServer:
    """Answers each connection's first request (keep-alive promised), then closes it."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")

    def close(self) -> None:
        self.sock.close()


def test_a_connection_its_server_closed_is_replaced_async() -> None:
    srv = ClosingServer()

    async def run() -> list[int]:
        client = make_client("httpx", 10.0, PoolLimits(), asynchronous=True)
        codes = []
        for _ in range(3):
            codes.append((await client.get(f"http://127.0.0.1:{srv.port}/")).status_code)
            await asyncio.sleep(0.05)  # the server's close reaches the idle socket
        await client.aclose()
        return codes

    try:
        assert asyncio.run(run()) == [200, 200, 200]
        assert srv.accepted == 3
    finally:
        srv.close()


def test_a_connection_its_server_closed_is_replaced_sync() -> None:
    srv = ClosingServer()
    client = make_client("httpx", 10.0, PoolLimits(), asynchronous=False)
    try:
        codes = []
        for _ in range(3):
            codes.append(client.get(f"http://127.0.0.1:{srv.port}/").status_code)
            time.sleep(0.05)
        assert codes == [200, 200, 200] and srv.accepted == 3
    finally:
        client.close()
        srv.close()


# ---- a request cancelled while its connection opens ------------------------------------------


@pytest.mark.parametrize("package", ["httpx", "httpx2"])
def test_a_request_cancelled_before_its_new_connection_opens_frees_its_place(
    package: str,
) -> None:
    """A queued request is given a new connection (the old one closed) and is cancelled
    before its task runs: the connection, never opened, used to stay in the pool for good,
    and with one connection allowed every later request waited until its pool timeout."""
    pytest.importorskip(package)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await asyncio.sleep(0.1)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()

    async def run() -> int:
        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        target = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
        client = make_client(package, 3.0, PoolLimits(max_connections=1), asynchronous=True)
        pool = client._transport._pool
        first = asyncio.ensure_future(client.get(target))
        await asyncio.sleep(0.02)
        second = asyncio.ensure_future(client.get(target))
        await asyncio.sleep(0.02)
        queued = pool._requests[1]  # the second request, waiting for the only connection
        assign = pool._assign_requests_to_connections

        def assign_then_cancel() -> Any:
            closing = assign()
            given = queued.connection
            if given is not None and getattr(given, "_connection", 1) is None:
                second.cancel()  # before its task runs: the new connection is never opened
            return closing

        pool._assign_requests_to_connections = assign_then_cancel
        assert (await first).status_code == 200
        with pytest.raises(asyncio.CancelledError):
            await second
        pool._assign_requests_to_connections = assign
        third = await asyncio.wait_for(client.get(target), 2.5)
        await client.aclose()
        server.close()
        return third.status_code

    assert asyncio.run(run()) == 200


class SlowConnect:
    """A network backend whose connects take ``delay`` seconds (then the inner one's)."""

    def __init__(self, inner: Any, delay: float) -> None:
        self.inner, self.delay = inner, delay

    async def connect_tcp(self, *args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(self.delay)
        return await self.inner.connect_tcp(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.mark.parametrize("package", ["httpx", "httpx2"])
def test_a_connect_cancelled_midway_frees_its_place(server: MockServer, package: str) -> None:
    """Before, the half-made connection stayed in the pool for good: with one connection
    allowed, every later request waited for it until its pool timeout."""
    pytest.importorskip(package)

    async def run() -> int:
        client = make_client(package, 5.0, PoolLimits(max_connections=1), asynchronous=True)
        pool = client._transport._pool
        real = pool._network_backend
        pool._network_backend = SlowConnect(real, 5.0)
        task = asyncio.ensure_future(client.post(url(server), json=BODY))
        await asyncio.sleep(0.1)  # connecting now
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        pool._network_backend = real
        response = await asyncio.wait_for(client.post(url(server), json=BODY), 5)
        await client.aclose()
        return response.status_code

    assert asyncio.run(run()) == 200
