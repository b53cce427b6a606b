"""Two fixes to httpcore's connection pool (httpx's), for the clients ailib creates.

1. **Keep-alive.** httpcore 1.x closes an idle connection whenever the pool holds more
   connections, busy or idle, than ``max_keepalive_connections``. At 64 calls in flight
   and httpx's default of 20, every request then opens a new connection (1,000 requests,
   1,000 connections; a TLS handshake each against a real server), and with the limit
   raised to 64 it counts every connection again for each idle one: work growing with the
   square of the pool on every request and response. :class:`LinearAssignment` decides
   in one pass: idle connections beyond ``max_keepalive_connections`` go (the oldest
   first); each waiting request takes the oldest idle connection to its origin (checked
   for a server's close or its expiry just then), or a new one within
   ``max_connections``, or the place of an idle one; every idle connection is checked
   once a second. 1,000 requests at 64 in flight now open 64 connections.
2. **Idle checks.** Before it reuses a connection, the pool asks whether its server closed
   it (``get_extra_info("is_readable")``). Over anyio each answer first builds a dict of
   attribute getters and calls ``getpeername`` (about 10 µs). :class:`IdleCheckStream`
   keeps the socket it was opened on and answers with one ``poll``.

httpx has no public way to choose its pool's class or network backend:
:func:`tune_httpcore_pools` sets the class of the client's ``httpcore.ConnectionPool`` /
``AsyncConnectionPool`` (exactly those: proxies keep theirs) and the async pool's private
``_network_backend``, as :func:`ailib.runtime.deadline_io.deadline_bound` does. It changes
only httpcore 1.x pools whose internals it knows; if a release renames them, nothing
changes and only speed is lost (``tests/unit/test_httpcore_pool.py`` fails then, on
purpose). httpcore2 (the ``httpx2`` backend) needs neither fix.

Example::

    client = tune_httpcore_pools(httpx.AsyncClient())  # the same client, a linear pool
"""

from __future__ import annotations

import select
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import httpcore

C = TypeVar("C")

__all__ = [
    "IdleCheckBackend",
    "IdleCheckStream",
    "LinearAssignment",
    "socket_readable",
    "tune_httpcore_pools",
]


def socket_readable(sock: Any) -> bool:
    """Whether ``sock`` (a socket, or anything with its ``fileno()``) has data or an end
    of file to read now (a closed socket: True).

    For an idle keep-alive connection, readable means the server closed it (or sent
    bytes nobody asked for): either way the pool must not reuse it."""
    fd = sock.fileno()
    if fd < 0:
        return True
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(0))
    ready, _, _ = select.select([fd], [], [], 0)  # pragma: no cover - Windows
    return bool(ready)


class IdleCheckStream:
    """An httpcore async network stream that answers ``is_readable`` from its socket."""

    __slots__ = ("_inner", "_socket")

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        sock = inner.get_extra_info("socket")  # asyncio hands out a TransportSocket
        self._socket: Any = sock if callable(getattr(sock, "fileno", None)) else None

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data: bytes = await self._inner.read(max_bytes, timeout)
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> IdleCheckStream:
        return IdleCheckStream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable" and self._socket is not None:
            return socket_readable(self._socket)
        return self._inner.get_extra_info(info)


class IdleCheckBackend:
    """Wraps httpcore's async network backend: its streams are :class:`IdleCheckStream`."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> IdleCheckStream:
        inner = await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return IdleCheckStream(inner)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> IdleCheckStream:
        return IdleCheckStream(await self._inner.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


#: seconds between two checks of every idle connection for a server's close or expiry
SWEEP_SECONDS = 1.0


class LinearAssignment:
    """httpcore's ``_assign_requests_to_connections`` for HTTP/1.1 pools, in one pass,
    keep-alive as documented.

    Mixed into the pool classes below; the pool calls it, under its lock, whenever a
    request arrives or a response ends, and closes the connections it returns. An HTTP/1.1
    connection carries one request at a time, so a connection given to a request that has
    not started yet is never given to a second one (httpcore gives it, and the second
    request retries). An idle connection is checked for a server's close or its expiry
    when it is about to be given, and all of them once every :data:`SWEEP_SECONDS`."""

    _connections: list[Any]
    _requests: list[Any]
    _max_connections: int
    _max_keepalive_connections: int
    create_connection: Callable[[Any], Any]  # the pool's own

    def _assign_requests_to_connections(self) -> list[Any]:
        closing: list[Any] = []
        now = time.monotonic()
        sweep = now >= getattr(self, "_ailib_sweep_at", 0.0)
        if sweep:
            self._ailib_sweep_at = now + SWEEP_SECONDS
        given = {id(r.connection) for r in self._requests if r.connection is not None}
        kept: list[Any] = []
        idle: list[Any] = []  # idle and given to no request: may be given or closed
        for connection in self._connections:
            if connection.is_closed():
                continue
            if id(connection) not in given and connection.is_idle():
                if sweep and connection.has_expired():
                    closing.append(connection)
                    continue
                idle.append(connection)
            kept.append(connection)
        surplus = len(idle) - self._max_keepalive_connections
        if surplus > 0:  # the oldest idle connections go
            closing += idle[:surplus]
            dropped = {id(c) for c in idle[:surplus]}
            kept = [c for c in kept if id(c) not in dropped]
            idle = idle[surplus:]
        self._connections[:] = kept
        for pool_request in [r for r in self._requests if r.is_queued()]:
            connection = self._idle_for(pool_request.request.url.origin, idle, closing)
            if connection is None:
                if len(self._connections) >= self._max_connections:
                    if not idle:
                        continue  # it waits until a connection is free
                    spare = idle.pop(0)
                    self._connections.remove(spare)
                    closing.append(spare)
                connection = self.create_connection(pool_request.request.url.origin)
                self._connections.append(connection)
            pool_request.assign_to_connection(connection)
        return closing

    def _idle_for(self, origin: Any, idle: list[Any], closing: list[Any]) -> Any:
        """The oldest idle connection to ``origin`` still open (taken out of ``idle``);
        those found closed by their server or expired on the way go to ``closing``."""
        for connection in list(idle):
            if not (connection.can_handle_request(origin) and connection.is_available()):
                continue
            idle.remove(connection)
            if connection.has_expired():
                self._connections.remove(connection)
                closing.append(connection)
                continue
            return connection
        return None


class LinearAsyncConnectionPool(LinearAssignment, httpcore.AsyncConnectionPool):
    """httpcore's async pool with :class:`LinearAssignment`."""


class LinearConnectionPool(LinearAssignment, httpcore.ConnectionPool):
    """httpcore's sync pool with :class:`LinearAssignment`."""


def _knows(pool_class: type) -> bool:
    """Whether ``pool_class`` (httpcore's) has the internals :class:`LinearAssignment` uses."""
    return httpcore.__version__.startswith("1.") and callable(
        getattr(pool_class, "_assign_requests_to_connections", None)
    )


def tune_httpcore_pools(client: C) -> C:
    """``client``, an ``httpx.Client`` / ``AsyncClient`` ailib created, with the HTTP/1.1
    pools of its transport and proxy mounts linear (:class:`LinearAssignment`) and, async, opening
    :class:`IdleCheckStream` streams. Other clients are returned as they are."""
    transports = [getattr(client, "_transport", None)]
    transports += list((getattr(client, "_mounts", None) or {}).values())
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        http1_only = getattr(pool, "_http2", True) is False
        if type(pool) is httpcore.AsyncConnectionPool and http1_only and _knows(type(pool)):
            pool.__class__ = LinearAsyncConnectionPool
        elif type(pool) is httpcore.ConnectionPool and http1_only and _knows(type(pool)):
            pool.__class__ = LinearConnectionPool
        backend = getattr(pool, "_network_backend", None)
        if isinstance(backend, httpcore.AsyncNetworkBackend):
            pool._network_backend = IdleCheckBackend(backend)  # type: ignore[union-attr]
    return client
