"""Socket I/O bounded by the total deadline of one sync attempt.

httpcore applies a read timeout to each socket read, so a server that sends one header
line every 0.3 s never trips ``read=1``: the headers alone could hold a sync call for a
minute. The async side bounds the whole attempt with ``asyncio.timeout``; the sync side
has no such tool, so the sockets of the ``httpx.Client`` ailib creates go through
:class:`DeadlineBackend`: each connect, TLS handshake, read and write waits at most until
the deadline the engine set for the attempt (:data:`ATTEMPT_ENDS_AT`), and past it raises
httpcore's own timeout, which the client maps to ``httpx.ReadTimeout`` and ailib to
:class:`~ailib.errors.TransportError` E3003. Outside an attempt (streams, other code on
the same client) the sockets behave as before.

An ``http_client`` given by the caller is left as it is: its per-read timeouts are capped
at the deadline and the body is checked between chunks, but a server dripping headers is
bounded only by its own timeouts.

The backend is installed through private attributes (``httpx.Client._transport`` and
``_mounts``, ``httpx.HTTPTransport._pool``, ``httpcore.ConnectionPool._network_backend``):
httpx has no public way to give its transport a network backend. If a later release
renames them, :func:`deadline_bound` wraps nothing and the sync side falls back to
per-read timeouts (``tests/unit/test_attempt_deadline.py`` fails then, on purpose).

Example::

    client = deadline_bound(httpx.Client(timeout=10))  # sockets honour ATTEMPT_ENDS_AT
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any, NamedTuple, TypeVar

import httpcore

C = TypeVar("C")

#: ``time.monotonic()`` at which the current sync attempt must end (None: no attempt)
ATTEMPT_ENDS_AT: ContextVar[float | None] = ContextVar("ailib_attempt_ends_at", default=None)


def _bounded(timeout: float | None, error: type[Exception]) -> float | None:
    """``timeout``, shortened to what is left of the attempt; past the deadline: ``error``."""
    ends_at = ATTEMPT_ENDS_AT.get()
    if ends_at is None:
        return timeout
    left = ends_at - time.monotonic()
    if left <= 0:
        raise error("the total timeout of the request has passed")
    return left if timeout is None else min(timeout, left)


class Timeouts(NamedTuple):
    """The timeout exceptions of one httpcore-like package (httpcore, httpcore2)."""

    connect: type[Exception]
    read: type[Exception]
    write: type[Exception]

    @classmethod
    def of(cls, core: Any) -> Timeouts:
        return cls(core.ConnectTimeout, core.ReadTimeout, core.WriteTimeout)


#: httpcore's (httpx's) timeout exceptions: the default
HTTPCORE_TIMEOUTS = Timeouts.of(httpcore)


class DeadlineStream:
    """A network stream whose every wait ends by the attempt's deadline.

    It wraps the stream of any httpcore-like package (httpcore calls its streams and
    backends by their methods only); ``timeouts`` are that package's exceptions.
    """

    def __init__(self, inner: Any, timeouts: Timeouts | None = None) -> None:
        self._inner = inner
        self._timeouts = timeouts or HTTPCORE_TIMEOUTS

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data: bytes = self._inner.read(max_bytes, _bounded(timeout, self._timeouts.read))
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout, self._timeouts.write))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> DeadlineStream:
        timeout = _bounded(timeout, self._timeouts.connect)
        tls = self._inner.start_tls(ssl_context, server_hostname, timeout)
        return DeadlineStream(tls, self._timeouts)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend:
    """Wraps an httpcore-like network backend so its streams honour :data:`ATTEMPT_ENDS_AT`."""

    def __init__(self, inner: Any, timeouts: Timeouts | None = None) -> None:
        self._inner = inner
        self._timeouts = timeouts or HTTPCORE_TIMEOUTS

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> DeadlineStream:
        timeout = _bounded(timeout, self._timeouts.connect)
        inner = self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return DeadlineStream(inner, self._timeouts)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> DeadlineStream:
        timeout = _bounded(timeout, self._timeouts.connect)
        inner = self._inner.connect_unix_socket(path, timeout, socket_options)
        return DeadlineStream(inner, self._timeouts)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def deadline_bound(client: C, core: Any = httpcore) -> C:
    """``client``, a sync ``httpx.Client`` ailib created, with its sockets (those of its
    proxy mounts too) going through :class:`DeadlineBackend`. ``core`` is the client's
    connection package: ``httpcore`` for httpx, ``httpcore2`` for an ``httpx2.Client``.
    Any other client (an async one, whose attempts ``asyncio.timeout`` bounds) is returned
    as it is."""
    timeouts = Timeouts.of(core)
    transports = [getattr(client, "_transport", None)]
    transports += list((getattr(client, "_mounts", None) or {}).values())
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if isinstance(backend, core.NetworkBackend):  # an async pool's backend is not one
            pool._network_backend = DeadlineBackend(backend, timeouts)  # type: ignore[union-attr]
    return client
