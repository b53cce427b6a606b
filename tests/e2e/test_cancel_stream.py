"""CancellableStream against the loopback mock server, sync and async twins.

A slow stream (200 words, 0.05 s apart: 10 s in all) or a stalled one (30 s between
chunks) is cancelled mid-way; each test checks that the loop ends long before the stream
would, that the server sees the connection end (``MockServer.aborted_streams``), and that
the client's pool has nothing left checked out (a second call then succeeds).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from ailib import AiClient, AsyncAiClient
from ailib.client import CancellableStream, CancelReason, create_cancel_pair
from ailib.errors import CancelledError
from ailib.testing import MockServer, Scenario

WORDS = [f"w{i}" for i in range(200)]
SLOW = Scenario(text=" ".join(WORDS), chunk_delay=0.05)  # about 10 s to the end
STALLED = Scenario(text="a b c d e", chunk_delay=30)  # one chunk, then silence
PROMPT = 5.0  # seconds: a cancel must end the loop well within this (the stream takes 10+)


@pytest.fixture
def server() -> Iterator[MockServer]:
    """A server of the test's own: aborted_streams counts this test's streams only, and
    stopping it ends the stalled answers still waiting to send their next chunk."""
    with MockServer() as srv:
        yield srv


def wait_until(check: Callable[[], bool], timeout: float = PROMPT) -> bool:
    ends = time.monotonic() + timeout
    while not check():
        if time.monotonic() > ends:
            return False
        time.sleep(0.02)
    return True


async def await_until(check: Callable[[], bool], timeout: float = PROMPT) -> bool:
    ends = time.monotonic() + timeout
    while not check():
        if time.monotonic() > ends:
            return False
        await asyncio.sleep(0.02)
    return True


def read_all_within(cancellable: Any, timeout: float = PROMPT) -> list[Any]:
    """The events of a sync stream, read in a thread that must finish within ``timeout``
    (a cancel that failed to unblock the read fails here instead of hanging)."""
    events: list[Any] = []
    reader = threading.Thread(target=lambda: events.extend(cancellable), daemon=True)
    reader.start()
    reader.join(timeout)
    assert not reader.is_alive(), "the read was not cut short"
    return events


async def aread_all_within(cancellable: Any, timeout: float = PROMPT) -> list[Any]:
    """The events of an async stream, which must end within ``timeout``."""

    async def read() -> list[Any]:
        return [event async for event in cancellable]

    try:
        return await asyncio.wait_for(read(), timeout)
    except asyncio.TimeoutError:
        raise AssertionError("the read was not cut short") from None


def checked_out(http: httpx.Client | httpx.AsyncClient) -> int:
    """Requests in flight plus connections neither idle nor closed, in httpx's pool."""
    pool = http._transport._pool  # type: ignore[union-attr]
    busy = [c for c in pool.connections if not (c.is_idle() or c.is_closed())]
    return len(pool._requests) + len(busy)


def text_of(event: Any) -> str:
    return str(event.as_content_delta.content) if event.is_content_delta else ""


@pytest.fixture
def sync_client(server: MockServer) -> Iterator[tuple[AiClient, httpx.Client]]:
    http = httpx.Client()
    client = AiClient.create(
        "openai/gpt-4o", api_key="k", base_url=server.base_url("openai"), http_client=http
    )
    with http, client:
        yield client, http


@pytest.fixture
async def async_client(server: MockServer) -> Any:
    http = httpx.AsyncClient()
    client = await AsyncAiClient.create(
        "openai/gpt-4o", api_key="k", base_url=server.base_url("openai"), http_client=http
    )
    async with http, client:
        yield client, http


def assert_pool_free_sync(client: AiClient, http: httpx.Client, server: MockServer) -> None:
    assert checked_out(http) == 0
    server.push(Scenario(text="next call"))
    assert client.chat().user("again").execute().content == "next call"


async def assert_pool_free_async(
    client: AsyncAiClient, http: httpx.AsyncClient, server: MockServer
) -> None:
    assert await await_until(lambda: checked_out(http) == 0)
    server.push(Scenario(text="next call"))
    assert (await client.chat().user("again").execute()).content == "next call"


# ---- a cancel from elsewhere, mid-stream ---------------------------------------------------


def test_cancel_from_another_thread_mid_stream_sync(
    server: MockServer, sync_client: tuple[AiClient, httpx.Client]
) -> None:
    client, http = sync_client
    server.push(SLOW)
    token, handle = create_cancel_pair()
    cancellable = CancellableStream(client.chat().user("long").stream(), token)
    seen = ""
    cancelled_at = 0.0
    for event in cancellable:
        seen += text_of(event)
        if seen.count("w") == 3 and not cancelled_at:
            cancelled_at = time.monotonic()
            threading.Thread(target=handle.cancel, args=(CancelReason.SHUTDOWN,)).start()
    assert time.monotonic() - cancelled_at < PROMPT
    assert cancellable.cancelled and token.reason is CancelReason.SHUTDOWN
    assert 3 <= seen.count("w") < len(WORDS)
    with pytest.raises(CancelledError) as info:
        cancellable.final_response()
    err = info.value
    assert err.code == "E4002" and not err.retryable and err.reason is CancelReason.SHUTDOWN
    assert err.partial is not None and err.partial.content.startswith(seen)
    assert wait_until(lambda: server.aborted_streams == 1)  # the server saw the hang-up
    assert_pool_free_sync(client, http, server)


async def test_cancel_from_another_task_mid_stream_async(
    server: MockServer, async_client: tuple[AsyncAiClient, httpx.AsyncClient]
) -> None:
    client, http = async_client
    server.push(SLOW)
    token, handle = create_cancel_pair()
    cancellable = CancellableStream(client.chat().user("long").stream(), token)
    seen = ""
    canceller: asyncio.Task[Any] | None = None
    cancelled_at = 0.0

    async def cancel_soon() -> None:
        await asyncio.sleep(0.01)
        handle.cancel(CancelReason.SHUTDOWN)

    async def consume() -> None:
        nonlocal seen, canceller, cancelled_at
        async for event in cancellable:
            seen += text_of(event)
            if seen.count("w") == 3 and canceller is None:
                cancelled_at = time.monotonic()
                canceller = asyncio.create_task(cancel_soon())

    await asyncio.wait_for(consume(), 3 * PROMPT)  # the whole stream would take 10 s
    assert time.monotonic() - cancelled_at < PROMPT
    assert cancellable.cancelled and token.reason is CancelReason.SHUTDOWN
    assert 3 <= seen.count("w") < len(WORDS)
    with pytest.raises(CancelledError) as info:
        await cancellable.final_response()
    err = info.value
    assert err.code == "E4002" and err.reason is CancelReason.SHUTDOWN
    assert err.partial is not None and err.partial.content.startswith(seen)
    assert await await_until(lambda: server.aborted_streams == 1)
    assert cancellable.stream.context.closed_early  # the pipeline saw an early close
    await assert_pool_free_async(client, http, server)


# ---- a cancel while the loop is blocked on the next chunk ----------------------------------


def test_cancel_unblocks_a_waiting_read_sync(
    server: MockServer, sync_client: tuple[AiClient, httpx.Client]
) -> None:
    client, http = sync_client
    server.push(STALLED)
    token, handle = create_cancel_pair()
    cancellable = CancellableStream(client.chat().user("x").stream(), token)
    timer = threading.Timer(0.3, handle.cancel)
    timer.start()
    events = read_all_within(cancellable)  # blocked in a socket read until the cancel
    assert cancellable.cancelled and "".join(map(text_of, events)) in ("", "a")
    assert cancellable.stream.context.closed_early
    assert_pool_free_sync(client, http, server)


async def test_cancel_from_a_thread_unblocks_a_waiting_read_async(
    server: MockServer, async_client: tuple[AsyncAiClient, httpx.AsyncClient]
) -> None:
    client, http = async_client
    server.push(STALLED)
    token, handle = create_cancel_pair()
    cancellable = CancellableStream(client.chat().user("x").stream(), token)
    timer = threading.Timer(0.3, handle.cancel)  # another thread, another loop-less world
    timer.start()
    events = await aread_all_within(cancellable)
    assert cancellable.cancelled and "".join(map(text_of, events)) in ("", "a")
    await assert_pool_free_async(client, http, server)


# ---- break, close, with, task cancellation -------------------------------------------------


def test_break_closes_the_response_at_once_sync(
    server: MockServer, sync_client: tuple[AiClient, httpx.Client]
) -> None:
    client, http = sync_client
    server.push(SLOW)
    token, _ = create_cancel_pair()
    cancellable = CancellableStream(client.chat().user("x").stream(), token)
    for count, _event in enumerate(cancellable):
        if count == 3:
            break
    assert checked_out(http) == 0  # closed by the break itself, not later
    assert not cancellable.cancelled
    assert wait_until(lambda: server.aborted_streams == 1)
    assert_pool_free_sync(client, http, server)


async def test_break_closes_the_response_async(
    server: MockServer, async_client: tuple[AsyncAiClient, httpx.AsyncClient]
) -> None:
    client, http = async_client
    server.push(SLOW)
    token, _ = create_cancel_pair()
    cancellable = CancellableStream(client.chat().user("x").stream(), token)
    count = 0
    async for _event in cancellable:
        count += 1
        if count == 3:
            break
    # the loop finalises the abandoned generator as soon as it runs again
    assert await await_until(lambda: checked_out(http) == 0, timeout=1.0)
    assert await await_until(lambda: server.aborted_streams == 1)
    assert not cancellable.cancelled
    await assert_pool_free_async(client, http, server)


def test_close_from_another_thread_unblocks_sync(
    server: MockServer, sync_client: tuple[AiClient, httpx.Client]
) -> None:
    client, http = sync_client
    server.push(STALLED)
    token, _ = create_cancel_pair()
    cancellable = CancellableStream(client.chat().user("x").stream(), token)
    timer = threading.Timer(0.3, cancellable.close)
    timer.start()
    read_all_within(cancellable)
    assert not cancellable.cancelled and not token.is_cancelled  # closed, not cancelled
    assert_pool_free_sync(client, http, server)


async def test_aclose_from_another_task_unblocks_async(
    server: MockServer, async_client: tuple[AsyncAiClient, httpx.AsyncClient]
) -> None:
    client, http = async_client
    server.push(STALLED)
    token, _ = create_cancel_pair()
    cancellable = CancellableStream(client.chat().user("x").stream(), token)
    closer = asyncio.get_running_loop().call_later(
        0.3, lambda: asyncio.ensure_future(cancellable.aclose())
    )
    await aread_all_within(cancellable)
    assert not cancellable.cancelled and not token.is_cancelled
    closer.cancel()
    await assert_pool_free_async(client, http, server)


def test_with_block_closes_sync(
    server: MockServer, sync_client: tuple[AiClient, httpx.Client]
) -> None:
    client, http = sync_client
    server.push(SLOW)
    token, _ = create_cancel_pair()
    with CancellableStream(client.chat().user("x").stream(), token) as cancellable:
        next(iter(cancellable))
    assert checked_out(http) == 0
    assert wait_until(lambda: server.aborted_streams == 1)
    assert_pool_free_sync(client, http, server)


async def test_async_with_block_closes_async(
    server: MockServer, async_client: tuple[AsyncAiClient, httpx.AsyncClient]
) -> None:
    client, http = async_client
    server.push(SLOW)
    token, _ = create_cancel_pair()
    async with CancellableStream(client.chat().user("x").stream(), token) as cancellable:
        await cancellable.__aiter__().__anext__()
    assert checked_out(http) == 0  # aclose() waited for the close
    assert await await_until(lambda: server.aborted_streams == 1)
    await assert_pool_free_async(client, http, server)


async def test_cancelling_the_consumer_task_closes_async(
    server: MockServer, async_client: tuple[AsyncAiClient, httpx.AsyncClient]
) -> None:
    client, http = async_client
    server.push(SLOW)
    token, _ = create_cancel_pair()
    cancellable = CancellableStream(client.chat().user("x").stream(), token)
    received: list[Any] = []

    async def consume() -> None:
        async for event in cancellable:
            received.append(event)

    task = asyncio.create_task(consume())
    assert await await_until(lambda: len(received) >= 3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert checked_out(http) == 0  # closed before the task's cancellation surfaced
    assert await await_until(lambda: server.aborted_streams == 1)
    await assert_pool_free_async(client, http, server)


# ---- outcomes: before the request, during the headers, after the end ----------------------


def test_a_cancelled_token_sends_nothing_sync(
    server: MockServer, sync_client: tuple[AiClient, httpx.Client]
) -> None:
    client, _ = sync_client
    token, handle = create_cancel_pair()
    handle.cancel()
    cancellable = CancellableStream(client.chat().user("x").stream(), token)
    assert list(cancellable) == []
    assert server.requests == []  # no request was sent
    with pytest.raises(CancelledError) as info:
        cancellable.final_response()
    assert info.value.partial is None and info.value.reason is CancelReason.USER_REQUEST


async def test_a_cancelled_token_sends_nothing_async(
    server: MockServer, async_client: tuple[AsyncAiClient, httpx.AsyncClient]
) -> None:
    client, _ = async_client
    token, handle = create_cancel_pair()
    handle.cancel()
    cancellable = CancellableStream(client.chat().user("x").stream(), token)
    assert [event async for event in cancellable] == []
    assert server.requests == []
    with pytest.raises(CancelledError) as info:
        await cancellable.final_response()
    assert info.value.partial is None and info.value.reason is CancelReason.USER_REQUEST


def test_raise_on_cancel_raises_with_the_partial_sync(
    server: MockServer, sync_client: tuple[AiClient, httpx.Client]
) -> None:
    client, http = sync_client
    server.push(SLOW)
    token, handle = create_cancel_pair()
    cancellable = CancellableStream(client.chat().user("x").stream(), token, raise_on_cancel=True)
    seen = ""
    with pytest.raises(CancelledError) as info:
        for event in cancellable:
            seen += text_of(event)
            if seen.count("w") == 2:
                handle.cancel(CancelReason.TIMEOUT)
    assert info.value.reason is CancelReason.TIMEOUT
    assert info.value.partial is not None and info.value.partial.content.startswith(seen)
    assert_pool_free_sync(client, http, server)


async def test_raise_on_cancel_raises_with_the_partial_async(
    server: MockServer, async_client: tuple[AsyncAiClient, httpx.AsyncClient]
) -> None:
    client, http = async_client
    server.push(SLOW)
    token, handle = create_cancel_pair()
    cancellable = CancellableStream(client.chat().user("x").stream(), token, raise_on_cancel=True)
    seen = ""
    with pytest.raises(CancelledError) as info:
        async for event in cancellable:
            seen += text_of(event)
            if seen.count("w") == 2:
                handle.cancel(CancelReason.TIMEOUT)
    assert info.value.reason is CancelReason.TIMEOUT
    assert info.value.partial is not None and info.value.partial.content.startswith(seen)
    await assert_pool_free_async(client, http, server)


def test_a_cancel_after_the_end_changes_nothing_sync(
    server: MockServer, sync_client: tuple[AiClient, httpx.Client]
) -> None:
    client, _ = sync_client
    server.push(Scenario(text="all of it"))
    token, handle = create_cancel_pair()
    cancellable = CancellableStream(client.chat().user("x").stream(), token)
    assert "".join(map(text_of, cancellable)) == "all of it"
    handle.cancel()
    assert not cancellable.cancelled
    assert cancellable.final_response().content == "all of it"


async def test_a_cancel_after_the_end_changes_nothing_async(
    server: MockServer, async_client: tuple[AsyncAiClient, httpx.AsyncClient]
) -> None:
    client, _ = async_client
    server.push(Scenario(text="all of it"))
    token, handle = create_cancel_pair()
    cancellable = CancellableStream(client.chat().user("x").stream(), token)
    assert "".join([text_of(event) async for event in cancellable]) == "all of it"
    handle.cancel()
    assert not cancellable.cancelled
    assert (await cancellable.final_response()).content == "all of it"


def test_final_response_reads_to_the_end_unless_cancelled_sync(
    server: MockServer, sync_client: tuple[AiClient, httpx.Client]
) -> None:
    client, _ = sync_client
    server.push(Scenario(text="whole answer"))
    token, _ = create_cancel_pair()
    cancellable = CancellableStream(client.chat().user("x").stream(), token)
    assert cancellable.final_response().content == "whole answer"


async def test_final_response_reads_to_the_end_unless_cancelled_async(
    server: MockServer, async_client: tuple[AsyncAiClient, httpx.AsyncClient]
) -> None:
    client, _ = async_client
    server.push(Scenario(text="whole answer"))
    token, _ = create_cancel_pair()
    cancellable = CancellableStream(client.chat().user("x").stream(), token)
    assert (await cancellable.final_response()).content == "whole answer"


def test_a_cancel_while_the_headers_are_awaited_sync(
    server: MockServer, sync_client: tuple[AiClient, httpx.Client]
) -> None:
    """Sync: the cancel takes effect once the headers arrive; nothing is read then."""
    client, http = sync_client
    server.push(Scenario(text="late", delay=0.5))
    token, handle = create_cancel_pair()
    cancellable = CancellableStream(client.chat().user("x").stream(), token)
    threading.Timer(0.05, handle.cancel).start()
    assert list(cancellable) == []
    assert cancellable.cancelled
    assert_pool_free_sync(client, http, server)


async def test_a_cancel_while_the_headers_are_awaited_async(
    server: MockServer, async_client: tuple[AsyncAiClient, httpx.AsyncClient]
) -> None:
    """Async: the cancel stops the wait for the headers at once."""
    client, http = async_client
    server.push(Scenario(text="late", delay=20))
    token, handle = create_cancel_pair()
    cancellable = CancellableStream(client.chat().user("x").stream(), token)
    asyncio.get_running_loop().call_later(0.05, handle.cancel)
    assert await aread_all_within(cancellable) == []
    assert cancellable.cancelled
    await assert_pool_free_async(client, http, server)


def test_the_wrong_face_is_a_clear_type_error(
    sync_client: tuple[AiClient, httpx.Client],
) -> None:
    client, _ = sync_client
    cancellable = CancellableStream(client.chat().user("x").stream(), create_cancel_pair()[0])
    with pytest.raises(TypeError, match="wraps a sync ChatStream: use `for`"):
        cancellable.__aiter__()  # type: ignore[misc]


# ---- a cancel while the call is still retrying: no attempt after it (review) ----------------

BACKOFF = {"min_delay_ms": 5000, "max_delay_ms": 5000, "jitter": "none", "max_retries": 3}


def test_a_cancel_between_retries_sends_no_further_attempt_sync(server: MockServer) -> None:
    """Three 503s, 5 s apart: cancelled during the first wait, the loop ends at once (the
    wait is cut short), with no second request and no failure counted."""
    server.push(Scenario(status=503, repeat=3))
    with AiClient.create(
        "openai/gpt-4o", api_key="k", base_url=server.base_url("openai"), retry_policy=BACKOFF
    ) as client:
        token, handle = create_cancel_pair()
        cancellable = CancellableStream(client.chat().user("x").stream(), token)
        threading.Timer(0.3, handle.cancel).start()
        assert read_all_within(cancellable, timeout=3.0) == []  # not after the 5 s wait
        assert len(server.requests) == 1
        assert cancellable.stream.context.closed_early
        stats = client.get_resilience_stats()
        assert stats.failures == 0 and stats.errors_by_code == {}
        with pytest.raises(CancelledError):
            cancellable.final_response()


async def test_a_cancel_between_retries_sends_no_further_attempt_async(
    server: MockServer,
) -> None:
    server.push(Scenario(status=503, repeat=3))
    client = await AsyncAiClient.create(
        "openai/gpt-4o", api_key="k", base_url=server.base_url("openai"), retry_policy=BACKOFF
    )
    async with client:
        token, handle = create_cancel_pair()
        cancellable = CancellableStream(client.chat().user("x").stream(), token)
        threading.Timer(0.3, handle.cancel).start()  # from another thread
        assert await aread_all_within(cancellable, timeout=3.0) == []
        assert len(server.requests) == 1
        stats = client.get_resilience_stats()
        assert stats.failures == 0 and stats.errors_by_code == {}
