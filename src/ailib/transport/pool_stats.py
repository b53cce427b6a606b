"""Per-host connection counts of a :class:`~ailib.transport.pool.ConnectionPool`.

Each backend client of a pool gets a :class:`StatsCounter`: requests sent (a request
hook) and connections opened (a wrapper around the client's network backend, or
aiohttp's trace signals); a request that opened no connection reused one. Active, idle
and waiting are read from the client's pool when asked (httpcore's / httpcore2's
``connections`` and queued requests, aiohttp's connector).

Example::

    counter = StatsCounter.attach(httpx.AsyncClient(), asynchronous=True)
    host_stats([client], {id(client): counter})["connections_created"]
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

__all__ = ["StatsCounter", "host_stats", "origin_of"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str:
    """``scheme://host:port`` of ``url`` (the key a pool keeps one client per)."""
    parts = urlsplit(url)
    scheme = (parts.scheme or "https").lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port or _DEFAULT_PORTS.get(scheme)
    return f"{scheme}://{host}:{port}"


class StatsCounter:
    """Requests and new connections of one backend client."""

    __slots__ = ("created", "requests")

    def __init__(self) -> None:
        self.requests = 0
        self.created = 0

    @classmethod
    def attach(cls, client: Any, asynchronous: bool) -> StatsCounter:
        """A counter fed by ``client`` from now on."""
        counter = cls()
        if hasattr(client, "reused"):  # the aiohttp backend counts for itself
            return counter
        if asynchronous:

            async def count_request(_: Any) -> None:
                counter.requests += 1

            hook: Any = count_request
        else:

            def hook(_: Any) -> None:
                counter.requests += 1

        hooks = dict(client.event_hooks)
        hooks["request"] = [*hooks.get("request", []), hook]
        client.event_hooks = hooks
        for transport in _transports(client):
            pool = getattr(transport, "_pool", None)
            backend = getattr(pool, "_network_backend", None)
            if backend is not None:
                wrapper = _AsyncCounting if asynchronous else _Counting
                pool._network_backend = wrapper(backend, counter)  # type: ignore[union-attr]
        return counter


def _transports(client: Any) -> list[Any]:
    found = [getattr(client, "_transport", None)]
    found += list((getattr(client, "_mounts", None) or {}).values())
    return [t for t in found if t is not None]


class _Counting:
    """A sync network backend that counts the connections it opens."""

    def __init__(self, inner: Any, counter: StatsCounter) -> None:
        self._inner, self._counter = inner, counter

    def connect_tcp(self, *args: Any, **kwargs: Any) -> Any:
        stream = self._inner.connect_tcp(*args, **kwargs)
        self._counter.created += 1
        return stream

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _AsyncCounting(_Counting):
    """An async network backend that counts the connections it opens."""

    async def connect_tcp(self, *args: Any, **kwargs: Any) -> Any:
        stream = await self._inner.connect_tcp(*args, **kwargs)
        self._counter.created += 1
        return stream


def _pool_counts(client: Any) -> tuple[int, int, int]:
    """(active, idle, waiting) of one client's pool right now."""
    connector = client.connector() if hasattr(client, "reused") else None
    if connector is not None:  # aiohttp
        active = len(getattr(connector, "_acquired", ()))
        idle = sum(len(v) for v in getattr(connector, "_conns", {}).values())
        waiting = sum(len(v) for v in getattr(connector, "_waiters", {}).values())
        return active, idle, waiting
    active = idle = waiting = 0
    for transport in _transports(client):
        pool = getattr(transport, "_pool", None)
        if pool is None:
            continue
        for connection in list(getattr(pool, "connections", ())):
            if connection.is_closed():
                continue
            if connection.is_idle():
                idle += 1
            else:
                active += 1
        waiting += sum(1 for r in list(getattr(pool, "_requests", ())) if r.is_queued())
    return active, idle, waiting


def host_stats(clients: list[Any], counters: dict[int, StatsCounter]) -> dict[str, int]:
    """The summed counts of one host's clients (sync, async, every backend)."""
    totals = dict.fromkeys(
        (
            "active_connections",
            "idle_connections",
            "waiting_requests",
            "connections_created",
            "connections_reused",
            "requests",
        ),
        0,
    )
    for client in clients:
        active, idle, waiting = _pool_counts(client)
        totals["active_connections"] += active
        totals["idle_connections"] += idle
        totals["waiting_requests"] += waiting
        if hasattr(client, "reused"):  # aiohttp: its trace signals count both
            created, reused = client.created, client.reused
            requests = created + reused
        else:
            counter = counters.get(id(client)) or StatsCounter()
            created, requests = counter.created, counter.requests
            reused = max(0, requests - created)
        totals["connections_created"] += created
        totals["connections_reused"] += reused
        totals["requests"] += requests
    return totals
