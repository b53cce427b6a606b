"""Issue 6 item 21: the sync sockets of an ailib-made client end every wait by the deadline.

The backend is installed through private httpx/httpcore attributes (see
``ailib.runtime.deadline_io``): these tests fail on purpose if an upgrade moves them.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpcore
import httpx
import pytest

from ailib import AiClient, AsyncAiClient
from ailib.errors import TransportError
from ailib.runtime._body import BodyGuard, run_within
from ailib.runtime.deadline_io import ATTEMPT_ENDS_AT, DeadlineBackend, DeadlineStream
from ailib.runtime.limits import DEFAULT_LIMITS

KEY = "sk-test-DeadlineUnitKey0123456789"


class Recorder(httpcore.NetworkStream):
    """A network stream that records the timeouts it is given."""

    def __init__(self) -> None:
        self.timeouts: list[float | None] = []

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self.timeouts.append(timeout)
        return b""

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.timeouts.append(timeout)

    def close(self) -> None:
        pass

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        self.timeouts.append(timeout)
        return self


def backend_of(client: Any) -> Any:
    return client._current()._client._transport._pool._network_backend


def test_own_sync_client_uses_the_deadline_backend() -> None:
    with AiClient.create("openai/gpt-4o", api_key=KEY) as client:
        assert isinstance(backend_of(client), DeadlineBackend)


def test_user_sync_client_is_left_as_it_is() -> None:
    with (
        httpx.Client() as mine,
        AiClient.create("openai/gpt-4o", api_key=KEY, http_client=mine) as client,
    ):
        assert not isinstance(backend_of(client), DeadlineBackend)


def test_own_async_client_is_left_to_asyncio_timeout() -> None:
    async def run() -> Any:
        async with await AsyncAiClient.create("openai/gpt-4o", api_key=KEY) as client:
            return backend_of(client)

    assert not isinstance(asyncio.run(run()), DeadlineBackend)


def test_outside_an_attempt_timeouts_pass_through() -> None:
    inner = Recorder()
    stream = DeadlineStream(inner)
    stream.read(10, 30.0)
    stream.write(b"x", None)
    assert inner.timeouts == [30.0, None]


def test_within_an_attempt_each_wait_ends_by_the_deadline() -> None:
    inner = Recorder()
    stream = DeadlineStream(inner)
    token = ATTEMPT_ENDS_AT.set(time.monotonic() + 2.0)
    try:
        stream.read(10, 30.0)
        stream.write(b"x", None)
        stream.start_tls(None, "h", 60.0)
    finally:
        ATTEMPT_ENDS_AT.reset(token)
    assert all(t is not None and 0 < t <= 2.0 for t in inner.timeouts)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda s: s.read(10, 30.0), httpcore.ReadTimeout),
        (lambda s: s.write(b"x", 30.0), httpcore.WriteTimeout),
        (lambda s: s.start_tls(None, "h", 30.0), httpcore.ConnectTimeout),
    ],
)
def test_past_the_deadline_each_wait_times_out(call: Any, error: type[Exception]) -> None:
    token = ATTEMPT_ENDS_AT.set(time.monotonic() - 0.01)
    try:
        with pytest.raises(error):
            call(DeadlineStream(Recorder()))
    finally:
        ATTEMPT_ENDS_AT.reset(token)


def test_run_within_publishes_the_deadline_for_the_attempt_only() -> None:
    guard = BodyGuard(DEFAULT_LIMITS, provider="openai", deadline=5.0)
    seen = run_within(guard, ATTEMPT_ENDS_AT.get)
    assert seen == guard.ends_at
    assert ATTEMPT_ENDS_AT.get() is None


def test_run_within_names_the_total_timeout_and_resets() -> None:
    guard = BodyGuard(DEFAULT_LIMITS, provider="openai", deadline=0.01)

    def slow() -> None:
        time.sleep(0.02)
        raise TransportError("request timed out: ReadTimeout", code="E3003")

    with pytest.raises(TransportError, match=r"total timeout of 0\.01s") as info:
        run_within(guard, slow)
    assert info.value.__context__ is None
    assert ATTEMPT_ENDS_AT.get() is None


def test_a_sync_httpx2_client_ailib_creates_is_bounded_too() -> None:
    import httpcore2
    import httpx2

    from ailib.runtime.deadline_io import deadline_bound

    client = deadline_bound(httpx2.Client(), httpcore2)
    backend = client._transport._pool._network_backend  # type: ignore[attr-defined]
    assert isinstance(backend, DeadlineBackend)
    assert backend._timeouts.read is httpcore2.ReadTimeout  # httpx2 maps its own timeouts
    assert deadline_bound(client, httpcore2)._transport._pool._network_backend is backend
    client.close()
