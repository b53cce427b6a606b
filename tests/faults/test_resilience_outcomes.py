"""What the resilience layers make of faults: the breaker's state, fallbacks taken, the
client's signals. Clients built with ``AiClient.builder()`` (sync and async twins),
streamed and not; every call checked against the invariant (``invariant.check``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from ailib.errors import (
    CircuitOpenError,
    RateLimitExceededError,
    RemoteError,
    StreamInterruptedError,
    TransportError,
)
from ailib.testing import MockServer, Scenario
from ailib.testing.faulty_proxy import Fault, FaultyProxy
from tests.faults.invariant import (
    HAVE_BUILDER,
    KEY,
    MODES,
    STREAMING,
    TEXT,
    Setup,
    check_retries,
    expect_error,
    expect_response,
    run,
)

pytestmark = pytest.mark.skipif(not HAVE_BUILDER, reason="needs AiClient.builder()")

PRIMARY = "openai/gpt-4o"
SECONDARY = "anthropic/claude-sonnet-4-5"


def breaker(threshold: int, cooldown: float = 30.0) -> Callable[[Any], Any]:
    from ailib.resilience import CircuitBreakerConfig

    config = CircuitBreakerConfig(failure_threshold=threshold, cooldown_seconds=cooldown)
    return lambda builder: builder.with_circuit_breaker(config)


def fallback_to(server: MockServer, then: Callable[[Any], Any] | None = None) -> Any:
    from ailib.resilience import FallbackTarget

    target = FallbackTarget(SECONDARY, api_key=KEY, base_url=server.base_url("anthropic"))

    def steps(builder: Any) -> Any:
        builder = builder.with_fallbacks([target])
        return then(builder) if then is not None else builder

    return steps


def breaker_key(base_url: str) -> str:
    return f"openai|{base_url}|gpt-4o"


def dialects(server: MockServer) -> list[str]:
    return [request.dialect for request in server.requests]


# ---- the circuit breaker ------------------------------------------------------------------


@pytest.mark.parametrize("stream", STREAMING)
@pytest.mark.parametrize("mode", MODES)
def test_500_burst_opens_the_breaker_then_a_probe_closes_it(
    mode: str, stream: bool, mock_server: MockServer
) -> None:
    mock_server.push(Scenario(status=500, repeat=3), Scenario(text=TEXT))
    url = mock_server.base_url("openai")
    setup = Setup(PRIMARY, url, steps=breaker(3, cooldown=0.3))

    def before(i: int) -> None:
        if i == 4:
            time.sleep(0.4)  # past the cooldown: the next call is the probe

    result = run(mode, setup, stream=stream, calls=5, before=before)
    first, second, third, refused, probe = result.outcomes
    for outcome in (first, second, third):
        expect_error(outcome, RemoteError, "E3001")
    err = expect_error(refused, CircuitOpenError, "E3002")
    assert err.breaker_key == breaker_key(url) and not err.retryable and err.fallbackable
    assert breaker_key(url) in str(err) and 0 < err.retry_after <= 0.3
    expect_response(probe)
    assert len(mock_server.requests) == 4  # the refused call sent nothing
    assert result.states == ["closed", "closed", "open", "open", "closed"]
    stats = result.stats
    assert stats.breaker_opens == 1 and stats.rejected_by_breaker == 1
    key = breaker_key(url)
    assert [t for t in stats.breaker_transitions if t[0] == key] == [
        (key, "closed", "open"),
        (key, "open", "half_open"),
        (key, "half_open", "closed"),
    ]


@pytest.mark.parametrize("stream", STREAMING)
@pytest.mark.parametrize("mode", MODES)
def test_connection_faults_open_the_breaker(
    mode: str, stream: bool, proxy: FaultyProxy, mock_server: MockServer
) -> None:
    proxy.set_default(Fault.reset_before_headers())
    url = proxy.base_url("openai")
    result = run(mode, Setup(PRIMARY, url, steps=breaker(2)), stream=stream, calls=3)
    for outcome in result.outcomes[:2]:
        expect_error(outcome, TransportError, "E3001")
    expect_error(result.outcomes[2], CircuitOpenError, "E3002")
    assert proxy.connections == 2 and result.states[-1] == "open"


@pytest.mark.parametrize("mode", MODES)
def test_streams_broken_mid_way_count_when_they_end(mode: str, mock_server: MockServer) -> None:
    mock_server.push(Scenario(text=TEXT, cut_after=4, repeat=2))
    url = mock_server.base_url("openai")
    result = run(mode, Setup(PRIMARY, url, steps=breaker(2)), stream=True, calls=3)
    for outcome in result.outcomes[:2]:
        err = expect_error(outcome, StreamInterruptedError, "E3001")
        assert err.partial is not None and err.partial.content
    expect_error(result.outcomes[2], CircuitOpenError, "E3002")
    assert len(mock_server.requests) == 2


@pytest.mark.parametrize("stream", STREAMING)
@pytest.mark.parametrize("mode", MODES)
def test_non_retryable_errors_leave_the_breaker_closed(
    mode: str, stream: bool, mock_server: MockServer
) -> None:
    mock_server.push(Scenario(status=400, repeat=4))
    url = mock_server.base_url("openai")
    result = run(mode, Setup(PRIMARY, url, steps=breaker(2)), stream=stream, calls=4)
    for outcome in result.outcomes:
        expect_error(outcome, RemoteError, "E1001")
    assert len(mock_server.requests) == 4 and set(result.states) == {"closed"}
    assert result.stats.breaker_opens == 0


@pytest.mark.parametrize("mode", MODES)
def test_each_retry_meets_the_breaker(mode: str, mock_server: MockServer) -> None:
    """Retry wraps the breaker: the attempt after the one that opened it meets the open
    breaker, which ends the call (not retryable) with nothing more sent."""
    mock_server.push(Scenario(status=503, repeat=10))
    url = mock_server.base_url("openai")
    setup = Setup(PRIMARY, url, retries=5, steps=breaker(3))
    result = run(mode, setup, stream=False, calls=2)
    for outcome in result.outcomes:
        expect_error(outcome, CircuitOpenError, "E3002")
    assert len(mock_server.requests) == 3  # the breaker opened on the third attempt
    assert result.states == ["open", "open"]
    assert result.stats.retries == 3 and result.stats.rejected_by_breaker == 2


# ---- fallback ----------------------------------------------------------------------------


@pytest.mark.parametrize("stream", STREAMING)
@pytest.mark.parametrize("mode", MODES)
def test_500_burst_past_the_retries_falls_back(
    mode: str, stream: bool, mock_server: MockServer
) -> None:
    mock_server.push(Scenario(status=500, repeat=3), Scenario(text=TEXT))
    setup = Setup(
        PRIMARY, mock_server.base_url("openai"), retries=2, steps=fallback_to(mock_server)
    )
    result = run(mode, setup, stream=stream)
    outcome = result.outcomes[0]
    expect_response(outcome)
    assert outcome.served_by == SECONDARY
    assert dialects(mock_server) == ["openai"] * 3 + ["anthropic"]
    assert result.stats.fallbacks == 1
    assert result.stats.fallback_hops == {f"{PRIMARY} -> {SECONDARY}": 1}
    check_retries(result, 2)


@pytest.mark.parametrize("stream", STREAMING)
@pytest.mark.parametrize("mode", MODES)
def test_refused_primary_falls_back(
    mode: str, stream: bool, proxy: FaultyProxy, mock_server: MockServer
) -> None:
    proxy.refuse_connections()
    mock_server.push(Scenario(text=TEXT))
    setup = Setup(PRIMARY, proxy.base_url("openai"), retries=1, steps=fallback_to(mock_server))
    result = run(mode, setup, stream=stream)
    expect_response(result.outcomes[0])
    assert result.outcomes[0].served_by == SECONDARY and dialects(mock_server) == ["anthropic"]


@pytest.mark.parametrize("mode", MODES)
def test_hung_primary_falls_back(mode: str, proxy: FaultyProxy, mock_server: MockServer) -> None:
    proxy.push(Fault.stall())
    mock_server.push(Scenario(text=TEXT))
    setup = Setup(PRIMARY, proxy.base_url("openai"), timeout=0.25, steps=fallback_to(mock_server))
    result = run(mode, setup, stream=False)
    expect_response(result.outcomes[0])
    assert result.outcomes[0].served_by == SECONDARY


@pytest.mark.parametrize("mode", MODES)
def test_never_falls_back_once_an_event_was_delivered(mode: str, mock_server: MockServer) -> None:
    mock_server.push(Scenario(text=TEXT, cut_after=4), Scenario(text=TEXT))
    setup = Setup(
        PRIMARY, mock_server.base_url("openai"), retries=2, steps=fallback_to(mock_server)
    )
    result = run(mode, setup, stream=True)
    err = expect_error(result.outcomes[0], StreamInterruptedError, "E3001")
    assert err.partial is not None and err.partial.content
    assert dialects(mock_server) == ["openai"] and result.stats.fallbacks == 0


@pytest.mark.parametrize("stream", STREAMING)
@pytest.mark.parametrize("mode", MODES)
def test_non_fallbackable_error_stays_with_the_primary(
    mode: str, stream: bool, mock_server: MockServer
) -> None:
    mock_server.push(Scenario(status=400))
    setup = Setup(
        PRIMARY, mock_server.base_url("openai"), retries=2, steps=fallback_to(mock_server)
    )
    result = run(mode, setup, stream=stream)
    expect_error(result.outcomes[0], RemoteError, "E1001")
    assert dialects(mock_server) == ["openai"] and result.stats.fallbacks == 0


@pytest.mark.parametrize("mode", MODES)
def test_open_breaker_sends_the_call_to_the_fallback_at_once(
    mode: str, mock_server: MockServer
) -> None:
    mock_server.push(Scenario(status=500), Scenario(text=TEXT, repeat=2))
    url = mock_server.base_url("openai")
    setup = Setup(PRIMARY, url, steps=fallback_to(mock_server, breaker(1)))
    result = run(mode, setup, stream=False, calls=2)
    for outcome in result.outcomes:
        expect_response(outcome)
        assert outcome.served_by == SECONDARY
    # the second call found the primary's breaker open: nothing went to it
    assert dialects(mock_server) == ["openai", "anthropic", "anthropic"]
    assert result.stats.fallbacks == 2 and result.stats.rejected_by_breaker == 1


@pytest.mark.parametrize("mode", MODES)
def test_signals_count_retries(mode: str, mock_server: MockServer) -> None:
    """The client's own account of a fault survived (the other tests check it when the
    client reports signals; this one requires that it does)."""
    mock_server.push(Scenario(status=503, repeat=2), Scenario(text=TEXT))
    setup = Setup(PRIMARY, mock_server.base_url("openai"), retries=3, steps=lambda b: b)
    result = run(mode, setup, stream=False)
    expect_response(result.outcomes[0])
    stats = result.stats
    assert stats is not None and stats.retries == 2 and stats.attempts == 3
    assert stats.calls == 1 and stats.successes == 1 and stats.failures == 0


# ---- the rate limiter after a 429 ---------------------------------------------------------


def limiter(max_wait: float) -> Callable[[Any], Any]:
    from ailib.resilience import RateLimiterConfig

    config = RateLimiterConfig(requests_per_second=1000, max_wait_seconds=max_wait)
    return lambda builder: builder.with_rate_limit(config)


@pytest.mark.parametrize("stream", STREAMING)
@pytest.mark.parametrize("mode", MODES)
def test_429_retry_after_holds_the_next_call_back(
    mode: str, stream: bool, mock_server: MockServer
) -> None:
    """The provider said wait 0.5 s: the next call may wait 0.02 s, so it is refused
    locally (nothing sent); after the hold-off, calls go out again."""
    mock_server.push(Scenario(status=429, retry_after=0.5), Scenario(text=TEXT))
    url = mock_server.base_url("openai")

    def before(i: int) -> None:
        if i == 2:
            time.sleep(0.6)

    setup = Setup(PRIMARY, url, steps=limiter(max_wait=0.02))
    result = run(mode, setup, stream=stream, calls=3, before=before)
    limited, refused, served = result.outcomes
    assert expect_error(limited, RemoteError, "E2001").retry_after == pytest.approx(0.5)
    err = expect_error(refused, RateLimitExceededError, "E2001")
    assert not err.retryable and err.fallbackable and 0 < err.retry_after <= 0.5
    expect_response(served)
    assert len(mock_server.requests) == 2  # the refused call sent nothing


@pytest.mark.parametrize("mode", MODES)
def test_429_retry_after_makes_the_next_call_wait(mode: str, mock_server: MockServer) -> None:
    mock_server.push(Scenario(status=429, retry_after=0.3), Scenario(text=TEXT))
    setup = Setup(PRIMARY, mock_server.base_url("openai"), steps=limiter(max_wait=5))
    result = run(mode, setup, stream=False, calls=2)
    expect_error(result.outcomes[0], RemoteError, "E2001")
    waited = expect_response(result.outcomes[1])
    assert waited.content == TEXT and result.outcomes[1].seconds >= 0.2
    assert result.stats.waits_seconds.get("rate_limit", 0) >= 0.2
