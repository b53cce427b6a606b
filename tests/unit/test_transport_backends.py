"""Choosing a transport backend, its errors, and the lazy shared TLS context."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
from importlib.util import find_spec

import httpx
import pytest

from ailib import AiClient, AsyncAiClient
from ailib.errors import ConfigurationError
from ailib.transport import backends
from ailib.transport.backends import ENV_VAR, resolve_transport
from ailib.transport.pool import ConnectionPool, PoolConfig
from ailib.transport.tls import LazyTLSContext, shared_tls_context

LOCAL = "http://127.0.0.1:9"
INSTALLED = [name for name in ("httpx", "httpx2", "aiohttp") if find_spec(name) is not None]


def test_default_is_httpx(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert resolve_transport() == "httpx"


def test_explicit_wins_over_pool_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "httpx2")
    pool = ConnectionPool(PoolConfig(transport="httpx"))
    assert resolve_transport("HTTPX2 ") == "httpx2"
    assert resolve_transport(None, pool) == "httpx"  # the pool's before the environment
    assert resolve_transport(None) == "httpx2"


def test_unknown_name_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match=r"transport is 'curl': expected one of"):
        resolve_transport("curl")
    monkeypatch.setenv(ENV_VAR, "requests")
    with pytest.raises(ConfigurationError, match=f"environment variable {ENV_VAR}"):
        resolve_transport()


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(backends._installed, "aiohttp", False)
    with pytest.raises(ConfigurationError, match=r"pip install 'ailib\[aiohttp\]'"):
        resolve_transport("aiohttp")


def test_sync_client_refuses_aiohttp() -> None:
    pytest.importorskip("aiohttp")
    with pytest.raises(ConfigurationError, match="async only"):
        AiClient.create("openai/gpt-4o", api_key="k", base_url=LOCAL, transport="aiohttp")


def test_builder_transport_is_checked_when_set() -> None:
    with pytest.raises(ConfigurationError, match="expected one of"):
        AiClient.builder().transport("curl")
    with pytest.raises(ConfigurationError, match="ConnectionPool"):
        AiClient.builder().pool("not a pool")


@pytest.mark.parametrize("name", [n for n in INSTALLED if n != "aiohttp"])
def test_sync_backend_chosen(name: str) -> None:
    with AiClient.create("openai/gpt-4o", api_key="k", base_url=LOCAL, transport=name) as client:
        assert type(client._engine._client).__module__.split(".")[0] == name


@pytest.mark.parametrize("name", INSTALLED)
async def test_async_backend_chosen_by_builder(name: str) -> None:
    client = await (
        AsyncAiClient.builder().model("openai/gpt-4o").api_key("k").base_url(LOCAL).transport(name)
    ).build()
    async with client:
        module = type(client._engine._client).__module__
        assert module.startswith("ailib.transport" if name == "aiohttp" else name)


async def test_environment_picks_the_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("httpx2")
    monkeypatch.setenv(ENV_VAR, "httpx2")
    async with await AsyncAiClient.create("openai/gpt-4o", api_key="k", base_url=LOCAL) as c:
        assert type(c._engine._client).__module__.startswith("httpx2")


def test_default_pool_limits_are_the_measured_ones() -> None:
    with AiClient.create("openai/gpt-4o", api_key="k", base_url=LOCAL) as client:
        pool = client._engine._client._transport._pool
        assert pool._max_connections == backends.DEFAULT_LIMITS.max_connections
        assert pool._max_keepalive_connections == backends.DEFAULT_LIMITS.max_keepalive_connections


# ---- TLS ------------------------------------------------------------------------------------


def test_clients_share_one_tls_context() -> None:
    with (
        AiClient.create("openai/gpt-4o", api_key="k", base_url=LOCAL) as a,
        AiClient.create("openai/gpt-4o", api_key="k", base_url=LOCAL) as b,
    ):
        contexts = {id(c._engine._client._transport._pool._ssl_context) for c in (a, b)}
    assert contexts == {id(shared_tls_context())}


def test_lazy_context_loads_at_first_handshake() -> None:
    context = LazyTLSContext()
    assert not context.loaded and context.cert_store_stats()["x509_ca"] == 0
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    context.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="example.com")
    assert context.loaded and context.cert_store_stats()["x509_ca"] > 0


def test_lazy_context_honours_ssl_cert_file(monkeypatch: pytest.MonkeyPatch) -> None:
    certifi = pytest.importorskip("certifi")
    seen: list[object] = []
    monkeypatch.setenv("SSL_CERT_FILE", certifi.where())
    context = LazyTLSContext()
    original = ssl.SSLContext.load_verify_locations

    def spy(self: ssl.SSLContext, cafile: object = None, capath: object = None) -> None:
        seen.append(cafile)
        original(self, cafile, capath)  # type: ignore[arg-type]

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", spy)
    context.load_now()
    context.load_now()  # once only
    assert seen == [certifi.where()]


def test_http_client_loads_no_ca_bundle() -> None:
    """A fresh process: import, create and close a client for http:// read no CA file."""
    code = (
        "import ssl\n"
        "calls = []\n"
        "orig = ssl.SSLContext.load_verify_locations\n"
        "ssl.SSLContext.load_verify_locations = lambda s, *a, **k: (calls.append(a), orig(s, *a, **k))\n"
        "from ailib import AiClient\n"
        "c = AiClient.create('openai/gpt-4o', api_key='k', base_url='http://127.0.0.1:9')\n"
        "c.close()\n"
        "from ailib.transport.tls import shared_tls_context\n"
        "assert not shared_tls_context().loaded and calls == [], calls\n"
        "print('ok')\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_httpx_default_would_load_it() -> None:
    """The comparison the lazy context exists for: httpx's own client reads the bundle."""
    client = httpx.Client()
    try:
        context = client._transport._pool._ssl_context  # type: ignore[attr-defined]
        assert context is not None and context.cert_store_stats()["x509_ca"] > 0
    finally:
        client.close()


def test_environment_aiohttp_leaves_sync_clients_on_httpx(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("aiohttp")
    monkeypatch.setenv(ENV_VAR, "aiohttp")
    assert resolve_transport(asynchronous=True) == "aiohttp"
    assert resolve_transport(asynchronous=False) == "httpx"
    with AiClient.create("openai/gpt-4o", api_key="k", base_url=LOCAL) as client:
        assert isinstance(client._engine._client, httpx.Client)


def test_aiohttp_exceptions_become_httpx_ones() -> None:
    aiohttp = pytest.importorskip("aiohttp")
    from ailib.transport._aiohttp import AiohttpRequest, _as_httpx

    request = AiohttpRequest("POST", "http://127.0.0.1:9/v1")
    key = aiohttp.client_reqrep.ConnectionKey("127.0.0.1", 9, False, True, None, None, None)
    refused = aiohttp.ClientConnectorError(key, OSError(111, "refused"))
    cases = [
        (refused, False, httpx.ConnectError),
        (aiohttp.ServerTimeoutError("read"), True, httpx.ReadTimeout),
        (aiohttp.ServerDisconnectedError(), True, httpx.RemoteProtocolError),
        (aiohttp.ClientPayloadError("cut short"), True, httpx.RemoteProtocolError),
        (aiohttp.ClientOSError(104, "reset"), True, httpx.ReadError),
    ]
    for exc, body, expected in cases:
        assert type(_as_httpx(exc, request, body=body)) is expected, exc
    assert isinstance(_as_httpx(refused, request, body=False), httpx.TransportError)
