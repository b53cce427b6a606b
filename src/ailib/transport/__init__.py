"""The transport seam: any httpx-compatible client can carry ailib's requests.

The engines use only ``build_request``, ``send(request, stream=True)`` and the response's
``status_code``, ``headers``, ``iter_bytes``/``aiter_bytes``, ``read``/``aread`` and
``close``/``aclose``. A client from another package with the same API (for example
``httpx2``) can be passed as ``http_client=``; its timeout and transport exceptions are
found from its package, so errors are still classified.

Example::

    import httpx2
    client = AiClient.create("openai/gpt-4o", http_client=httpx2.Client())
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from ailib.runtime.spec import ProviderSpec

#: Signs one request: (method, url, body, headers) -> headers to add (e.g. AWS SigV4).
Signer = Callable[[str, str, bytes, dict[str, str]], dict[str, str]]

#: The client type accepted by ``http_client=``: httpx's, or an httpx-compatible one.
HttpClient = httpx.Client | Any
AsyncHttpClient = httpx.AsyncClient | Any


def error_classes(client: Any) -> tuple[type[BaseException], type[BaseException]]:
    """(timeout exception, transport exception) of the package the client comes from."""
    package = type(client).__module__.split(".")[0]
    if package == "httpx":
        return httpx.TimeoutException, httpx.TransportError
    module = importlib.import_module(package)
    timeout = getattr(module, "TimeoutException", httpx.TimeoutException)
    transport = getattr(module, "TransportError", httpx.TransportError)
    return timeout, transport


def resolve_region(spec: ProviderSpec) -> str | None:
    """The region filling ``{region}`` in a base URL: environment first, then the default."""
    endpoint = spec.manifest.endpoint
    for name in endpoint.get("region_env", ["AWS_REGION", "AWS_DEFAULT_REGION"]):
        value = os.environ.get(name)
        if value:
            return value
    default = endpoint.get("default_region")
    return str(default) if default else None


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
