"""A wrapped transport failure carries no trace of the raw exception (R-KEYS follow-up).

``raise ... from None`` hides the raw httpx exception from printed tracebacks, but it is
still reachable as ``__context__``; a custom transport's text there may hold the URL with
``?key=``. The ailib error must have neither ``__context__`` nor ``__cause__``. Sync and
async twins, for connect, timeout, body-read failures and retried attempts.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from ailib import AiClient, AsyncAiClient
from ailib.errors import TransportError

KEY = "sk-test-ContextUnitKey0123456789a"
SECRET = "SECRET-query-value-42"
URL_WITH_KEY = f"https://h/v1?key={SECRET}"
MODES = ["sync", "async"]
FAST_RETRY = {"min_delay_ms": 1, "max_delay_ms": 1}


class _Broken(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body that breaks after its first bytes."""

    def __iter__(self) -> Iterator[bytes]:
        yield b'{"id": '
        raise httpx.ReadError(f"reset while reading {URL_WITH_KEY}")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b'{"id": '
        raise httpx.ReadError(f"reset while reading {URL_WITH_KEY}")


def connect_fails(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError(f"failed for {URL_WITH_KEY}", request=request)


def times_out(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout(f"timed out for {URL_WITH_KEY}", request=request)


def body_breaks(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "application/json"}, stream=_Broken())


def failure(mode: str, handler: Callable[[httpx.Request], httpx.Response], **options: Any) -> Any:
    """The ailib error of one chat call through ``handler``."""
    options = {"api_key": KEY, "max_retries": 0, **options}
    transport = httpx.MockTransport(handler)
    if mode == "sync":
        with (
            httpx.Client(transport=transport) as http,
            AiClient.create("openai/gpt-4o", http_client=http, **options) as client,
            pytest.raises(TransportError) as info,
        ):
            client.chat().user("hi").execute()
        return info.value

    async def run() -> Any:
        async with (
            httpx.AsyncClient(transport=transport) as http,
            await AsyncAiClient.create("openai/gpt-4o", http_client=http, **options) as client,
        ):
            with pytest.raises(TransportError) as info:
                await client.chat().user("hi").execute()
            return info.value

    return asyncio.run(run())


def assert_detached(err: TransportError) -> None:
    assert err.__context__ is None
    assert err.__cause__ is None
    assert SECRET not in "".join(traceback.format_exception(err))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("handler", "code"), [(connect_fails, "E3001"), (times_out, "E3003"), (body_breaks, "E3001")]
)
def test_wrapped_failure_has_no_context(mode: str, handler: Any, code: str) -> None:
    err = failure(mode, handler)
    assert err.code == code
    assert_detached(err)


@pytest.mark.parametrize("mode", MODES)
def test_retried_failure_has_no_context(mode: str) -> None:
    err = failure(mode, connect_fails, max_retries=2, retry_policy=FAST_RETRY)
    assert err.code == "E3001"
    assert_detached(err)


@pytest.mark.parametrize("mode", MODES)
def test_stream_open_failure_has_no_context(mode: str) -> None:
    transport = httpx.MockTransport(connect_fails)
    options: dict[str, Any] = {"api_key": KEY, "max_retries": 0}
    if mode == "sync":
        with (
            httpx.Client(transport=transport) as http,
            AiClient.create("openai/gpt-4o", http_client=http, **options) as client,
            pytest.raises(TransportError) as info,
            client.chat().user("hi").stream() as events,
        ):
            list(events)
        assert_detached(info.value)
        return

    async def run() -> Any:
        async with (
            httpx.AsyncClient(transport=transport) as http,
            await AsyncAiClient.create("openai/gpt-4o", http_client=http, **options) as client,
        ):
            with pytest.raises(TransportError) as info:
                async with client.chat().user("hi").stream() as events:
                    async for _ in events:
                        pass
            return info.value

    assert_detached(asyncio.run(run()))
