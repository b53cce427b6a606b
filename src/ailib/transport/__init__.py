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
from typing import Any

import httpx

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
