"""Proxies from the environment on every installed transport backend (httpx, httpx2,
aiohttp): HTTP_PROXY / ALL_PROXY carry the call, HTTPS_PROXY is asked for a tunnel,
NO_PROXY sends the call direct, credentials in a proxy URL go in the Proxy-Authorization
header and never into an error, and a proxy that refuses connections (or a tunnel) is
the same E3001 everywhere. A loopback forward proxy stands
between the client and the MockServer. Sync twins run on the backends with a sync
client (aiohttp is async only)."""

from __future__ import annotations

import base64
import socket
import socketserver
import threading
from collections.abc import Iterator
from importlib.util import find_spec
from urllib.parse import urlsplit

import httpx
import pytest

from ailib import AiClient, AsyncAiClient
from ailib.errors import ConfigurationError, TransportError
from ailib.testing import MockServer
from ailib.transport import ConnectionPool, PoolConfig

BACKENDS = [n for n in ("httpx", "httpx2", "aiohttp") if find_spec(n) is not None]
SYNC_BACKENDS = [n for n in BACKENDS if n != "aiohttp"]
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
SECRET = "s3cret"
PROXY_AUTH = "Basic " + base64.b64encode(f"user:{SECRET}".encode()).decode()


class _Relay(socketserver.StreamRequestHandler):
    """One client connection: one absolute-URI request, forwarded with a plain socket."""

    server: _ProxyServer

    def handle(self) -> None:
        line = self.rfile.readline(65536).decode("latin-1").rstrip("\r\n")
        headers: list[tuple[str, str]] = []
        while True:
            raw = self.rfile.readline(65536).decode("latin-1").rstrip("\r\n")
            if not raw:
                break
            name, _, value = raw.partition(":")
            headers.append((name.strip(), value.strip()))
        method, target, _ = [*line.split(" "), "", "", ""][:3]
        seen = {name.lower(): value for name, value in headers}
        self.server.seen.append({"method": method, "target": target, **seen})
        if method == "CONNECT":  # no tunnels here: every one is refused
            self.wfile.write(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")
            return
        body = self.rfile.read(int(seen.get("content-length", "0") or 0))
        parts = urlsplit(target)
        if parts.hostname != "127.0.0.1" or parts.port is None:  # only loopback targets
            self.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
            return
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        skipped = {"connection", "keep-alive", "proxy-authorization", "proxy-connection"}
        head = [f"{method} {path} HTTP/1.1"]
        head += [f"{n}: {v}" for n, v in headers if n.lower() not in skipped]
        head += ["connection: close", "", ""]
        with socket.create_connection(("127.0.0.1", parts.port), timeout=10) as upstream:
            upstream.sendall("\r\n".join(head).encode("latin-1") + body)
            self._relay_response(upstream)

    def _relay_response(self, upstream: socket.socket) -> None:
        """The upstream's response, its connection header made ``close``: one request
        per client connection."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = upstream.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = [x for x in head.split(b"\r\n") if not x.lower().startswith(b"connection:")]
        self.wfile.write(b"\r\n".join([*lines, b"connection: close", b"", b""]) + rest)
        while chunk := upstream.recv(65536):
            self.wfile.write(chunk)


class _ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    seen: list[dict[str, str]]


class ForwardProxy:
    """A loopback HTTP forward proxy in background threads; ``seen`` lists the requests
    it forwarded (``method``, absolute ``target`` and the lower-cased headers).

    Example::

        with ForwardProxy() as proxy:
            monkeypatch.setenv("HTTP_PROXY", proxy.url())
            ...
            assert proxy.seen[0]["target"].endswith("/v1/chat/completions")
    """

    def __init__(self) -> None:
        self._server = _ProxyServer(("127.0.0.1", 0), _Relay)
        self._server.seen = []
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def seen(self) -> list[dict[str, str]]:
        return self._server.seen

    def url(self, userinfo: str = "") -> str:
        return f"http://{userinfo + '@' if userinfo else ''}127.0.0.1:{self.port}"

    def __enter__(self) -> ForwardProxy:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[ForwardProxy]:
    """A running forward proxy; the proxy variables of the environment cleared."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    with ForwardProxy() as running:
        yield running


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _options(server: MockServer, backend: str) -> dict[str, object]:
    return {
        "api_key": "sk-test",
        "base_url": server.base_url("openai"),
        "transport": backend,
        "max_retries": 0,
    }


def _assert_through(proxy: ForwardProxy, server: MockServer, authorization: str | None) -> None:
    assert [(r["method"], r["target"]) for r in proxy.seen] == [
        ("POST", server.base_url("openai") + "/chat/completions")
    ]
    assert proxy.seen[0].get("proxy-authorization") == authorization
    assert proxy.seen[0]["authorization"] == "Bearer sk-test"  # the call's own header intact


def _assert_no_secret(error: BaseException) -> None:
    assert SECRET not in str(error) and SECRET not in repr(error)


# -- the proxy carries the call ---------------------------------------------------------


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
@pytest.mark.parametrize("backend", BACKENDS)
async def test_env_proxy_carries_the_call_async(
    mock_server: MockServer,
    proxy: ForwardProxy,
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
    variable: str,
) -> None:
    monkeypatch.setenv(variable, proxy.url())
    async with await AsyncAiClient.create("openai/gpt-4o", **_options(mock_server, backend)) as c:  # type: ignore[arg-type]
        answer = await c.chat().user("via proxy").execute()
    assert answer.content == "echo: via proxy"
    _assert_through(proxy, mock_server, None)


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
@pytest.mark.parametrize("backend", SYNC_BACKENDS)
def test_env_proxy_carries_the_call_sync(
    mock_server: MockServer,
    proxy: ForwardProxy,
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
    variable: str,
) -> None:
    monkeypatch.setenv(variable, proxy.url())
    with AiClient.create("openai/gpt-4o", **_options(mock_server, backend)) as client:  # type: ignore[arg-type]
        answer = client.chat().user("via proxy").execute()
    assert answer.content == "echo: via proxy"
    _assert_through(proxy, mock_server, None)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_proxy_credentials_go_in_proxy_authorization_async(
    mock_server: MockServer, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url(f"user:{SECRET}"))
    client = await AsyncAiClient.create("openai/gpt-4o", **_options(mock_server, backend))  # type: ignore[arg-type]
    async with client:
        assert SECRET not in repr(client)
        answer = await client.chat().user("hi").execute()
    assert answer.content == "echo: hi"
    _assert_through(proxy, mock_server, PROXY_AUTH)
    assert SECRET not in proxy.seen[0]["target"]


@pytest.mark.parametrize("backend", SYNC_BACKENDS)
def test_proxy_credentials_go_in_proxy_authorization_sync(
    mock_server: MockServer, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url(f"user:{SECRET}"))
    with AiClient.create("openai/gpt-4o", **_options(mock_server, backend)) as client:  # type: ignore[arg-type]
        assert SECRET not in repr(client)
        answer = client.chat().user("hi").execute()
    assert answer.content == "echo: hi"
    _assert_through(proxy, mock_server, PROXY_AUTH)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_pooled_clients_use_the_env_proxy_async(
    mock_server: MockServer, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url())
    async with ConnectionPool(PoolConfig(transport=backend)) as pool:
        client = await AsyncAiClient.create(
            "openai/gpt-4o", api_key="sk-test", base_url=mock_server.base_url("openai"), pool=pool
        )
        answer = await client.chat().user("pooled").execute()
    assert answer.content == "echo: pooled"
    _assert_through(proxy, mock_server, None)


@pytest.mark.parametrize("backend", SYNC_BACKENDS)
def test_pooled_clients_use_the_env_proxy_sync(
    mock_server: MockServer, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url())
    with ConnectionPool(PoolConfig(transport=backend)) as pool:
        client = AiClient.create(
            "openai/gpt-4o", api_key="sk-test", base_url=mock_server.base_url("openai"), pool=pool
        )
        answer = client.chat().user("pooled").execute()
    assert answer.content == "echo: pooled"
    _assert_through(proxy, mock_server, None)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_https_call_asks_the_proxy_for_a_tunnel_async(
    proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url(f"user:{SECRET}"))
    port = _closed_port()
    client = await AsyncAiClient.create(
        "openai/gpt-4o",
        api_key="sk-test",
        base_url=f"https://127.0.0.1:{port}/v1",
        transport=backend,
        max_retries=0,
    )
    async with client:
        with pytest.raises(TransportError) as info:  # the proxy refuses every tunnel
            await client.chat().user("q").execute()
    assert info.value.code == "E3001"
    _assert_no_secret(info.value)
    assert [(r["method"], r["target"], r["proxy-authorization"]) for r in proxy.seen] == [
        ("CONNECT", f"127.0.0.1:{port}", PROXY_AUTH)
    ]


@pytest.mark.parametrize("backend", SYNC_BACKENDS)
def test_https_call_asks_the_proxy_for_a_tunnel_sync(
    proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url(f"user:{SECRET}"))
    port = _closed_port()
    client = AiClient.create(
        "openai/gpt-4o",
        api_key="sk-test",
        base_url=f"https://127.0.0.1:{port}/v1",
        transport=backend,
        max_retries=0,
    )
    with client, pytest.raises(TransportError) as info:  # the proxy refuses every tunnel
        client.chat().user("q").execute()
    assert info.value.code == "E3001"
    _assert_no_secret(info.value)
    assert [(r["method"], r["target"], r["proxy-authorization"]) for r in proxy.seen] == [
        ("CONNECT", f"127.0.0.1:{port}", PROXY_AUTH)
    ]


# -- NO_PROXY: direct --------------------------------------------------------------------


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "localhost,127.0.0.1", "*"])
@pytest.mark.parametrize("backend", BACKENDS)
async def test_no_proxy_goes_direct_async(
    mock_server: MockServer,
    proxy: ForwardProxy,
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
    no_proxy: str,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url())
    monkeypatch.setenv("NO_PROXY", no_proxy)
    async with await AsyncAiClient.create("openai/gpt-4o", **_options(mock_server, backend)) as c:  # type: ignore[arg-type]
        answer = await c.chat().user("direct").execute()
    assert answer.content == "echo: direct"
    assert proxy.seen == []


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "localhost,127.0.0.1", "*"])
@pytest.mark.parametrize("backend", SYNC_BACKENDS)
def test_no_proxy_goes_direct_sync(
    mock_server: MockServer,
    proxy: ForwardProxy,
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
    no_proxy: str,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url())
    monkeypatch.setenv("NO_PROXY", no_proxy)
    with AiClient.create("openai/gpt-4o", **_options(mock_server, backend)) as client:  # type: ignore[arg-type]
        answer = client.chat().user("direct").execute()
    assert answer.content == "echo: direct"
    assert proxy.seen == []


# -- a proxy that refuses connections ------------------------------------------------------


@pytest.mark.parametrize("userinfo", ["", f"user:{SECRET}"])
@pytest.mark.parametrize("backend", BACKENDS)
async def test_refused_proxy_is_e3001_async(
    mock_server: MockServer,
    proxy: ForwardProxy,
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
    userinfo: str,
) -> None:
    at = f"{userinfo}@" if userinfo else ""
    monkeypatch.setenv("HTTP_PROXY", f"http://{at}127.0.0.1:{_closed_port()}")
    async with await AsyncAiClient.create("openai/gpt-4o", **_options(mock_server, backend)) as c:  # type: ignore[arg-type]
        with pytest.raises(TransportError) as info:
            await c.chat().user("q").execute()
    assert info.value.code == "E3001"
    assert "connection to 127.0.0.1" in str(info.value)
    _assert_no_secret(info.value)
    assert mock_server.requests == []


@pytest.mark.parametrize("userinfo", ["", f"user:{SECRET}"])
@pytest.mark.parametrize("backend", SYNC_BACKENDS)
def test_refused_proxy_is_e3001_sync(
    mock_server: MockServer,
    proxy: ForwardProxy,
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
    userinfo: str,
) -> None:
    at = f"{userinfo}@" if userinfo else ""
    monkeypatch.setenv("HTTP_PROXY", f"http://{at}127.0.0.1:{_closed_port()}")
    client = AiClient.create("openai/gpt-4o", **_options(mock_server, backend))  # type: ignore[arg-type]
    with client, pytest.raises(TransportError) as info:
        client.chat().user("q").execute()
    assert info.value.code == "E3001"
    assert "connection to 127.0.0.1" in str(info.value)
    _assert_no_secret(info.value)
    assert mock_server.requests == []


# -- the aiohttp backend chooses as httpx does -------------------------------------------

ENVIRONMENTS = [
    {"HTTP_PROXY": "http://p1:3128"},
    {"http_proxy": "p2:8080", "HTTP_PROXY": "http://p1:3128"},  # lower-case wins
    {"ALL_PROXY": "http://p3:1", "HTTPS_PROXY": "http://p4:2"},
    {"HTTP_PROXY": "http://p1:3128", "NO_PROXY": "example.com,10.0.0.7"},
    {"HTTP_PROXY": "http://p1:3128", "NO_PROXY": ".example.com, localhost"},
    {"ALL_PROXY": "http://p3:1", "NO_PROXY": "api.example.com:8443,::1"},
    {"HTTPS_PROXY": "http://u:pw@p5:9", "NO_PROXY": "http://example.com"},
    {"HTTP_PROXY": "http://p1:3128", "NO_PROXY": "*"},
    {},
]
URLS = [
    "http://example.com/v1",
    "https://example.com/v1",
    "https://api.example.com/v1",
    "https://api.example.com:8443/v1",
    "http://notexample.com/v1",
    "http://10.0.0.7:8080/v1",
    "http://localhost:9/v1",
    "http://[::1]:9/v1",
    "https://api.openai.com/v1",
]


def _httpx_choice(client: httpx.Client, url: str) -> str | None:
    """The proxy origin an httpx client sends ``url`` through (None: direct)."""
    transport = client._transport_for_url(httpx.URL(url))
    proxy_url = getattr(getattr(transport, "_pool", None), "_proxy_url", None)
    if proxy_url is None:
        return None
    return f"{proxy_url.scheme.decode()}://{proxy_url.host.decode()}:{proxy_url.port}"


@pytest.mark.skipif("aiohttp" not in BACKENDS, reason="aiohttp is not installed")
@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_aiohttp_chooses_the_proxy_httpx_chooses(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str]
) -> None:
    from ailib.transport._aiohttp import environment_proxies, route_for

    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    proxies = environment_proxies()
    with httpx.Client() as reference:
        for url in URLS:
            route = route_for(proxies, url)
            chosen = None if route is None else f"{route[0].scheme}://{route[0].authority}"
            assert chosen == _httpx_choice(reference, url), url


# -- a proxy the backend cannot use: a ConfigurationError when the client is made ---------

UNUSABLE = [
    f"ftp://user:{SECRET}@127.0.0.1:21",
    f"socks5://user:{SECRET}@127.0.0.1:1080",
    # passwords a URL pattern cannot mask: a space, a quote, a slash read as the port
    f"socks5://user:{SECRET} x@127.0.0.1:1080",
    f"ftp://user:{SECRET}'x@127.0.0.1:21",
    f"http://user:{SECRET}/x@127.0.0.1:3128",
]


def _cannot_use(backend: str, proxy_url: str) -> bool:
    """Whether ``backend`` refuses ``proxy_url`` (httpx and httpx2 take SOCKS with socksio)."""
    return not proxy_url.startswith("socks") or backend == "aiohttp" or not find_spec("socksio")


@pytest.mark.parametrize("proxy_url", UNUSABLE)
@pytest.mark.parametrize("backend", BACKENDS)
async def test_unusable_env_proxy_is_a_configuration_error_async(
    proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch, backend: str, proxy_url: str
) -> None:
    if not _cannot_use(backend, proxy_url):
        pytest.skip(f"{backend} uses SOCKS proxies with socksio installed")
    monkeypatch.setenv("ALL_PROXY", proxy_url)
    with pytest.raises(ConfigurationError) as info:
        await AsyncAiClient.create(
            "openai/gpt-4o", api_key="sk-test", base_url="http://127.0.0.1:9/v1", transport=backend
        )
    assert "NO_PROXY" in str(info.value)
    _assert_no_secret(info.value)


@pytest.mark.parametrize("proxy_url", UNUSABLE)
@pytest.mark.parametrize("backend", SYNC_BACKENDS)
def test_unusable_env_proxy_is_a_configuration_error_sync(
    proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch, backend: str, proxy_url: str
) -> None:
    if not _cannot_use(backend, proxy_url):
        pytest.skip(f"{backend} uses SOCKS proxies with socksio installed")
    monkeypatch.setenv("ALL_PROXY", proxy_url)
    with pytest.raises(ConfigurationError) as info:
        AiClient.create(
            "openai/gpt-4o", api_key="sk-test", base_url="http://127.0.0.1:9/v1", transport=backend
        )
    assert "NO_PROXY" in str(info.value)
    _assert_no_secret(info.value)
