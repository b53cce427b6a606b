"""Red-team review of the transport backends and ConnectionPool (issue 10): a careless
user and a hostile server against httpx, httpx2 and aiohttp, sync and async.

Each test here failed before its fix: a client sending through a closed pool (a raw
RuntimeError, or aiohttp silently reopening), ``pool=`` given something else (a raw
AttributeError), ``transport=`` / ``pool=`` silently ignored beside ``http_client=``,
one name's stats losing a second host, credentials in a pooled client's repr, and the
aiohttp response's ``text`` failing on a body without a charset.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from importlib.util import find_spec

import attrs
import httpx
import pytest

from ailib import AiClient, AsyncAiClient
from ailib.errors import ConfigurationError, TransportError
from ailib.testing import MockServer, Scenario
from ailib.transport import ConnectionPool, PoolConfig

KEY = "sk-test-RedTeamPoolKey0123456789abcd"
BACKENDS = [n for n in ("httpx", "httpx2", "aiohttp") if find_spec(n) is not None]
SYNC_BACKENDS = [n for n in BACKENDS if n != "aiohttp"]


def _options(server: MockServer, pool: ConnectionPool) -> dict[str, object]:
    return {"api_key": KEY, "base_url": server.base_url("openai"), "pool": pool, "max_retries": 0}


# ---- a client sending through a pool that was closed -------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
async def test_client_on_a_closed_pool_is_a_typed_error_async(
    mock_server: MockServer, backend: str
) -> None:
    pool = ConnectionPool(PoolConfig(transport=backend))
    client = await AsyncAiClient.create("openai/gpt-4o", **_options(mock_server, pool))  # type: ignore[arg-type]
    mock_server.push(Scenario(text="before"))
    assert (await client.chat().user("q").execute()).content == "before"
    await pool.aclose()
    mock_server.push(Scenario(text="after"))
    with pytest.raises(ConfigurationError, match="closed") as info:
        await client.chat().user("q").execute()
    assert not info.value.retryable
    assert KEY not in str(info.value)
    stats = pool.get_stats("openai")["openai"]
    assert stats["requests"] == 1  # nothing was sent after the pool closed


@pytest.mark.parametrize("backend", SYNC_BACKENDS)
def test_client_on_a_closed_pool_is_a_typed_error_sync(
    mock_server: MockServer, backend: str
) -> None:
    pool = ConnectionPool(PoolConfig(transport=backend))
    client = AiClient.create("openai/gpt-4o", **_options(mock_server, pool))  # type: ignore[arg-type]
    mock_server.push(Scenario(text="before"))
    assert client.chat().user("q").execute().content == "before"
    pool.close()
    mock_server.push(Scenario(text="after"))
    with pytest.raises(ConfigurationError, match="closed") as info:
        client.chat().user("q").execute()
    assert not info.value.retryable
    assert pool.get_stats("openai")["openai"]["requests"] == 1


async def test_closed_aiohttp_client_opens_no_new_session(mock_server: MockServer) -> None:
    pool = ConnectionPool(PoolConfig(transport="aiohttp"))
    pooled = await pool.get_client("openai", mock_server.base_url("openai"))
    assert (await pooled.get("/models")).status_code == 200
    session = pooled.http.session
    await pool.aclose()
    with pytest.raises(RuntimeError, match="closed"):  # as httpx says it
        await pooled.get("/models")
    assert pooled.http.is_closed and pooled.http._session is session and session.closed


# ---- careless options -------------------------------------------------------------------


async def test_pool_that_is_not_a_connection_pool_is_refused_async() -> None:
    with pytest.raises(ConfigurationError, match="ConnectionPool"):
        await AsyncAiClient.create(
            "openai/gpt-4o",
            api_key=KEY,
            base_url="http://127.0.0.1:9/v1",
            pool="shared",  # type: ignore[arg-type]
        )


def test_pool_that_is_not_a_connection_pool_is_refused_sync() -> None:
    with pytest.raises(ConfigurationError, match="ConnectionPool"):
        AiClient.create(
            "openai/gpt-4o",
            api_key=KEY,
            base_url="http://127.0.0.1:9/v1",
            pool=PoolConfig(),  # type: ignore[arg-type]
        )


@pytest.mark.parametrize("option", [{"transport": "aiohttp"}, {"pool": "pool"}])
async def test_http_client_beside_transport_or_pool_is_refused_async(
    option: dict[str, object],
) -> None:
    options = {k: ConnectionPool() if v == "pool" else v for k, v in option.items()}
    async with httpx.AsyncClient() as http:
        with pytest.raises(ConfigurationError, match="http_client") as info:
            await AsyncAiClient.create(
                "openai/gpt-4o",
                api_key=KEY,
                base_url="http://127.0.0.1:9/v1",
                http_client=http,
                **options,  # type: ignore[arg-type]
            )
    assert next(iter(option)) in str(info.value)


@pytest.mark.parametrize("option", [{"transport": "httpx2"}, {"pool": "pool"}])
def test_http_client_beside_transport_or_pool_is_refused_sync(option: dict[str, object]) -> None:
    options = {k: ConnectionPool() if v == "pool" else v for k, v in option.items()}
    with httpx.Client() as http, pytest.raises(ConfigurationError, match="http_client") as info:
        AiClient.create(
            "openai/gpt-4o",
            api_key=KEY,
            base_url="http://127.0.0.1:9/v1",
            http_client=http,
            **options,  # type: ignore[arg-type]
        )
    assert next(iter(option)) in str(info.value)


# ---- stats and reprs ----------------------------------------------------------------------


@pytest.fixture
def two_hosts() -> Iterator[tuple[MockServer, MockServer]]:
    with MockServer() as first, MockServer() as second:
        yield first, second


@pytest.mark.parametrize("backend", BACKENDS)
async def test_one_name_on_two_hosts_counts_both_async(
    two_hosts: tuple[MockServer, MockServer], backend: str
) -> None:
    first, second = two_hosts
    async with ConnectionPool(PoolConfig(transport=backend)) as pool:
        for server, calls in ((first, 1), (second, 2)):
            client = await AsyncAiClient.create("openai/gpt-4o", **_options(server, pool))  # type: ignore[arg-type]
            for _ in range(calls):
                server.push(Scenario(text="x"))
                await client.chat().user("q").execute()
        stats = pool.get_stats("openai")["openai"]
    assert stats["requests"] == 3
    assert stats["connections_created"] == 2


@pytest.mark.parametrize("backend", SYNC_BACKENDS)
def test_one_name_on_two_hosts_counts_both_sync(
    two_hosts: tuple[MockServer, MockServer], backend: str
) -> None:
    first, second = two_hosts
    with ConnectionPool(PoolConfig(transport=backend)) as pool:
        for server, calls in ((first, 1), (second, 2)):
            client = AiClient.create("openai/gpt-4o", **_options(server, pool))  # type: ignore[arg-type]
            for _ in range(calls):
                server.push(Scenario(text="x"))
                client.chat().user("q").execute()
        stats = pool.get_stats("openai")["openai"]
    assert stats["requests"] == 3 and stats["connections_created"] == 2


async def test_pooled_client_reprs_hide_credentials() -> None:
    url = "https://user:sekrit-pass-1234@h.example/v1?api_key=SEKRIT-KEY-123456789"
    pool = ConnectionPool()
    shown = repr(await pool.get_client("x", url)) + repr(pool.get_sync_client("x", url))
    shown += repr(pool)
    await pool.aclose()
    assert "sekrit-pass-1234" not in shown and "SEKRIT-KEY-123456789" not in shown
    assert "h.example" in shown


# ---- the aiohttp response's text -----------------------------------------------------------


@pytest.fixture
def plain_text_server() -> Iterator[str]:
    """Answers every request with a text/plain body without a charset, then closes."""
    sock = socket.create_server(("127.0.0.1", 0))
    body = "héllo".encode()

    def serve() -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                head = f"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {len(body)}"
                conn.sendall(head.encode() + b"\r\nconnection: close\r\n\r\n" + body)

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_pooled_text_without_charset(plain_text_server: str, backend: str) -> None:
    async with ConnectionPool(PoolConfig(transport=backend)) as pool:
        client = await pool.get_client("plain", plain_text_server)
        response = await client.get("/anything")
        assert response.text == "héllo"
    await asyncio.sleep(0)


# ---- PoolConfig values that only fail at the first request ---------------------------------


@pytest.mark.parametrize(
    "option",
    [
        {"timeout": float("nan")},
        {"timeout": float("inf")},
        {"keepalive_expiry": float("nan")},
        {"max_connections": 1.5},
        {"max_keepalive_connections": 2.5},
    ],
)
def test_pool_config_refuses_what_would_fail_later(option: dict[str, float]) -> None:
    with pytest.raises(ConfigurationError, match=next(iter(option))):
        PoolConfig(**option)  # type: ignore[arg-type]


# ---- one pool, several event loops (asyncio.run twice, a test runner's loop per test) ----


@pytest.mark.parametrize("backend", BACKENDS)
def test_pool_serves_one_event_loop_after_another(mock_server: MockServer, backend: str) -> None:
    pool = ConnectionPool(PoolConfig(transport=backend))

    async def once(text: str) -> str:
        client = await AsyncAiClient.create("openai/gpt-4o", **_options(mock_server, pool))  # type: ignore[arg-type]
        mock_server.push(Scenario(text=text))
        return (await client.chat().user("q").execute()).content

    assert asyncio.run(once("first")) == "first"
    assert asyncio.run(once("second")) == "second"  # a new loop: not the first loop's sockets
    assert pool.get_stats("openai")["openai"]["requests"] == 2
    asyncio.run(pool.aclose())  # the first loop is gone: its connections are dropped quietly
    assert pool.closed


# ---- a hostile server's junk is not copied whole into error messages -----------------------


@pytest.fixture
def junk_status_server() -> Iterator[str]:
    """Answers with a malformed status line of 5000 bytes, then closes."""
    sock = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 2x0 " + b"A" * 5000 + b"\r\n\r\n")

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    sock.close()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_malformed_answer_error_stays_short_async(
    junk_status_server: str, backend: str
) -> None:
    options = {"api_key": KEY, "base_url": junk_status_server, "max_retries": 0}
    async with await AsyncAiClient.create("openai/gpt-4o", transport=backend, **options) as client:  # type: ignore[arg-type]
        with pytest.raises(TransportError) as info:
            await client.chat().user("q").execute()
    assert info.value.code == "E3001" and len(str(info.value)) < 600


@pytest.mark.parametrize("backend", SYNC_BACKENDS)
def test_malformed_answer_error_stays_short_sync(junk_status_server: str, backend: str) -> None:
    options = {"api_key": KEY, "base_url": junk_status_server, "max_retries": 0}
    client = AiClient.create("openai/gpt-4o", transport=backend, **options)  # type: ignore[arg-type]
    with client, pytest.raises(TransportError) as info:
        client.chat().user("q").execute()
    assert info.value.code == "E3001" and len(str(info.value)) < 600


@pytest.mark.parametrize("backend", BACKENDS)
async def test_pooled_raise_for_status_carries_the_response(
    plain_text_server: str, backend: str
) -> None:
    async with ConnectionPool(PoolConfig(transport=backend)) as pool:
        client = await pool.get_client("plain", plain_text_server)
        response = await client.get("/anything")
        response.status_code = 404  # as if the server had said so
        with pytest.raises(Exception) as info:  # httpx2 raises its own class
            response.raise_for_status()
    assert type(info.value).__name__ == "HTTPStatusError"
    assert info.value.response.status_code == 404  # type: ignore[attr-defined]


# ---- a trust store that cannot be loaded (read at the first TLS handshake) ----------------


@pytest.fixture
def bad_trust_store(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """SSL_CERT_FILE naming no file, a fresh lazy TLS context, and a TCP listener to
    start a handshake with; yields its https:// base URL."""
    import ailib.transport.tls as tls

    monkeypatch.setenv("SSL_CERT_FILE", "/nonexistent/ailib-ca.pem")
    monkeypatch.setattr(tls, "_shared", None)
    sock = socket.create_server(("127.0.0.1", 0))
    sock.listen(16)
    yield f"https://127.0.0.1:{sock.getsockname()[1]}/v1"
    sock.close()


def _refused_trust_store(error: BaseException) -> None:
    assert isinstance(error, ConfigurationError), repr(error)
    assert "SSL_CERT_FILE" in str(error) and not error.retryable


@pytest.mark.parametrize("backend", BACKENDS)
async def test_unloadable_trust_store_is_a_configuration_error_async(
    bad_trust_store: str, backend: str
) -> None:
    options = {"api_key": KEY, "base_url": bad_trust_store, "max_retries": 2}
    async with await AsyncAiClient.create("openai/gpt-4o", transport=backend, **options) as client:  # type: ignore[arg-type]
        with pytest.raises(Exception) as info:  # the typed error, checked below
            await client.chat().user("q").execute()
    _refused_trust_store(info.value)


@pytest.mark.parametrize("backend", SYNC_BACKENDS)
def test_unloadable_trust_store_is_a_configuration_error_sync(
    bad_trust_store: str, backend: str
) -> None:
    options = {"api_key": KEY, "base_url": bad_trust_store, "max_retries": 2}
    client = AiClient.create("openai/gpt-4o", transport=backend, **options)  # type: ignore[arg-type]
    with client, pytest.raises(Exception) as info:  # the typed error, checked below
        client.chat().user("q").execute()
    _refused_trust_store(info.value)


# ---- a provider's Set-Cookie (a load balancer's affinity) on every backend -----------------


@pytest.fixture
def cookie_server() -> Iterator[tuple[str, list[bytes]]]:
    """Sets ``affinity=node-7`` on every answer; yields its URL and each request's head."""
    sock = socket.create_server(("127.0.0.1", 0))
    heads: list[bytes] = []
    body = (
        b'{"id":"c1","object":"chat.completion","model":"gpt-4o","choices":[{"index":0,'
        b'"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}'
    )

    def serve() -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                heads.append(data.partition(b"\r\n\r\n")[0].lower())
                head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n"
                head += (
                    f"set-cookie: affinity=node-7; Path=/\r\ncontent-length: {len(body)}\r\n\r\n"
                )
                conn.sendall(head.encode() + body)

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1", heads
    sock.close()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_provider_cookie_is_sent_back_async(
    cookie_server: tuple[str, list[bytes]], backend: str
) -> None:
    url, heads = cookie_server
    options = {"api_key": KEY, "base_url": url, "max_retries": 0, "transport": backend}
    async with await AsyncAiClient.create("openai/gpt-4o", **options) as client:  # type: ignore[arg-type]
        for _ in range(2):
            assert (await client.chat().user("q").execute()).content == "hi"
    assert b"cookie: affinity=node-7" not in heads[0]
    assert b"cookie: affinity=node-7" in heads[1]


@pytest.mark.parametrize("backend", SYNC_BACKENDS)
def test_provider_cookie_is_sent_back_sync(
    cookie_server: tuple[str, list[bytes]], backend: str
) -> None:
    url, heads = cookie_server
    options = {"api_key": KEY, "base_url": url, "max_retries": 0, "transport": backend}
    with AiClient.create("openai/gpt-4o", **options) as client:  # type: ignore[arg-type]
        for _ in range(2):
            assert client.chat().user("q").execute().content == "hi"
    assert b"cookie: affinity=node-7" in heads[1]


@pytest.mark.parametrize(
    "base_url",
    ["api.openai.com", "", "ftp://h.example/v1", "https:///v1", "http://h.example:99999/v1"],
)
async def test_get_client_refuses_a_base_url_without_scheme_or_host(base_url: str) -> None:
    async with ConnectionPool() as pool:
        with pytest.raises(ConfigurationError, match="base_url"):
            await pool.get_client("openai", base_url)
        with pytest.raises(ConfigurationError, match="base_url"):
            pool.get_sync_client("openai", base_url)
        assert pool.get_stats() == {}


# ---- a client's own timeout= wins over its pool's ------------------------------------------


def _slow_answer(server: MockServer) -> PoolConfig:
    server.push(Scenario(text="slow but in time", delay=1.0))
    return PoolConfig(timeout=0.3)  # shorter than the answer takes


@pytest.mark.parametrize("backend", BACKENDS)
async def test_client_timeout_wins_over_the_pools_async(
    mock_server: MockServer, backend: str
) -> None:
    config = attrs.evolve(_slow_answer(mock_server), transport=backend)
    async with ConnectionPool(config) as pool:
        options = {**_options(mock_server, pool), "timeout": 30.0}
        client = await AsyncAiClient.create("openai/gpt-4o", **options)  # type: ignore[arg-type]
        assert (await client.chat().user("q").execute()).content == "slow but in time"


@pytest.mark.parametrize("backend", SYNC_BACKENDS)
def test_client_timeout_wins_over_the_pools_sync(mock_server: MockServer, backend: str) -> None:
    config = attrs.evolve(_slow_answer(mock_server), transport=backend)
    with ConnectionPool(config) as pool:
        options = {**_options(mock_server, pool), "timeout": 30.0}
        client = AiClient.create("openai/gpt-4o", **options)  # type: ignore[arg-type]
        assert client.chat().user("q").execute().content == "slow but in time"
