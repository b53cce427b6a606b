"""CancelToken, CancelHandle, CancelReason and the ailib.client facade, without a server."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time

import pytest

from ailib.client import (
    CancelHandle,
    CancellableStream,
    CancelReason,
    CancelToken,
    create_cancel_pair,
)
from ailib.errors import CancelledError, InvalidRequestError


def test_a_new_pair_is_not_cancelled() -> None:
    token, handle = create_cancel_pair()
    assert isinstance(token, CancelToken) and isinstance(handle, CancelHandle)
    assert handle.token is token
    assert not token.is_cancelled and token.reason is None and not handle.is_cancelled
    assert token.wait(0.01) is False
    token.raise_if_cancelled()  # nothing to raise
    assert repr(token) == "CancelToken(cancelled=False)"


def test_cancel_sets_the_reason_once() -> None:
    token, handle = create_cancel_pair()
    assert handle.cancel() is True
    assert token.is_cancelled and token.reason is CancelReason.USER_REQUEST
    assert handle.cancel(CancelReason.SHUTDOWN) is False  # the first reason stays
    assert token.reason is CancelReason.USER_REQUEST
    assert "USER_REQUEST" in repr(handle)


def test_a_reason_may_be_given_by_value_and_a_wrong_one_is_refused() -> None:
    token, handle = create_cancel_pair()
    with pytest.raises(InvalidRequestError, match=r"unknown cancel reason 'later'.*TIMEOUT"):
        handle.cancel("later")
    assert not token.is_cancelled
    handle.cancel("timeout")
    assert token.reason is CancelReason.TIMEOUT


def test_raise_if_cancelled_raises_e4002_with_the_reason() -> None:
    token, handle = create_cancel_pair()
    handle.cancel(CancelReason.ERROR)
    with pytest.raises(CancelledError) as info:
        token.raise_if_cancelled()
    assert info.value.code == "E4002" and info.value.name == "cancelled"
    assert not info.value.retryable and not info.value.fallbackable
    assert info.value.reason is CancelReason.ERROR and info.value.partial is None


def test_callbacks_run_once_in_the_cancelling_thread() -> None:
    token, handle = create_cancel_pair()
    calls: list[tuple[CancelReason, str]] = []
    token.on_cancel(lambda reason: calls.append((reason, threading.current_thread().name)))
    worker = threading.Thread(target=handle.cancel, args=(CancelReason.SHUTDOWN,), name="w")
    worker.start()
    worker.join()
    handle.cancel()
    assert calls == [(CancelReason.SHUTDOWN, "w")]


def test_a_callback_added_after_the_cancel_runs_at_once() -> None:
    token, handle = create_cancel_pair()
    handle.cancel(CancelReason.TIMEOUT)
    calls: list[CancelReason] = []
    remove = token.on_cancel(calls.append)
    assert calls == [CancelReason.TIMEOUT]
    remove()  # harmless


def test_a_removed_callback_does_not_run() -> None:
    token, handle = create_cancel_pair()
    calls: list[CancelReason] = []
    remove = token.on_cancel(calls.append)
    remove()
    handle.cancel()
    assert calls == []


def test_a_failing_callback_does_not_stop_the_others_and_is_raised() -> None:
    token, handle = create_cancel_pair()
    calls: list[str] = []

    def failing(_reason: CancelReason) -> None:
        raise ValueError("callback broke")

    token.on_cancel(failing)
    token.on_cancel(lambda _reason: calls.append("second"))
    with pytest.raises(ValueError, match="callback broke"):
        handle.cancel()
    assert calls == ["second"] and token.is_cancelled


def test_bad_arguments_are_typed_errors() -> None:
    token, _ = create_cancel_pair()
    with pytest.raises(InvalidRequestError, match="callable"):
        token.on_cancel("not callable")  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="CancelToken"):
        CancelHandle("token")  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="create_cancel_pair"):
        CancellableStream(object(), "token")  # type: ignore[type-var, arg-type]
    with pytest.raises(InvalidRequestError, match="ChatStream or AsyncChatStream"):
        CancellableStream(42, token)  # type: ignore[type-var]


def test_wait_from_a_thread_returns_when_cancelled() -> None:
    token, handle = create_cancel_pair()
    threading.Timer(0.05, handle.cancel).start()
    started = time.monotonic()
    assert token.wait(10) is True
    assert time.monotonic() - started < 5


async def test_wait_async_is_woken_from_another_thread() -> None:
    token, handle = create_cancel_pair()
    threading.Timer(0.05, handle.cancel).start()
    assert await asyncio.wait_for(token.wait_async(), 5) is True


async def test_wait_async_times_out_and_leaves_no_callback() -> None:
    token, handle = create_cancel_pair()
    assert await token.wait_async(0.01) is False
    assert token._callbacks == {}  # the waiter unregistered itself
    handle.cancel()
    assert await token.wait_async(0.01) is True


def test_one_token_wakes_waiters_on_two_loops_in_two_threads() -> None:
    token, handle = create_cancel_pair()
    results: list[bool] = []

    def waiter() -> None:
        results.append(asyncio.run(token.wait_async(10)))

    threads = [threading.Thread(target=waiter) for _ in range(2)]
    for thread in threads:
        thread.start()
    while len(token._callbacks) < 2:  # both loops are waiting
        time.sleep(0.01)
    handle.cancel()
    for thread in threads:
        thread.join(5)
    assert results == [True, True]


def test_a_cancel_after_the_waiting_loop_closed_is_harmless() -> None:
    token, handle = create_cancel_pair()

    async def give_up() -> bool:
        waiting = asyncio.ensure_future(token.wait_async())
        await asyncio.sleep(0)
        waiting.cancel()
        return True

    assert asyncio.run(give_up())
    assert handle.cancel() is True


def test_reasons_are_plain_strings() -> None:
    assert [r.value for r in CancelReason] == [
        "user_request",
        "timeout",
        "shutdown",
        "client_disconnected",
        "error",
    ]
    assert CancelReason("shutdown") is CancelReason.SHUTDOWN


def test_import_ailib_client_stays_light() -> None:
    code = (
        "import sys, ailib.client\n"
        "from ailib.client import CancelToken, create_cancel_pair, CancelReason\n"
        "heavy = [m for m in ('httpx', 'asyncio', 'ailib.runtime._sync_engine') "
        "if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "from ailib.client import AiClient, AsyncAiClient, CancellableStream\n"
        "assert AiClient.__name__ == 'AiClient'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unknown_names_of_ailib_client_raise_attribute_error() -> None:
    import ailib.client

    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        ailib.client.Nope  # noqa: B018
    assert "CancellableStream" in dir(ailib.client)
