"""Cookies never cross API keys: a ConnectionPool's shared client keeps none, on every
backend, sync and async; a client of one key (no pool) still sends back what its
provider set; a caller's ``http_client=`` keeps its own jar.

Before the fix, a ``Set-Cookie`` answering tenant A's request through a pool went out
with tenant B's next request (httpx, httpx2 and aiohttp alike).
"""

from __future__ import annotations

from importlib.util import find_spec

import httpx
import pytest

from ailib import AiClient, AsyncAiClient
from ailib.runtime.cookies import KeepNoCookies
from ailib.testing import MockServer, Scenario
from ailib.transport import ConnectionPool, PoolConfig

KEY_A = "sk-test-TenantA-0123456789abcdefghij"
KEY_B = "sk-test-TenantB-0123456789abcdefghij"
SESSION = "session=tenant-a-secret; Path=/"
BACKENDS = [n for n in ("httpx", "httpx2", "aiohttp") if find_spec(n) is not None]
SYNC_BACKENDS = [n for n in BACKENDS if n != "aiohttp"]


def _options(server: MockServer, key: str, **more: object) -> dict[str, object]:
    return {"api_key": key, "base_url": server.base_url("openai"), "max_retries": 0, **more}


def _sent(server: MockServer) -> list[tuple[str | None, str | None]]:
    """(bearer key, Cookie header) of each request the server received, in order."""
    return [
        (
            r.headers.get("authorization", "").removeprefix("Bearer ") or None,
            r.headers.get("cookie"),
        )
        for r in server.requests
    ]


def _push_tenant_turns(server: MockServer) -> None:
    """A's answer sets a session cookie; B's and A's next answers set none."""
    server.push(
        Scenario(text="for a", headers={"set-cookie": SESSION}),
        Scenario(text="for b"),
        Scenario(text="for a again"),
    )


# ---- two keys on one pool: the second never sends the first one's cookie -----------------


@pytest.mark.parametrize("backend", BACKENDS)
async def test_pooled_clients_of_two_keys_share_no_cookie_async(
    mock_server: MockServer, backend: str
) -> None:
    async with ConnectionPool(PoolConfig(transport=backend)) as pool:
        a = await AsyncAiClient.create("openai/gpt-4o", **_options(mock_server, KEY_A, pool=pool))  # type: ignore[arg-type]
        b = await AsyncAiClient.create("openai/gpt-4o", **_options(mock_server, KEY_B, pool=pool))  # type: ignore[arg-type]
        assert a.provider._client is b.provider._client  # one shared backend client
        _push_tenant_turns(mock_server)
        assert (await a.chat().user("q").execute()).content == "for a"
        assert (await b.chat().user("q").execute()).content == "for b"
        assert (await a.chat().user("q").execute()).content == "for a again"
    assert _sent(mock_server) == [(KEY_A, None), (KEY_B, None), (KEY_A, None)]


@pytest.mark.parametrize("backend", SYNC_BACKENDS)
def test_pooled_clients_of_two_keys_share_no_cookie_sync(
    mock_server: MockServer, backend: str
) -> None:
    with ConnectionPool(PoolConfig(transport=backend)) as pool:
        a = AiClient.create("openai/gpt-4o", **_options(mock_server, KEY_A, pool=pool))  # type: ignore[arg-type]
        b = AiClient.create("openai/gpt-4o", **_options(mock_server, KEY_B, pool=pool))  # type: ignore[arg-type]
        _push_tenant_turns(mock_server)
        assert a.chat().user("q").execute().content == "for a"
        assert b.chat().user("q").execute().content == "for b"
        assert a.chat().user("q").execute().content == "for a again"
    assert _sent(mock_server) == [(KEY_A, None), (KEY_B, None), (KEY_A, None)]


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_pools_raw_client_keeps_no_cookie_async(
    mock_server: MockServer, backend: str
) -> None:
    payload = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    mock_server.push(Scenario(text="one", headers={"set-cookie": SESSION}), Scenario(text="two"))
    async with ConnectionPool(PoolConfig(transport=backend)) as pool:
        client = await pool.get_client("openai", mock_server.url)
        for _ in range(2):
            response = await client.post("/v1/chat/completions", json=payload)
            assert response.status_code == 200
    assert [r.headers.get("cookie") for r in mock_server.requests] == [None, None]


@pytest.mark.parametrize("backend", SYNC_BACKENDS)
def test_a_pools_raw_client_keeps_no_cookie_sync(mock_server: MockServer, backend: str) -> None:
    payload = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    mock_server.push(Scenario(text="one", headers={"set-cookie": SESSION}), Scenario(text="two"))
    with ConnectionPool(PoolConfig(transport=backend)) as pool:
        client = pool.get_sync_client("openai", mock_server.url)
        for _ in range(2):
            assert client.post("/v1/chat/completions", json=payload).status_code == 200
        assert len(client.http.cookies) == 0  # nothing stored either
    assert [r.headers.get("cookie") for r in mock_server.requests] == [None, None]


@pytest.mark.parametrize("backend", SYNC_BACKENDS)
def test_a_pools_jar_drops_even_a_cookie_set_by_hand(backend: str) -> None:
    with ConnectionPool(PoolConfig(transport=backend)) as pool:
        http = pool.http_client_for("http://127.0.0.1:9/v1", asynchronous=False)
        assert isinstance(http.cookies.jar, KeepNoCookies)
        http.cookies.set("session", "x", domain="127.0.0.1")
        assert len(http.cookies) == 0


# ---- one key, no pool: the provider's cookie is still sent back -----------------------------


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_client_of_one_key_sends_its_cookie_back_async(
    mock_server: MockServer, backend: str
) -> None:
    mock_server.push(Scenario(text="one", headers={"set-cookie": SESSION}), Scenario(text="two"))
    options = _options(mock_server, KEY_A, transport=backend)
    async with await AsyncAiClient.create("openai/gpt-4o", **options) as client:  # type: ignore[arg-type]
        assert (await client.chat().user("q").execute()).content == "one"
        assert (await client.chat().user("q").execute()).content == "two"
    assert _sent(mock_server) == [(KEY_A, None), (KEY_A, "session=tenant-a-secret")]


@pytest.mark.parametrize("backend", SYNC_BACKENDS)
def test_a_client_of_one_key_sends_its_cookie_back_sync(
    mock_server: MockServer, backend: str
) -> None:
    mock_server.push(Scenario(text="one", headers={"set-cookie": SESSION}), Scenario(text="two"))
    options = _options(mock_server, KEY_A, transport=backend)
    with AiClient.create("openai/gpt-4o", **options) as client:  # type: ignore[arg-type]
        assert client.chat().user("q").execute().content == "one"
        assert client.chat().user("q").execute().content == "two"
    assert _sent(mock_server) == [(KEY_A, None), (KEY_A, "session=tenant-a-secret")]


# ---- the caller's http_client: its jar, its cookies ---------------------------------------


async def test_a_callers_http_client_keeps_its_cookies_async(mock_server: MockServer) -> None:
    mock_server.push(Scenario(text="one", headers={"set-cookie": SESSION}), Scenario(text="two"))
    async with httpx.AsyncClient() as mine:
        jar = mine.cookies
        options = _options(mock_server, KEY_A, http_client=mine)
        client = await AsyncAiClient.create("openai/gpt-4o", **options)  # type: ignore[arg-type]
        await client.chat().user("q").execute()
        await client.chat().user("q").execute()
        assert mine.cookies is jar and type(jar) is httpx.Cookies  # left as it was
        assert jar.get("session") == "tenant-a-secret"
    assert _sent(mock_server)[1] == (KEY_A, "session=tenant-a-secret")


def test_a_callers_http_client_keeps_its_cookies_sync(mock_server: MockServer) -> None:
    mock_server.push(Scenario(text="one", headers={"set-cookie": SESSION}), Scenario(text="two"))
    with httpx.Client() as mine:
        jar = mine.cookies
        client = AiClient.create("openai/gpt-4o", **_options(mock_server, KEY_A, http_client=mine))  # type: ignore[arg-type]
        client.chat().user("q").execute()
        client.chat().user("q").execute()
        assert mine.cookies is jar and type(jar) is httpx.Cookies
        assert jar.get("session") == "tenant-a-secret"
    assert _sent(mock_server)[1] == (KEY_A, "session=tenant-a-secret")
