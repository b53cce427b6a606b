"""``ConnectionPool``: one set of connections shared by many clients and providers.

A pool keeps one HTTP client per host (origin), backend and kind (sync or async), each
bounded by the pool's :class:`PoolConfig`. Clients made with ``pool=`` send through it
(``AsyncAiClient.create(model, pool=pool)``, ``AiClient.create(...)``, the builders'
``.pool(pool)``); ``get_client(name, base_url)`` hands out a plain client for your own
calls. ``get_stats(name)`` reports each host's connections: active, idle, waiting
requests, created and reused. Closing the pool closes its connections; a client made
with ``pool=`` leaves them open when it closes.

Cookies: a pool's client is shared by every client given the pool, whatever its API key
(tenant), so it keeps no cookies: a ``Set-Cookie`` in answer to one key's request (a
session or load-balancer cookie) is dropped, never sent with another key's requests
(:mod:`ailib.runtime.cookies`). A client without ``pool=`` serves one key and keeps the
cookies its provider sets; an ``http_client=`` of the caller keeps its own jar.

Example::

    pool = ConnectionPool(PoolConfig.high_throughput())
    async with pool:
        client = await pool.get_client("openai", "https://api.openai.com")
        response = await client.post("/v1/chat/completions", json=payload)
        ai = await AsyncAiClient.create("openai/gpt-4o", pool=pool)
    stats = pool.get_stats("openai")
    print(stats["openai"]["active_connections"])
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
from types import TracebackType
from typing import Any

import attrs

from ailib.errors import ConfigurationError
from ailib.runtime.redact import mask_url
from ailib.transport.backends import PoolLimits, make_client, resolve_transport
from ailib.transport.pool_stats import StatsCounter, host_stats, origin_of

__all__ = ["AsyncPooledClient", "ConnectionPool", "PoolConfig", "PooledClient"]


def _running_loop() -> asyncio.AbstractEventLoop | None:
    """The running event loop (an async client of a pool serves one loop), or None."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _positive(name: str, kind: type | tuple[type, ...] = (int, float)) -> Any:
    what = "a whole number" if kind is int else "a finite number"

    def check(_: Any, attribute: Any, value: Any) -> None:
        if value is None:
            return
        number = value if isinstance(value, kind) and not isinstance(value, bool) else None
        if not isinstance(number, int | float) or not 0 < number < math.inf:
            raise ConfigurationError(f"PoolConfig.{name} must be {what} > 0, got {value!r}")

    return check


@attrs.frozen
class PoolConfig:
    """Limits of a :class:`ConnectionPool`, per host: ``max_connections`` open at once,
    ``max_keepalive_connections`` kept idle for ``keepalive_expiry`` seconds, the
    ``timeout`` of each request in seconds, the ``transport`` backend (None: the
    ``AI_LIB_TRANSPORT`` variable, else httpx).

    Example::

        PoolConfig.high_throughput()          # many connections, long keep-alive
        PoolConfig(max_connections=10, transport="aiohttp")
    """

    max_connections: int | None = attrs.field(
        default=100, validator=_positive("max_connections", int)
    )
    max_keepalive_connections: int | None = attrs.field(
        default=100, validator=_positive("max_keepalive_connections", int)
    )
    keepalive_expiry: float | None = attrs.field(
        default=5.0, validator=_positive("keepalive_expiry")
    )
    timeout: float = attrs.field(default=60.0, validator=_positive("timeout"))
    transport: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.transport is not None:
            resolve_transport(self.transport)  # unknown or not installed: refused here

    @classmethod
    def default(cls) -> PoolConfig:
        """What a client without a pool uses: 100 connections, all kept idle for 5 s."""
        return cls()

    @classmethod
    def high_throughput(cls) -> PoolConfig:
        """Many calls at once: 200 connections per host, all kept idle for 30 s."""
        return cls(max_connections=200, max_keepalive_connections=200, keepalive_expiry=30.0)

    @classmethod
    def low_latency(cls) -> PoolConfig:
        """Few calls, each fast: warm connections kept 120 s, short timeout (30 s)."""
        return cls(
            max_connections=32, max_keepalive_connections=32, keepalive_expiry=120.0, timeout=30.0
        )

    @property
    def limits(self) -> PoolLimits:
        return PoolLimits(
            max_connections=self.max_connections,
            max_keepalive_connections=self.max_keepalive_connections,
            keepalive_expiry=self.keepalive_expiry,
        )


def _join(base_url: str, path: str) -> str:
    if "://" in path:
        return path
    return base_url.rstrip("/") + "/" + path.lstrip("/")


class AsyncPooledClient:
    """An async client for one host of a pool: paths are relative to its base URL.

    Example::

        response = await client.post("/v1/chat/completions", json=payload)
        response.status_code, response.json()
    """

    def __init__(self, name: str, base_url: str, http: Any) -> None:
        self.name, self.base_url, self.http = name, base_url.rstrip("/"), http

    def __repr__(self) -> str:
        return f"AsyncPooledClient(name={self.name!r}, base_url={mask_url(self.base_url)!r})"

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send and read one response (``json=``, ``content=``, ``headers=``)."""
        return await self.http.request(method, _join(self.base_url, path), **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Any:
        return await self.request("POST", path, **kwargs)

    async def get(self, path: str, **kwargs: Any) -> Any:
        return await self.request("GET", path, **kwargs)


class PooledClient:
    """A sync client for one host of a pool (see :class:`AsyncPooledClient`).

    Example::

        response = pool.get_sync_client("openai", base_url).post("/v1/chat/completions",
                                                                 json=payload)
    """

    def __init__(self, name: str, base_url: str, http: Any) -> None:
        self.name, self.base_url, self.http = name, base_url.rstrip("/"), http

    def __repr__(self) -> str:
        return f"PooledClient(name={self.name!r}, base_url={mask_url(self.base_url)!r})"

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.http.request(method, _join(self.base_url, path), **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)


class ConnectionPool:
    """Connections shared by every client given this pool, one client per host.

    Works for sync and async clients alike: ``with pool:`` / ``async with pool:``,
    ``pool.get_sync_client(...)`` / ``await pool.get_client(...)``. Its clients keep no
    cookies (they serve many API keys), so no state crosses from one tenant to another.

    Example::

        pool = ConnectionPool(PoolConfig.high_throughput())
        async with pool:
            a = await AsyncAiClient.create("openai/gpt-4o", pool=pool)
            b = await AsyncAiClient.create("anthropic/claude-sonnet-4-5", pool=pool)
        pool.get_stats()  # {"openai": {...}, "anthropic": {...}}
    """

    def __init__(self, config: PoolConfig | None = None) -> None:
        if config is not None and not isinstance(config, PoolConfig):
            raise ConfigurationError(
                f"ConnectionPool() takes a PoolConfig, got {type(config).__name__}"
            )
        self.config = config or PoolConfig.default()
        self._lock = threading.Lock()
        #: (origin, async, backend, event loop of an async client) -> the backend client
        self._clients: dict[tuple[str, bool, str, Any], Any] = {}
        self._counters: dict[int, StatsCounter] = {}  # id(client) -> its counters
        self._names: dict[str, set[str]] = {}  # name -> its origins (one name, many hosts)
        self.closed = False

    def __repr__(self) -> str:
        hosts = sorted({origin for origins in self._names.values() for origin in origins})
        return f"ConnectionPool({self.config!r}, hosts={hosts})"

    # ---- clients -------------------------------------------------------------------------

    def http_client_for(
        self,
        base_url: str,
        *,
        asynchronous: bool,
        transport: str | None = None,
        name: str | None = None,
    ) -> Any:
        """The pool's backend client for ``base_url``'s host (made on first use)."""
        if self.closed:
            raise ConfigurationError("this ConnectionPool is closed: create a new one")
        try:
            origin = origin_of(base_url)
        except ValueError:  # a port out of range
            origin = ""
        if not origin.startswith(("http://", "https://")) or "://:" in origin:
            raise ConfigurationError(
                f"base_url {mask_url(base_url)!r} is not an http(s) URL with a host"
                " (e.g. 'https://api.openai.com/v1')"
            )
        backend = resolve_transport(transport, self, asynchronous=asynchronous)
        key = (origin, asynchronous, backend, _running_loop() if asynchronous else None)
        with self._lock:
            self._names.setdefault(name or origin, set()).add(origin)
            client = self._clients.get(key)
            if client is None:
                limits = self.config.limits
                client = make_client(
                    backend, self.config.timeout, limits, asynchronous=asynchronous, pooled=True
                )
                self._counters[id(client)] = StatsCounter.attach(client, asynchronous)
                self._clients[key] = client
            return client

    async def get_client(
        self, name: str, base_url: str, *, transport: str | None = None
    ) -> AsyncPooledClient:
        """An async client for ``base_url`` whose stats are reported under ``name``."""
        http = self.http_client_for(base_url, asynchronous=True, transport=transport, name=name)
        return AsyncPooledClient(name, base_url, http)

    def get_sync_client(
        self, name: str, base_url: str, *, transport: str | None = None
    ) -> PooledClient:
        """A sync client for ``base_url`` whose stats are reported under ``name``."""
        http = self.http_client_for(base_url, asynchronous=False, transport=transport, name=name)
        return PooledClient(name, base_url, http)

    # ---- stats -----------------------------------------------------------------------------

    def get_stats(self, name: str | None = None) -> dict[str, dict[str, int]]:
        """``{name: {"active_connections", "idle_connections", "waiting_requests",
        "connections_created", "connections_reused", "requests"}}`` for ``name`` (or
        every name); a name the pool has not seen reports zeros."""
        names = [name] if name is not None else sorted(self._names)
        result: dict[str, dict[str, int]] = {}
        with self._lock:
            for one in names:
                origins = self._names.get(one, set())
                clients = [c for k, c in self._clients.items() if k[0] in origins]
                result[one] = host_stats(clients, self._counters)
        return result

    # ---- closing -----------------------------------------------------------------------------

    def _take_clients(self) -> list[tuple[tuple[str, bool, str, Any], Any]]:
        """The clients to close (kept for their stats: created and reused stay known)."""
        with self._lock:
            self.closed = True
            return list(self._clients.items())

    async def aclose(self) -> None:
        """Close every connection of the pool (sync and async clients); those of an
        event loop that has ended are dropped as far as they can be."""
        current = _running_loop()
        for (*_, loop), client in self._take_clients():
            closing = getattr(client, "aclose", None)
            if closing is None:
                client.close()
            elif loop is None or loop is current:
                await closing()
            elif loop.is_running():  # another thread's loop: closed there
                await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(closing(), loop))
            else:  # its loop has ended: its sockets cannot be closed properly any more
                with contextlib.suppress(RuntimeError):
                    await closing()

    def close(self) -> None:
        """Close the sync clients' connections; async ones need ``await pool.aclose()``."""
        for _, client in self._take_clients():
            if getattr(client, "aclose", None) is None:
                client.close()

    async def __aenter__(self) -> ConnectionPool:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __enter__(self) -> ConnectionPool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
