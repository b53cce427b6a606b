"""Transport backends: which HTTP package carries a client's requests, and its pool.

Three backends sit behind the same seam (``ailib.transport``): ``"httpx"`` (the default),
``"httpx2"`` (``pip install 'ailib[httpx2]'``) and ``"aiohttp"`` (``pip install
'ailib[aiohttp]'``, async clients only). The choice, first found wins: the
``transport=`` option of ``create()`` / the builder, the ``PoolConfig.transport`` of a
``pool=``, the ``AI_LIB_TRANSPORT`` environment variable, then ``"httpx"``. Every backend
raises the same ailib errors (timeouts E3003, connection failures E3001).

Example::

    client = await AsyncAiClient.create("openai/gpt-4o", transport="aiohttp")
    client = AiClient.create("openai/gpt-4o", transport="httpx2")
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from typing import Any

import attrs

from ailib.errors import ConfigurationError

__all__ = [
    "BACKENDS",
    "ENV_VAR",
    "PoolLimits",
    "check_transport_choice",
    "closed_client_error",
    "new_http_client",
    "resolve_transport",
]

#: backend name -> (module it needs, the extra that installs it)
BACKENDS: dict[str, tuple[str, str | None]] = {
    "httpx": ("httpx", None),
    "httpx2": ("httpx2", "httpx2"),
    "aiohttp": ("aiohttp", "aiohttp"),
}
ENV_VAR = "AI_LIB_TRANSPORT"
_installed: dict[str, bool] = {}


@attrs.frozen
class PoolLimits:
    """Connection limits of one client's pool (per backend client, all hosts).

    ``max_keepalive_connections`` idle connections are kept for ``keepalive_expiry``
    seconds: as many as may be open, so that up to 100 calls in flight reuse their
    connections (a TLS handshake saved each time against a real server). On the httpx
    backend that needs :mod:`ailib.transport.httpcore_pool`: httpcore 1.x otherwise opens
    a connection per request once more than ``max_keepalive_connections`` are open, and
    its pool's work grows with the square of the connections kept.

    Example::

        PoolLimits(max_connections=200, max_keepalive_connections=50)
    """

    max_connections: int | None = 100
    max_keepalive_connections: int | None = 100
    keepalive_expiry: float | None = 5.0


DEFAULT_LIMITS = PoolLimits()


#: backends without a sync client
ASYNC_ONLY = frozenset({"aiohttp"})


def resolve_transport(
    transport: object = None, pool: Any = None, *, asynchronous: bool | None = None
) -> str:
    """The backend name in force: ``transport``, else the pool's, else
    ``AI_LIB_TRANSPORT``, else ``"httpx"``; checked to be known and installed.

    ``AI_LIB_TRANSPORT`` is a process-wide preference: naming an async-only backend
    there leaves sync clients (``asynchronous=False``) on httpx. Chosen explicitly (the
    option or a pool), it makes a sync client a ConfigurationError instead."""
    origin = "transport"
    if transport is None and pool is not None:
        transport, origin = pool.config.transport, "PoolConfig.transport"
    if transport is None:
        env = os.environ.get(ENV_VAR, "").strip()
        transport, origin = (env or "httpx"), f"environment variable {ENV_VAR}"
        if asynchronous is False and transport.lower() in ASYNC_ONLY:
            transport = "httpx"
    if not isinstance(transport, str) or transport.strip().lower() not in BACKENDS:
        raise ConfigurationError(
            f"{origin} is {transport!r}: expected one of {sorted(BACKENDS)} (httpx is the default)"
        )
    name = transport.strip().lower()
    module, extra = BACKENDS[name]
    if name not in _installed:
        _installed[name] = importlib.util.find_spec(module) is not None
    if not _installed[name]:
        raise ConfigurationError(
            f"{origin} {name!r} needs the {module} package: pip install 'ailib[{extra}]'"
        )
    return name


def closed_client_error(client: Any, provider: str | None) -> ConfigurationError | None:
    """The typed error for a send through a closed http client (None: it is open), e.g.
    a client made with ``pool=`` after ``pool.close()``."""
    if getattr(client, "is_closed", False) is not True:
        return None
    return ConfigurationError(
        "this client's connections are closed (its ConnectionPool, its http_client or the "
        "client itself was closed): create a new client, or a new ConnectionPool",
        provider=provider,
    )


def check_transport_choice(http_client: Any, transport: object, pool: Any) -> None:
    """``http_client=`` beside ``transport=`` or ``pool=``: a ConfigurationError (the
    client given would be used as it is, the other option silently ignored)."""
    if http_client is None or (transport is None and pool is None):
        return
    given = "transport" if transport is not None else "pool"
    raise ConfigurationError(
        f"http_client= and {given}= both choose how requests are sent: pass one of them "
        f"(http_client is used as it is; {given}= makes ailib create the client)"
    )


def _timeout_parts(timeout: Any) -> dict[str, float | None]:
    """connect/read/write/pool seconds of a number or an httpx-style Timeout."""
    if timeout is None:
        timeout = 60.0
    if isinstance(timeout, int | float):
        value = float(timeout)
        return {"connect": value, "read": value, "write": value, "pool": value}
    return {name: getattr(timeout, name, None) for name in ("connect", "read", "write", "pool")}


def new_http_client(
    transport: object,
    timeout: Any,
    *,
    asynchronous: bool,
    pool: Any = None,
    base_url: str | None = None,
    name: str | None = None,
    limits: PoolLimits | None = None,
) -> Any:
    """A new http client of the chosen backend (or the pool's shared one for ``base_url``).

    ``timeout``: seconds or an httpx.Timeout (None: 60 s). Clients of every backend share
    one lazily loaded TLS context (:mod:`ailib.transport.tls`): an ``http://`` client
    never reads a CA bundle. ``name`` (a provider id) labels the host in the pool's stats.
    """
    if pool is not None and not callable(getattr(pool, "http_client_for", None)):
        raise ConfigurationError(
            f"pool= takes an ailib.transport.ConnectionPool, got {type(pool).__name__}"
            " (e.g. pool=ConnectionPool(PoolConfig()))"
        )
    backend = resolve_transport(transport, pool, asynchronous=asynchronous)
    if pool is not None:
        return pool.http_client_for(
            base_url or "", asynchronous=asynchronous, transport=backend, name=name
        )
    return make_client(backend, timeout, limits or DEFAULT_LIMITS, asynchronous=asynchronous)


def make_client(
    name: str, timeout: Any, limits: PoolLimits, *, asynchronous: bool, pooled: bool = False
) -> Any:
    """A client of backend ``name`` with ``limits`` and the shared lazy TLS context
    (``pooled``: a ConnectionPool's, which counts its connections and, shared by many API
    keys, keeps no cookies: see :mod:`ailib.runtime.cookies`)."""
    from ailib.runtime.cookies import KeepNoCookies, skip_idle_cookie_parsing
    from ailib.transport.tls import shared_tls_context

    parts = _timeout_parts(timeout)
    if name == "aiohttp":
        if not asynchronous:
            raise ConfigurationError(
                "transport 'aiohttp' is async only: use AsyncAiClient, or transport='httpx' "
                "/ 'httpx2' for a sync AiClient"
            )
        from ailib.transport._aiohttp import AiohttpClient

        aio = AiohttpClient(
            timeout=parts, limits=limits, tls=shared_tls_context(), count_connections=pooled
        )
        aio.keep_cookies = not pooled  # a pool's client serves many keys: it keeps none
        return aio
    if name == "httpx2":
        import httpx2 as package
    else:
        import httpx as package  # type: ignore[no-redef]
    pool_limits = package.Limits(
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
    )
    kind = _typed_proxy_errors(package.AsyncClient if asynchronous else package.Client, name)
    client = kind(
        timeout=package.Timeout(**parts),
        limits=pool_limits,
        verify=shared_tls_context(),
        cookies=KeepNoCookies() if pooled else None,  # a pool's client serves many keys
    )
    skip_idle_cookie_parsing(client)  # responses searched for cookies only when they set one
    from ailib.transport.httpcore_pool import tune_httpcore_pools

    client = tune_httpcore_pools(client)  # linear pools, asyncio sockets (httpcore, httpcore2)
    if not asynchronous:  # sync sockets end their waits by the attempt's deadline
        from ailib.runtime.deadline_io import deadline_bound

        core = importlib.import_module("httpcore2" if name == "httpx2" else "httpcore")
        client = deadline_bound(client, core)
    return client


def _typed_proxy_errors(kind: Any, name: str) -> Any:
    """``kind`` (an httpx-style client class) made so that a proxy from the environment
    it cannot use (an unknown scheme, SOCKS without ``socksio``) is a ConfigurationError
    when the client is made, as on the aiohttp backend (httpx raises a bare ValueError or
    ImportError)."""

    invalid_url: type[Exception] = importlib.import_module(name).InvalidURL

    def make(**options: Any) -> Any:
        try:
            return kind(**options)
        except (ValueError, ImportError, invalid_url) as exc:  # the text may show a password
            socks = isinstance(exc, ImportError)
            need = " (SOCKS needs pip install 'httpx[socks]')" if socks else ""
            raise ConfigurationError(
                f"transport {name!r} cannot use the proxy from the environment{need}: "
                "correct HTTP_PROXY / HTTPS_PROXY / ALL_PROXY, or leave the host out with "
                f"NO_PROXY ({type(exc).__name__})"
            ) from None

    return make
