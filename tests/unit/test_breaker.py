"""The circuit breaker's state machine, on an injected clock (nothing sleeps).

Driven through the sync layer's ``acquire``/``release`` over a MemoryStore, the path
every call takes; the pipeline (sync and async) is in ``test_breaker_layer.py``.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from ailib.errors import (
    AiLibError,
    CancelledError,
    CircuitOpenError,
    InvalidRequestError,
    RemoteError,
    StreamInterruptedError,
    TransportError,
)
from ailib.resilience import CircuitBreakerConfig, CircuitState, MemoryStore, ResilienceStats
from ailib.resilience._sync_breaker_layer import BreakerLayer
from ailib.resilience.breaker import CircuitBreaker, Outcome, Permit, classify, stream_outcome
from ailib.runtime.context import CallContext, Hop, Target

KEY = "openai|https://api.openai.com/v1|gpt-4o"
OTHER = "anthropic|https://api.anthropic.com/v1|claude"


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


class Rig:
    """A breaker layer over a MemoryStore with a clock the test moves."""

    def __init__(self, **config: Any) -> None:
        self.clock = Clock()
        self.stats = ResilienceStats()
        self.layer = BreakerLayer(
            CircuitBreakerConfig(**config), MemoryStore(), self.stats, clock=self.clock
        )

    def call(self, outcome: Outcome, key: str = KEY) -> None:
        self.layer.release(self.layer.acquire(key), outcome)

    def fail(self, times: int = 1, key: str = KEY) -> None:
        for _ in range(times):
            self.call(Outcome.FAILURE, key)

    def state(self, key: str = KEY) -> CircuitState:
        return self.layer.state(key)

    def refused(self, key: str = KEY) -> CircuitOpenError:
        with pytest.raises(CircuitOpenError) as info:
            self.layer.acquire(key)
        return info.value


def test_consecutive_failures_open_it() -> None:
    rig = Rig(failure_threshold=3, cooldown_seconds=30)
    rig.fail(2)
    assert rig.state() is CircuitState.CLOSED
    rig.fail()
    assert rig.state() is CircuitState.OPEN
    snap = rig.stats.snapshot()
    assert snap.breaker_states == {KEY: "open"}
    assert snap.breaker_transitions == ((KEY, "closed", "open"),)
    assert snap.breaker_opens == 1


def test_a_success_resets_the_consecutive_count() -> None:
    rig = Rig(failure_threshold=3)
    rig.fail(2)
    rig.call(Outcome.SUCCESS)
    rig.fail(2)
    assert rig.state() is CircuitState.CLOSED
    rig.fail()
    assert rig.state() is CircuitState.OPEN


def test_ignored_outcomes_neither_count_nor_reset() -> None:
    rig = Rig(failure_threshold=2)
    rig.fail()
    rig.call(Outcome.IGNORED)
    rig.fail()
    assert rig.state() is CircuitState.OPEN


def test_open_refuses_at_once_naming_the_breaker_and_the_wait() -> None:
    rig = Rig(failure_threshold=1, cooldown_seconds=30)
    rig.fail()
    rig.clock.now += 12
    err = rig.refused()
    assert err.code == "E3002" and err.retryable is False and err.fallbackable is True
    assert err.breaker_key == KEY
    assert err.retry_after == pytest.approx(18)
    assert KEY in str(err) and "18.0s" in str(err) and "nothing sent" in str(err)
    assert isinstance(err, AiLibError)
    assert rig.stats.snapshot().rejected_by_breaker == 1


def test_breakers_are_per_key() -> None:
    rig = Rig(failure_threshold=1)
    rig.fail(key=KEY)
    assert rig.state(KEY) is CircuitState.OPEN
    assert rig.state(OTHER) is CircuitState.CLOSED
    rig.call(Outcome.SUCCESS, key=OTHER)


def test_after_the_cooldown_one_probe_goes_and_its_success_closes() -> None:
    rig = Rig(failure_threshold=1, cooldown_seconds=30)
    rig.fail()
    rig.clock.now += 29.9
    rig.refused()
    rig.clock.now += 0.1
    assert rig.state() is CircuitState.HALF_OPEN  # shown as half-open once the cooldown is over
    probe = rig.layer.acquire(KEY)
    assert probe.probe
    assert rig.refused().retry_after == pytest.approx(30)  # only one probe at a time
    rig.layer.release(probe, Outcome.SUCCESS)
    assert rig.state() is CircuitState.CLOSED
    assert rig.stats.snapshot().breaker_transitions == (
        (KEY, "closed", "open"),
        (KEY, "open", "half_open"),
        (KEY, "half_open", "closed"),
    )


def test_a_failed_probe_reopens_for_a_fresh_cooldown() -> None:
    rig = Rig(failure_threshold=1, cooldown_seconds=10)
    rig.fail()
    rig.clock.now += 10
    rig.layer.release(rig.layer.acquire(KEY), Outcome.FAILURE)
    assert rig.state() is CircuitState.OPEN
    assert rig.refused().retry_after == pytest.approx(10)
    assert rig.stats.snapshot().breaker_opens == 2


def test_half_open_allows_several_probes_and_needs_several_successes() -> None:
    rig = Rig(failure_threshold=1, cooldown_seconds=5, half_open_max_calls=2, success_threshold=3)
    rig.fail()
    rig.clock.now += 5
    first, second = rig.layer.acquire(KEY), rig.layer.acquire(KEY)
    rig.refused()
    rig.layer.release(first, Outcome.SUCCESS)
    third = rig.layer.acquire(KEY)  # a slot freed
    rig.layer.release(second, Outcome.SUCCESS)
    assert rig.state() is CircuitState.HALF_OPEN
    rig.layer.release(third, Outcome.SUCCESS)
    assert rig.state() is CircuitState.CLOSED


def test_an_ignored_probe_frees_its_slot_without_closing() -> None:
    rig = Rig(failure_threshold=1, cooldown_seconds=5)
    rig.fail()
    rig.clock.now += 5
    rig.layer.release(rig.layer.acquire(KEY), Outcome.IGNORED)  # e.g. cancelled
    assert rig.state() is CircuitState.HALF_OPEN
    rig.layer.release(rig.layer.acquire(KEY), Outcome.SUCCESS)
    assert rig.state() is CircuitState.CLOSED


def test_a_probe_that_never_reports_frees_its_slot_after_a_cooldown() -> None:
    rig = Rig(failure_threshold=1, cooldown_seconds=5)
    rig.fail()
    rig.clock.now += 5
    rig.layer.acquire(KEY)  # its process dies: no outcome ever comes
    rig.clock.now += 4
    rig.refused()
    rig.clock.now += 1
    rig.layer.release(rig.layer.acquire(KEY), Outcome.SUCCESS)
    assert rig.state() is CircuitState.CLOSED


def test_outcomes_from_before_a_transition_change_nothing() -> None:
    rig = Rig(failure_threshold=2, cooldown_seconds=5)
    slow = rig.layer.acquire(KEY)  # a long call admitted while closed
    rig.fail(2)
    rig.clock.now += 5
    rig.layer.release(rig.layer.acquire(KEY), Outcome.SUCCESS)  # probe closes it again
    rig.fail()
    rig.layer.release(slow, Outcome.FAILURE)  # the old call's failure is stale
    assert rig.state() is CircuitState.CLOSED
    rig.fail()
    assert rig.state() is CircuitState.OPEN


def test_failure_ratio_over_the_window_opens_it() -> None:
    rig = Rig(failure_threshold=100, failure_ratio=0.5, window_seconds=60, min_calls=6)
    for _ in range(2):
        rig.call(Outcome.SUCCESS)
        rig.fail()
    rig.call(Outcome.SUCCESS)
    assert rig.state() is CircuitState.CLOSED  # 2 of 5: below the minimum of calls
    rig.fail()
    assert rig.state() is CircuitState.OPEN  # 3 of 6


def test_failure_ratio_needs_enough_calls_and_forgets_old_ones() -> None:
    rig = Rig(failure_threshold=100, failure_ratio=0.5, window_seconds=60, min_calls=4)
    rig.fail(3)
    rig.clock.now += 61  # those failures leave the window
    rig.call(Outcome.SUCCESS)
    rig.call(Outcome.SUCCESS)
    rig.fail()
    assert rig.state() is CircuitState.CLOSED  # 1 of 3 in the window
    rig.clock.now += 30
    rig.fail()
    assert rig.state() is CircuitState.OPEN  # 2 of 4


def test_failure_ratio_still_opens_on_consecutive_failures() -> None:
    rig = Rig(failure_threshold=3, failure_ratio=0.9, min_calls=50)
    rig.fail(3)
    assert rig.state() is CircuitState.OPEN


def test_another_process_opening_it_shows_in_this_ones_stats() -> None:
    store = MemoryStore()
    clock = Clock()
    mine, theirs = ResilienceStats(), ResilienceStats()
    config = CircuitBreakerConfig(failure_threshold=1, cooldown_seconds=9)
    here = BreakerLayer(config, store, mine, clock=clock)
    there = BreakerLayer(config, store, theirs, clock=clock)
    here.release(here.acquire(KEY), Outcome.SUCCESS)
    there.release(there.acquire(KEY), Outcome.FAILURE)
    with pytest.raises(CircuitOpenError):
        here.acquire(KEY)
    assert mine.snapshot().breaker_transitions == ((KEY, "closed", "open"),)
    assert mine.snapshot().rejected_by_breaker == 1
    assert here.cached_state(KEY) is CircuitState.OPEN
    clock.now += 9
    assert here.cached_state(KEY) is CircuitState.HALF_OPEN


def test_reset_closes_it() -> None:
    rig = Rig(failure_threshold=1)
    rig.fail()
    rig.layer.reset(KEY)
    assert rig.state() is CircuitState.CLOSED
    assert rig.layer.cached_state(KEY) is CircuitState.CLOSED
    rig.layer.acquire(KEY)


def test_state_prints_as_its_value() -> None:
    assert str(CircuitState.HALF_OPEN) == "half_open"
    assert f"{CircuitState.OPEN}" == "open"
    assert CircuitState.CLOSED == "closed"


def test_record_ttl_outlives_cooldown_and_window() -> None:
    breaker = CircuitBreaker(CircuitBreakerConfig(cooldown_seconds=300, window_seconds=60))
    assert breaker.ttl > 360


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (None, Outcome.SUCCESS),
        (RemoteError("rate", code="E2001", status=429), Outcome.FAILURE),
        (RemoteError("down", code="E3001", status=500), Outcome.FAILURE),
        (RemoteError("busy", code="E3002", status=529), Outcome.FAILURE),
        (TransportError("timed out"), Outcome.FAILURE),
        (StreamInterruptedError("reset mid-stream"), Outcome.FAILURE),
        (RemoteError("bad", code="E1001", status=400), Outcome.SUCCESS),
        (RemoteError("key", code="E1002", status=401), Outcome.SUCCESS),
        (InvalidRequestError("local"), Outcome.IGNORED),
        (CancelledError("stop"), Outcome.IGNORED),
        (CircuitOpenError("open", breaker_key="x", retry_after=1), Outcome.IGNORED),
        (AiLibError("a local gate", code="E2001"), Outcome.IGNORED),
        (KeyError("plugin bug"), Outcome.IGNORED),
    ],
)
def test_classify(error: BaseException | None, outcome: Outcome) -> None:
    assert classify(error) is outcome


def _stream_ctx(**fields: Any) -> tuple[CallContext, Target]:
    engine = SimpleNamespace(spec=SimpleNamespace(id="openai"), base_url="http://127.0.0.1:9/v1")
    target = Target(engine, "gpt-4o")
    ctx = CallContext("stream", target)
    for name, value in fields.items():
        setattr(ctx, name, value)
    return ctx, target


def test_stream_outcomes() -> None:
    ctx, target = _stream_ctx()
    assert stream_outcome(ctx, target) is Outcome.SUCCESS
    ctx, target = _stream_ctx(closed_early=True, first_event_sent=True)
    assert stream_outcome(ctx, target) is Outcome.SUCCESS
    ctx, target = _stream_ctx(closed_early=True, error=CancelledError("caller left"))
    assert stream_outcome(ctx, target) is Outcome.IGNORED
    ctx, target = _stream_ctx(error=StreamInterruptedError("reset"), first_event_sent=True)
    assert stream_outcome(ctx, target) is Outcome.FAILURE
    ctx, target = _stream_ctx()
    ctx.target = Target(target.engine, "other")  # a fallback took over after it opened
    ctx.hops.append(Hop(target.label, "server_error", code="E3001"))
    assert stream_outcome(ctx, target) is Outcome.FAILURE
    ctx.hops[-1] = Hop(target.label, "bad request", code="E1001")
    assert stream_outcome(ctx, target) is Outcome.IGNORED


def test_permits_compare_by_value() -> None:
    assert Permit(KEY, 3, True) == Permit(KEY, 3, True)
