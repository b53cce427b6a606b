"""Three fixes to httpcore's connection pools (httpx's and httpx2's), for the clients
ailib creates.

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
2. **Cancelled connects.** A connection whose request was cancelled while it connected
   has no socket and would stay in the pool, counting against ``max_connections``, for
   good (httpcore 1.x): it is dropped at the next pass.
3. **The network.** Async pools reach the network through
   :class:`~ailib.transport.asyncio_stream.AsyncioBackend` (asyncio directly, not anyio),
   which also answers the pool's "did the server close this idle connection?" from its
   buffer.

httpx has no public way to choose its pool's class or network backend:
:func:`tune_httpcore_pools` sets the class of the client's plain ``ConnectionPool`` /
``AsyncConnectionPool`` (exactly those: proxies keep theirs) and the async pools' private
``_network_backend``, as :func:`ailib.runtime.deadline_io.deadline_bound` does, for
httpcore 1.x (httpx) and httpcore2 (httpx2) alike. It changes only pools whose internals
it knows; if a release renames them, nothing changes and only speed is lost
(``tests/unit/test_httpcore_pool.py`` fails then, on purpose).

Example::

    client = tune_httpcore_pools(httpx.AsyncClient())  # the same client, a linear pool
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any, TypeVar

import httpcore

C = TypeVar("C")

__all__ = ["LinearAssignment", "tune_httpcore_pools"]


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
            if id(connection) not in given and getattr(connection, "_connection", 1) is None:
                continue  # its request was cancelled while it connected: no socket to close
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


#: (httpcore2's pool class) -> the same class with LinearAssignment, made on first use
_LINEAR_CLASSES: dict[type, type] = {
    httpcore.AsyncConnectionPool: LinearAsyncConnectionPool,
    httpcore.ConnectionPool: LinearConnectionPool,
}


def _core_of(pool: Any) -> ModuleType | None:
    """httpcore or httpcore2 (the package ``pool``'s class comes from), if it is one of
    their two plain pools (HTTP/1.1 only) whose internals :class:`LinearAssignment` knows."""
    package = type(pool).__module__.partition(".")[0]
    if package not in ("httpcore", "httpcore2") or getattr(pool, "_http2", True) is not False:
        return None
    core = sys.modules[package]
    if type(pool) not in (core.AsyncConnectionPool, core.ConnectionPool):
        return None  # a proxy's pool, or a caller's subclass: left as it is
    major = "1." if package == "httpcore" else "2."
    if not core.__version__.startswith(major):
        return None
    if not callable(getattr(type(pool), "_assign_requests_to_connections", None)):
        return None
    return core


def _linear_class(pool_class: type) -> type:
    found = _LINEAR_CLASSES.get(pool_class)
    if found is None:
        name = f"Linear{pool_class.__name__}_{pool_class.__module__.partition('.')[0]}"
        found = _LINEAR_CLASSES[pool_class] = type(name, (LinearAssignment, pool_class), {})
    return found


def tune_httpcore_pools(client: C) -> C:
    """``client``, an ``httpx``/``httpx2`` ``Client`` or ``AsyncClient`` ailib created,
    with the HTTP/1.1 pools of its transport and proxy mounts linear
    (:class:`LinearAssignment`) and, async, on :class:`~ailib.transport.asyncio_stream.
    AsyncioBackend`. Other clients are returned as they are."""
    from ailib.transport.asyncio_stream import AsyncioBackend

    transports = [getattr(client, "_transport", None)]
    transports += list((getattr(client, "_mounts", None) or {}).values())
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        package = type(pool).__module__.partition(".")[0]
        if package not in ("httpcore", "httpcore2"):
            continue
        if _core_of(pool) is not None:
            pool.__class__ = _linear_class(type(pool))
        core = sys.modules[package]
        backend = getattr(pool, "_network_backend", None)
        if isinstance(backend, core.AsyncNetworkBackend):
            pool._network_backend = AsyncioBackend(backend, core)  # type: ignore[union-attr]
    return client
