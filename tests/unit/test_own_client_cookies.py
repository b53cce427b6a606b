"""The clients ailib creates parse cookies only from responses that set one."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ailib import AiClient, AsyncAiClient
from ailib.runtime.cookies import SetCookieOnly, skip_idle_cookie_parsing


def _handler(seen: list[str | None]) -> Any:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("cookie"))
        if request.url.path == "/set":
            return httpx.Response(200, headers={"set-cookie": "affinity=node-7; Path=/"})
        return httpx.Response(200, json={})

    return handle


def test_cookies_set_by_a_response_are_sent_back_sync() -> None:
    seen: list[str | None] = []
    client = skip_idle_cookie_parsing(httpx.Client(transport=httpx.MockTransport(_handler(seen))))
    assert isinstance(client.cookies, SetCookieOnly)
    client.get("http://127.0.0.1:9/plain")
    client.get("http://127.0.0.1:9/set")
    client.get("http://127.0.0.1:9/after")
    assert seen == [None, None, "affinity=node-7"]


async def test_cookies_set_by_a_response_are_sent_back_async() -> None:
    seen: list[str | None] = []
    transport = httpx.MockTransport(_handler(seen))
    client = skip_idle_cookie_parsing(httpx.AsyncClient(transport=transport))
    assert isinstance(client.cookies, SetCookieOnly)
    await client.get("http://127.0.0.1:9/plain")
    await client.get("http://127.0.0.1:9/set")
    await client.get("http://127.0.0.1:9/after")
    assert seen == [None, None, "affinity=node-7"]


def test_a_response_without_set_cookie_is_not_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(
        httpx.Cookies, "extract_cookies", lambda self, response: calls.append(1), raising=True
    )
    client = skip_idle_cookie_parsing(httpx.Client(transport=httpx.MockTransport(_handler([]))))
    client.get("http://127.0.0.1:9/plain")
    assert calls == []
    client.get("http://127.0.0.1:9/set")
    assert calls == [1]


def test_a_renamed_private_jar_leaves_the_client_alone() -> None:
    class Other:
        _cookies = object()

    other = Other()
    assert skip_idle_cookie_parsing(other) is other
    assert not isinstance(other._cookies, SetCookieOnly)


def test_the_clients_ailib_creates_use_the_lazy_jar_sync() -> None:
    with AiClient.create("openai/gpt-4o", api_key="sk-test", base_url="http://127.0.0.1:9/v1") as c:
        assert isinstance(c.provider._client.cookies, SetCookieOnly)


async def test_the_clients_ailib_creates_use_the_lazy_jar_async() -> None:
    client = await AsyncAiClient.create(
        "openai/gpt-4o", api_key="sk-test", base_url="http://127.0.0.1:9/v1"
    )
    async with client:
        assert isinstance(client.provider._client.cookies, SetCookieOnly)


def test_a_users_http_client_keeps_its_own_jar() -> None:
    mine = httpx.Client()
    with AiClient.create(
        "openai/gpt-4o", api_key="sk-test", base_url="http://127.0.0.1:9/v1", http_client=mine
    ) as c:
        assert type(c.provider._client.cookies) is httpx.Cookies
