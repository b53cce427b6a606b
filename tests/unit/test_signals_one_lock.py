"""The signals layer counts a call and its in-flight place under the stats' one lock."""

from __future__ import annotations

from typing import Any

import pytest

from ailib.errors import AiLibError
from ailib.resilience._sync_fallback import SignalsLayer
from ailib.resilience.signals import ResilienceStats
from ailib.runtime._sync_pipeline import Pipeline
from ailib.runtime.context import CallContext, Target


class Engine:
    base_url = "http://127.0.0.1:1"

    class spec:  # stands in for a ProviderSpec
        id = "fake"

    def __init__(self, outcome: Any) -> None:
        self.outcome = outcome

    def attempt(self, ctx: CallContext) -> Any:
        ctx.attempt += 1
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


def run(stats: ResilienceStats, layer: SignalsLayer, outcome: Any) -> Any:
    ctx = CallContext("post", Target(Engine(outcome), "m"))
    return Pipeline([layer]).run(ctx)


def test_a_call_in_flight_then_ended_well() -> None:
    stats = ResilienceStats()
    layer = SignalsLayer(stats)
    seen: list[tuple[int, int]] = []

    class Watch(Engine):
        def attempt(self, ctx: CallContext) -> Any:
            seen.append((layer.in_flight, stats.snapshot().calls))
            return super().attempt(ctx)

    ctx = CallContext("post", Target(Watch("ok"), "m"))
    assert Pipeline([layer]).run(ctx) == "ok"
    assert seen == [(1, 1)]
    snap = stats.snapshot(in_flight=layer.in_flight)
    assert (snap.calls, snap.successes, snap.attempts, snap.in_flight) == (1, 1, 1, 0)
    assert snap.served_by == {"fake/m": 1} and snap.failures == 0


def test_a_failed_call_leaves_and_is_counted_as_failed() -> None:
    stats = ResilienceStats()
    layer = SignalsLayer(stats)
    with pytest.raises(AiLibError):
        run(stats, layer, AiLibError("boom", code="E3001"))
    snap = stats.snapshot(in_flight=layer.in_flight)
    assert (snap.calls, snap.successes, snap.failures, snap.attempts) == (1, 0, 1, 1)
    assert snap.in_flight == 0 and snap.errors_by_code == {"E3001": 1}
    assert snap.served_by == {}
