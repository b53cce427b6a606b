"""The attempt deadline for the sockets of a sync ``httpx2.Client`` ailib creates.

The httpx2 twin of :func:`ailib.runtime.deadline_io.deadline_bound`: each connect, TLS
handshake, read and write of the client's httpcore2 pool waits at most until the
deadline of the current sync attempt (``ATTEMPT_ENDS_AT``), and past it raises
httpcore2's own timeout (E3003 for ailib). A server dripping its headers one line at a
time thus cannot hold a sync call past its ``timeout`` on this backend either.

Example::

    client = deadline_bound_httpx2(httpx2.Client(timeout=10))
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

import httpcore2

from ailib.runtime.deadline_io import _bounded

C = TypeVar("C")

__all__ = ["deadline_bound_httpx2"]


class _Stream(httpcore2.NetworkStream):
    """An httpcore2 network stream whose every wait ends by the attempt's deadline."""

    def __init__(self, inner: httpcore2.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout, httpcore2.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout, httpcore2.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore2.NetworkStream:
        timeout = _bounded(timeout, httpcore2.ConnectTimeout)
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore2.NetworkBackend):
    """Wraps an httpcore2 network backend so its streams honour the attempt deadline."""

    def __init__(self, inner: httpcore2.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.NetworkStream:
        timeout = _bounded(timeout, httpcore2.ConnectTimeout)
        return _Stream(self._inner.connect_tcp(host, port, timeout, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore2.NetworkStream:
        timeout = _bounded(timeout, httpcore2.ConnectTimeout)
        return _Stream(self._inner.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def deadline_bound_httpx2(client: C) -> C:
    """``client`` (a sync ``httpx2.Client``) with its sockets bounded by the deadline."""
    transports = [getattr(client, "_transport", None)]
    transports += list((getattr(client, "_mounts", None) or {}).values())
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if isinstance(backend, httpcore2.NetworkBackend) and not isinstance(backend, _Backend):
            pool._network_backend = _Backend(backend)  # type: ignore[union-attr]
    return client
