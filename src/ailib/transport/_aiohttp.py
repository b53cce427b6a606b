"""The aiohttp backend: an ``aiohttp.ClientSession`` behind the httpx-like seam.

:class:`AiohttpClient` offers what the async engine uses of an ``httpx.AsyncClient``:
``build_request`` (an ``httpx.Request``, so redirects and signing work unchanged),
``send(request, stream=True)``, ``timeout``, ``aclose``; its responses have
``status_code``, ``headers`` (an ``httpx.Headers`` that reads aiohttp's parse of them:
:mod:`ailib.transport._aiohttp_headers`), ``aiter_raw`` (the body as it came
off the wire: aiohttp's own decompression is off, ailib inflates within bounds),
``aiter_bytes``, ``aread`` and ``aclose`` (a body not read to its end closes the
connection at once; a finished one goes back to the pool). Redirects are never followed
here. aiohttp's exceptions become httpx's (``ConnectError``, ``ReadTimeout``,
``RemoteProtocolError``...), so the engine classifies them into the same ailib errors
as with every other backend.

Proxies from the environment apply as on httpx: when the client is made, ``HTTP_PROXY``,
``HTTPS_PROXY``, ``ALL_PROXY`` and ``NO_PROXY`` (lower-case wins, as everywhere) are read
by httpx's own reading of them (so both backends choose the same proxy, or none, for
every URL), and each request is given its proxy; credentials in a proxy URL travel only
in the ``Proxy-Authorization`` header, never in a URL, error or repr. aiohttp's own
``trust_env`` stays off: it would also send ``~/.netrc`` credentials to providers as
``Authorization`` (which httpx does not do, and which clashes with an API key's
header) and look the environment up in a thread on every request. A proxy URL of an
unknown scheme is a ConfigurationError when the client is made, as on httpx. What
differs: a SOCKS proxy (``socks5://``), which httpx and httpx2 use once ``socksio`` is
installed (``httpx[socks]``), is always a ConfigurationError here (aiohttp has no SOCKS
support; nothing is silently sent direct); and aiohttp's error texts, kept in an E3001's
message, name the proxy (without its credentials) where httpx's do not.

Example::

    client = AiohttpClient(timeout={"connect": 5, "read": 60, "write": 60, "pool": 60},
                           limits=PoolLimits(), tls=shared_tls_context())
    response = await client.post("http://127.0.0.1:8080/v1/chat/completions", json=payload)
"""

from __future__ import annotations

import asyncio
import base64
import json as jsonlib
import ssl
import zlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import aiohttp
import httpx
from multidict import CIMultiDict
from yarl import URL

from ailib.errors import ConfigurationError
from ailib.runtime.redact import mask_url
from ailib.transport._aiohttp_headers import response_headers

if TYPE_CHECKING:
    from ailib.transport.backends import PoolLimits

__all__ = ["AiohttpClient", "AiohttpResponse"]

#: largest piece of body read at once
READ_SIZE = 64 * 1024
#: a connect timeout (aiohttp 3.10+; before, a ServerTimeoutError like a read timeout)
_CONNECT_TIMEOUT: type[BaseException] = getattr(
    aiohttp, "ConnectionTimeoutError", aiohttp.ServerTimeoutError
)


#: a request's proxy: the proxy URL without credentials, and its credentials as a
#: ``Proxy-Authorization`` header (or None)
Route = tuple[URL, dict[str, str] | None]


def _proxy_route(text: str, pattern: str = "") -> Route:
    """The route through proxy ``text`` (an environment value as httpx reads it, for the
    URLs ``pattern`` matches): the credentials it holds move to a ``Proxy-Authorization``
    header. Errors never show the value (it may hold a password in any form)."""
    where = f"the proxy from the environment for {pattern or 'these'} URLs"
    hint = "correct HTTP_PROXY / HTTPS_PROXY / ALL_PROXY, or leave the host out with NO_PROXY"
    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, ValueError):
        raise ConfigurationError(f"{where} is not a valid URL: {hint}") from None
    if url.scheme not in ("http", "https"):
        if url.scheme.startswith("socks"):
            raise ConfigurationError(
                f"{where} is a SOCKS proxy, which the aiohttp transport cannot use: use "
                "transport='httpx' (pip install 'httpx[socks]'), or leave the host out with "
                "NO_PROXY"
            )
        raise ConfigurationError(f"{where} is not an http:// or https:// proxy URL: {hint}")
    headers = None
    if url.username or url.password:
        pair = f"{url.username}:{url.password}".encode()
        headers = {"Proxy-Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
        url = url.copy_with(username=None, password=None)
    try:
        return URL(str(url), encoded=True), headers
    except ValueError:  # e.g. a port out of range
        raise ConfigurationError(f"{where} is not a valid URL: {hint}") from None


def environment_proxies() -> list[tuple[Any, Route | None]]:
    """The proxy environment as an httpx client reads it when it is made: (URL pattern,
    its route or None for a direct connection), the most specific pattern first.

    httpx's own helpers (``httpx._utils``) read it, so that the two backends cannot
    disagree on a URL (``tests/e2e/test_proxy_env.py`` checks the choice against an
    httpx client's)."""
    from httpx._utils import URLPattern, get_environment_proxies

    found = [
        (URLPattern(key), None if value is None else _proxy_route(value, key))
        for key, value in get_environment_proxies().items()
    ]
    found.sort(key=lambda pair: pair[0].priority)  # stable: as httpx sorts its mounts
    return found


def route_for(proxies: list[tuple[Any, Route | None]], url: str) -> Route | None:
    """The proxy route for ``url`` (None: connect directly), as httpx chooses it."""
    target = httpx.URL(url)
    for pattern, route in proxies:
        if pattern.matches(target):
            return route
    return None


def _as_httpx(exc: BaseException, request: Any, *, body: bool) -> httpx.HTTPError:
    """The httpx exception that means what aiohttp's ``exc`` means."""
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, aiohttp.InvalidURL):
        return httpx.InvalidURL(text)  # type: ignore[return-value]
    if isinstance(exc, _CONNECT_TIMEOUT):
        return httpx.ConnectTimeout(text, request=request)
    if isinstance(exc, asyncio.TimeoutError):  # ServerTimeoutError, SocketTimeoutError
        return httpx.ReadTimeout(text, request=request)
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ServerDisconnectedError):
        return httpx.RemoteProtocolError(text, request=request)
    if isinstance(exc, aiohttp.ClientResponseError):  # a malformed status line or header
        return httpx.RemoteProtocolError(text, request=request)
    if isinstance(exc, aiohttp.ClientConnectorError | ssl.SSLError) and not body:
        return httpx.ConnectError(text, request=request)
    return httpx.ReadError(text, request=request) if body else httpx.ConnectError(text)


class AiohttpRequest:
    """A request to send: what the engine and its redirect and error code read of one
    (``method``, ``url``, ``headers``, ``content``, ``extensions``); cheaper than an
    ``httpx.Request``, whose URL and headers are parsed again by aiohttp anyway."""

    __slots__ = ("content", "extensions", "headers", "method", "url")

    def __init__(
        self,
        method: str,
        url: Any,
        *,
        headers: Any = None,
        content: bytes | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> None:
        self.method = method
        self.url = url  # a str (or httpx.URL) as given: aiohttp parses it
        self.headers = headers if headers is not None else {}
        self.content = content or b""
        self.extensions = extensions if extensions is not None else {}

    def __repr__(self) -> str:
        return f"<AiohttpRequest({self.method!r})>"


class AiohttpResponse:
    """One response of :class:`AiohttpClient`, with the httpx surface the engine reads."""

    def __init__(self, raw: aiohttp.ClientResponse, request: AiohttpRequest) -> None:
        self._raw = raw
        self.request = request
        self.status_code = raw.status
        self.headers = response_headers(raw)  # an httpx.Headers
        self.num_bytes_downloaded = 0
        self.is_stream_consumed = False
        self._content: bytes | None = None

    def __repr__(self) -> str:
        return f"<AiohttpResponse [{self.status_code}]>"

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        """The body as sent (content coding not undone), in pieces of at most 64 KiB."""
        if self.is_stream_consumed:
            raise httpx.StreamConsumed()
        self.is_stream_consumed = True
        content = self._raw.content
        try:
            while True:
                chunk = await content.read(READ_SIZE)
                if not chunk:
                    break
                self.num_bytes_downloaded += len(chunk)
                yield chunk
                if content.at_eof() and content.exception() is None:
                    break  # all read: no further read() just to be told so
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            failure = _as_httpx(exc, self.request, body=True)
        else:
            self._raw.release()  # read to its end: the connection goes back to the pool
            return
        self._raw.close()
        raise failure

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        """The body with gzip/deflate undone (other codings are refused)."""
        coding = self.headers.get("content-encoding", "identity").strip().lower()
        if coding in ("", "identity"):
            async for chunk in self.aiter_raw():
                yield chunk
            return
        if coding not in ("gzip", "x-gzip", "deflate"):
            raise httpx.DecodingError(f"the aiohttp transport does not decode {coding!r}")
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib header
        async for chunk in self.aiter_raw():
            try:
                piece = inflater.decompress(chunk)
            except zlib.error as exc:
                raise httpx.DecodingError(str(exc)) from None
            if piece:
                yield piece
        rest = inflater.flush()
        if rest:
            yield rest

    async def aread(self) -> bytes:
        """The whole body (decoded), read once and kept."""
        if self._content is None:
            self._content = b"".join([piece async for piece in self.aiter_bytes()])
        return self._content

    @property
    def content(self) -> bytes:
        if self._content is None:
            raise httpx.ResponseNotRead()
        return self._content

    @property
    def text(self) -> str:
        """The body decoded by the Content-Type's charset (unknown or none: UTF-8)."""
        try:
            return self.content.decode(self._raw.charset or "utf-8", "replace")
        except LookupError:  # a charset Python does not know
            return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return jsonlib.loads(self.content)

    def raise_for_status(self) -> AiohttpResponse:
        if self.status_code >= 400:
            raise httpx.HTTPStatusError(
                f"HTTP {self.status_code} for {mask_url(str(self.request.url))}",
                request=None,  # type: ignore[arg-type]
                response=self,  # type: ignore[arg-type]
            )
        return self

    async def aclose(self) -> None:
        """Done with the response: an unread body closes the connection now."""
        if self._raw.content.at_eof() and not self._raw.content.exception():
            self._raw.release()
        else:
            self._raw.close()


class AiohttpClient:
    """An httpx-like async client over one ``aiohttp.ClientSession`` (made on first use).

    Example::

        client = AiohttpClient(timeout={"connect": 5.0, "read": 60.0, "write": 60.0,
                                        "pool": 60.0}, limits=PoolLimits(), tls=ctx)
        response = await client.send(client.build_request("POST", url, content=b"{}"),
                                     stream=True)
    """

    #: where the engine finds the exceptions this client raises
    exceptions_from = "httpx"
    follow_redirects = False
    max_redirects = 20
    #: False for a ConnectionPool's client (shared by many API keys): no cookie is kept
    keep_cookies = True

    def __init__(
        self,
        *,
        timeout: dict[str, float | None],
        limits: PoolLimits,
        tls: Any,
        count_connections: bool = False,
    ) -> None:
        self.timeout = httpx.Timeout(**timeout)
        self.limits = limits
        self._tls = tls
        self._session: aiohttp.ClientSession | None = None
        self.is_closed = False  # after aclose(): no new session is opened
        self._timeouts: dict[tuple[Any, ...], aiohttp.ClientTimeout] = {}
        self._urls: dict[str, tuple[URL, Route | None]] = {}  # parsed once: few URLs
        self._proxies = environment_proxies()  # read once, as an httpx client does
        self.created = 0  # connections opened and reused (counted for a ConnectionPool:
        self.reused = 0  # aiohttp's trace signals cost time on every request)
        self._traces: list[aiohttp.TraceConfig] = []
        if count_connections:
            trace = aiohttp.TraceConfig()
            trace.on_connection_create_end.append(self._on_created)
            trace.on_connection_reuseconn.append(self._on_reused)
            self._traces.append(trace)

    def __repr__(self) -> str:
        return f"AiohttpClient(limits={self.limits!r})"

    async def _on_created(self, *_: Any) -> None:
        self.created += 1

    async def _on_reused(self, *_: Any) -> None:
        self.reused += 1

    @property
    def session(self) -> aiohttp.ClientSession:
        """The session (created inside the running event loop on first use)."""
        if self.is_closed:  # as httpx says it: the engine makes it a ConfigurationError
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        if self._session is None or self._session.closed:
            limits = self.limits
            connector = aiohttp.TCPConnector(
                limit=limits.max_connections or 0,
                limit_per_host=0,
                keepalive_timeout=limits.keepalive_expiry or 0.0,
                ssl=self._tls,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=False,  # ailib inflates, in bounded pieces
                cookie_jar=(  # kept for IP hosts too, like httpx; none if shared by many keys
                    aiohttp.CookieJar(unsafe=True)
                    if self.keep_cookies
                    else aiohttp.DummyCookieJar()
                ),
                timeout=self._client_timeout(self.timeout),
                trace_configs=self._traces or None,
                trust_env=False,  # proxies as httpx reads them (above); no ~/.netrc
                # every request carries this User-Agent (or the caller's), so aiohttp never
                # adds its own: no skip_auto_headers, which costs a sort and two multidict
                # copies per request
                headers={"user-agent": f"ailib (aiohttp/{aiohttp.__version__})"},
            )
        return self._session

    def connector(self) -> aiohttp.BaseConnector | None:
        """The session's connector (None before the first request)."""
        return None if self._session is None else self._session.connector

    def _client_timeout(self, timeout: httpx.Timeout) -> aiohttp.ClientTimeout:
        key = (timeout.connect, timeout.read, timeout.pool)
        found = self._timeouts.get(key)
        if found is None:
            connect, read, pool = key
            waits = [v for v in (connect, pool) if v is not None]
            found = aiohttp.ClientTimeout(
                total=None,
                connect=sum(waits) if waits else None,  # a pool slot, then the connection
                sock_connect=connect,
                sock_read=read,
            )
            self._timeouts[key] = found
        return found

    def _target(self, text: str) -> tuple[URL, Route | None]:
        """``text`` parsed, and the proxy route to it (None: direct)."""
        found = self._urls.get(text)
        if found is None:
            route = route_for(self._proxies, text) if self._proxies else None
            found = (URL(text, encoded=True), route)
            if len(self._urls) < 256:
                self._urls[text] = found
        return found

    def build_request(
        self,
        method: str,
        url: Any,
        *,
        content: bytes | None = None,
        json: Any = None,
        headers: Any = None,
        timeout: Any = None,
    ) -> AiohttpRequest:
        """The request to :meth:`send` (``extensions["timeout"]`` carries ``timeout``)."""
        if json is not None:
            content = jsonlib.dumps(json, ensure_ascii=False, separators=(",", ":")).encode()
            headers = {**(headers or {}), "content-type": "application/json"}
        if timeout is not None and not isinstance(timeout, httpx.Timeout):
            timeout = httpx.Timeout(timeout)
        extensions = {} if timeout is None else {"timeout": timeout}
        return AiohttpRequest(method, url, headers=headers, content=content, extensions=extensions)

    async def send(
        self, request: AiohttpRequest, *, stream: bool = False, follow_redirects: bool = False
    ) -> AiohttpResponse:
        """Send ``request``; with ``stream=True`` the body is left to read. Redirects are
        never followed here (ailib follows them itself)."""
        session = self.session
        timeout = self._client_timeout(request.extensions.get("timeout", self.timeout))
        url, route = self._target(str(request.url))
        headers, proxy, proxy_headers = request.headers, None, None
        if route is not None:
            proxy, credentials = route
            if credentials is not None and url.scheme == "https":
                proxy_headers = credentials  # in the CONNECT request to the proxy
            elif credentials is not None:  # a request the proxy forwards carries them
                headers = CIMultiDict(headers)  # (aiohttp sends proxy_headers only
                headers.update(credentials)  # with a CONNECT)
        try:
            raw = await session.request(
                request.method,
                url,
                data=request.content or None,
                headers=headers,
                allow_redirects=False,
                timeout=timeout,
                proxy=proxy,
                proxy_headers=proxy_headers,
            )
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError) as exc:
            failure = _as_httpx(exc, request, body=False)
        else:
            response = AiohttpResponse(raw, request)
            if not stream:
                try:
                    await response.aread()
                finally:
                    await response.aclose()
            return response
        raise failure

    async def request(self, method: str, url: Any, **kwargs: Any) -> AiohttpResponse:
        """Send and read a whole response (``json=``, ``content=``, ``headers=``)."""
        return await self.send(self.build_request(method, url, **kwargs))

    async def post(self, url: Any, **kwargs: Any) -> AiohttpResponse:
        return await self.request("POST", url, **kwargs)

    async def get(self, url: Any, **kwargs: Any) -> AiohttpResponse:
        return await self.request("GET", url, **kwargs)

    async def aclose(self) -> None:
        """Close the session and its connections (for good: later sends raise)."""
        self.is_closed = True
        if self._session is not None and not self._session.closed:
            await self._session.close()
