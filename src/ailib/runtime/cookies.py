"""Cookies of ailib's own HTTP clients: parsed only when a response sets one.

httpx hands every response to ``http.cookiejar`` (a ``urllib`` request and response
wrapper each, the URL parsed again), about 15 µs a call even when the response sets no
cookie, which LLM APIs rarely do. The jar of a client ailib creates is swapped for
:class:`SetCookieOnly`, which skips that work unless a ``Set-Cookie`` header came back:
cookies a provider does set (a load balancer's affinity cookie) are kept and sent back
exactly as before. A client passed as ``http_client=`` is left as it is.

Example::

    client = skip_idle_cookie_parsing(httpx.Client())
"""

from __future__ import annotations

from typing import Any, TypeVar

import httpx

C = TypeVar("C")


class SetCookieOnly(httpx.Cookies):
    """A cookie jar that reads a response only when it carries ``Set-Cookie``."""

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            super().extract_cookies(response)


def skip_idle_cookie_parsing(client: C) -> C:
    """``client`` (an httpx client ailib created) with a :class:`SetCookieOnly` jar.

    httpx keeps the jar in a private attribute: if a release renames it, the client is
    returned unchanged (slower, same behaviour).
    """
    jar: Any = getattr(client, "_cookies", None)
    if type(jar) is httpx.Cookies:
        kept = SetCookieOnly()
        kept.jar = jar.jar  # the same cookies (none yet on a new client)
        client._cookies = kept  # type: ignore[attr-defined]
    return client
