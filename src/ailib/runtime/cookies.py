"""Cookies of ailib's own HTTP clients: kept by a client of one key, never by a shared one.

A client ailib creates for one ``AiClient`` (no ``pool=``) serves one API key: cookies
its provider sets (a load balancer's affinity cookie) are kept and sent back. httpx hands
every response to ``http.cookiejar`` (a ``urllib`` request and response wrapper each, the
URL parsed again), about 15 µs a call even when the response sets no cookie, which LLM
APIs rarely do; that client's jar is swapped for :class:`SetCookieOnly`, which skips the
work unless a ``Set-Cookie`` header came back.

A :class:`~ailib.transport.ConnectionPool`'s client is shared by every client given the
pool, whatever their API keys (tenants): a cookie set in answer to one key's request
would go out with the next key's. Its jar is a :class:`KeepNoCookies`, which stores none
(aiohttp's: ``aiohttp.DummyCookieJar``). Per-key jars would need the cookies of each
request chosen by key inside the shared client; dropping them is simpler and cannot
leak. A client passed as ``http_client=`` is left as it is: its cookies are the caller's.

Example::

    client = skip_idle_cookie_parsing(httpx.Client())      # one key: cookies kept
    shared = httpx.AsyncClient(cookies=KeepNoCookies())    # many keys: none kept
"""

from __future__ import annotations

from http.cookiejar import Cookie, CookieJar
from typing import Any, TypeVar

import httpx

__all__ = ["KeepNoCookies", "SetCookieOnly", "skip_idle_cookie_parsing"]

C = TypeVar("C")


class SetCookieOnly(httpx.Cookies):
    """A cookie jar that reads a response only when it carries ``Set-Cookie``."""

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            super().extract_cookies(response)


class KeepNoCookies(CookieJar):
    """A cookie jar that stores nothing: what a server sets is dropped unread, so a
    client shared by several API keys sends no cookie one key's answer set. Given as
    ``cookies=`` to an httpx or httpx2 client (both take a ``CookieJar``).

    Example::

        client = httpx.Client(cookies=KeepNoCookies())
        client.cookies.set("session", "x")  # dropped too: client.cookies stays empty
    """

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None  # nothing is kept, so nothing needs parsing

    def set_cookie_if_ok(self, cookie: Cookie, request: Any) -> None:
        return None

    def set_cookie(self, cookie: Cookie) -> None:
        return None


def skip_idle_cookie_parsing(client: C) -> C:
    """``client`` (an httpx client ailib created) with a :class:`SetCookieOnly` jar.

    httpx keeps the jar in a private attribute: if a release renames it, the client is
    returned unchanged (slower, same behaviour). The jar inside is kept as it is (a
    :class:`KeepNoCookies` stays one).
    """
    jar: Any = getattr(client, "_cookies", None)
    if type(jar) is httpx.Cookies:
        kept = SetCookieOnly()
        kept.jar = jar.jar  # the same cookies (none yet on a new client)
        client._cookies = kept  # type: ignore[attr-defined]
    return client
