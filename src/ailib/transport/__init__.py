"""The transport seam: any httpx-compatible client can carry ailib's requests.

The engines use only ``build_request``, ``send(request, stream=True)`` and the response's
``status_code``, ``headers``, ``iter_bytes``/``aiter_bytes``, ``read``/``aread`` and
``close``/``aclose``; where the client has them, also ``iter_raw``/``aiter_raw`` (to
inflate gzip in bounded pieces), ``timeout``, and ``follow_redirects``/``max_redirects``
(redirects are then followed by ailib, sending with ``follow_redirects=False``).
A client from another package with the same API (for example
``httpx2``) can be passed as ``http_client=``; its timeout and transport exceptions are
found from its package, so errors are still classified.

Backends ailib creates itself: ``transport="httpx"`` (default), ``"httpx2"`` or
``"aiohttp"`` (:mod:`ailib.transport.backends`); connections shared by many clients:
:class:`~ailib.transport.pool.ConnectionPool` with a :class:`~ailib.transport.pool.PoolConfig`
(both loaded on first use).

Example::

    import httpx2
    client = AiClient.create("openai/gpt-4o", http_client=httpx2.Client())
    pool = ConnectionPool(PoolConfig.high_throughput())
    client = AiClient.create("openai/gpt-4o", pool=pool, transport="httpx2")
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from ailib.runtime.spec import ProviderSpec

__all__ = [
    "AsyncHttpClient",
    "AsyncPooledClient",
    "ConnectionPool",
    "HttpClient",
    "PoolConfig",
    "PooledClient",
    "error_classes",
    "request_signer",
    "resolve_region",
]

_LAZY = {
    "ConnectionPool": "ailib.transport.pool",
    "PoolConfig": "ailib.transport.pool",
    "PooledClient": "ailib.transport.pool",
    "AsyncPooledClient": "ailib.transport.pool",
}


def __getattr__(name: str) -> Any:
    """``ConnectionPool`` and friends, imported on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ailib.transport' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


#: Signs one request: (method, url, body, headers) -> headers to add (e.g. AWS SigV4).
Signer = Callable[[str, str, bytes, dict[str, str]], dict[str, str]]

#: The client type accepted by ``http_client=``: httpx's, or an httpx-compatible one.
HttpClient = httpx.Client | Any
AsyncHttpClient = httpx.AsyncClient | Any


def error_classes(client: Any) -> tuple[type[BaseException], type[BaseException]]:
    """(timeout exception, transport exception) of the package the client comes from
    (an adapter such as the aiohttp backend names it in ``exceptions_from``)."""
    package = getattr(client, "exceptions_from", None) or type(client).__module__.split(".")[0]
    if package == "httpx":
        return httpx.TimeoutException, httpx.TransportError
    module = importlib.import_module(package)
    timeout = getattr(module, "TimeoutException", httpx.TimeoutException)
    transport = getattr(module, "TransportError", httpx.TransportError)
    return timeout, transport


#: An AWS-style region name (``us-east-1``, ``us-gov-west-1``, ``cn-north-1``): it becomes
#: part of a host name, so nothing else (dots, slashes, ``?``, ``@``) may pass.
REGION = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?")


def _checked_region(value: str, origin: str) -> str:
    if REGION.fullmatch(value) is None:
        from ailib.errors import InvalidRequestError

        raise InvalidRequestError(
            f"{origin} is {value!r}, which is not a region name: expected 1-32 lowercase "
            "letters, digits and '-' (e.g. 'us-east-1')"
        )
    return value


def resolve_region(spec: ProviderSpec) -> str | None:
    """The region filling ``{region}`` in a base URL: environment first, then the default.

    Validated before it becomes part of a host name: a bad value is an
    InvalidRequestError (E1001) naming the variable (or the manifest) it came from.
    """
    endpoint = spec.manifest.endpoint
    for name in endpoint.get("region_env", ["AWS_REGION", "AWS_DEFAULT_REGION"]):
        value = os.environ.get(name)
        if value:
            return _checked_region(value, f"environment variable {name}")
    default = endpoint.get("default_region")
    if not default:
        return None
    return _checked_region(str(default), f"default_region of manifest {spec.manifest.source}")


def request_signer(spec: ProviderSpec, api_key: str | None) -> Signer | None:
    """The per-request signer a manifest's auth needs, or None for header/query auth."""
    auth = spec.manifest.auth
    if auth.get("type") != "aws_sigv4":
        return None
    from ailib.transport.sigv4 import signer_from_env

    signer: Signer = signer_from_env(
        service=str(auth.get("service", "bedrock")), region=resolve_region(spec), api_key=api_key
    )
    return signer
