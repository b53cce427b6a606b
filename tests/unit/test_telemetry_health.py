"""HealthChecker from recorded outcomes and breaker states (no network)."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from ailib.errors import ConfigurationError
from ailib.resilience.signals import SignalsSnapshot
from ailib.telemetry import HealthChecker, MetricLabels, MetricsCollector


@attrs.define
class FakeClient:
    breakers: dict[str, str] = attrs.field(factory=dict)
    provider_id: str = "openai"

    def get_resilience_stats(self) -> SignalsSnapshot:
        return SignalsSnapshot(breaker_states=dict(self.breakers))


def feed(collector: MetricsCollector, provider: str, outcomes: str, latency: float = 0.1) -> None:
    for ch in outcomes:
        status = "success" if ch == "+" else "error"
        collector.record_request(MetricLabels(provider, "m"), latency, status, error_code="E3001")


def test_status_follows_the_error_ratio() -> None:
    collector = MetricsCollector()
    feed(collector, "openai", "++++++++++")
    feed(collector, "anthropic", "++++++++--")
    feed(collector, "gemini", "+++++-----")
    feed(collector, "groq", "--")  # too few calls to judge by ratio
    checker = HealthChecker(collector, degraded_error_ratio=0.1, unhealthy_error_ratio=0.5)
    health = checker.check_all()
    assert {p: h.status for p, h in health.items()} == {
        "openai": "healthy",
        "anthropic": "degraded",
        "gemini": "unhealthy",
        "groq": "healthy",
    }
    assert health["anthropic"].error_ratio == pytest.approx(0.2)
    assert health["gemini"].reasons == ("error ratio 50% over 10 calls",)
    assert health["openai"].healthy and health["openai"].requests == 10
    assert checker.overall() == "unhealthy"


def test_breaker_states_of_watched_clients() -> None:
    collector = MetricsCollector()
    feed(collector, "openai", "+++++")
    client = FakeClient(
        {"openai|https://api.openai.com/v1|gpt-4o": "open",
         "openai|https://api.openai.com/v1|gpt-4o-mini": "closed",
         "anthropic|https://api.anthropic.com|claude": "half_open"}
    )  # fmt: skip
    checker = HealthChecker(collector, clients=[client])
    openai = checker.check("openai")
    assert openai.status == "unhealthy" and openai.breaker_state == "open"
    assert "circuit breaker open" in openai.reasons
    anthropic = checker.check("anthropic")
    assert anthropic.status == "degraded" and anthropic.requests == 0
    assert checker.check("mistral").status == "unknown"
    assert checker.providers() == ["anthropic", "openai"]


def test_latency_threshold_degrades() -> None:
    collector = MetricsCollector()
    feed(collector, "openai", "++++++", latency=2.0)
    checker = HealthChecker(collector, degraded_latency_ms=1000)
    health = checker.check("openai")
    assert health.status == "degraded" and health.latency_p95_ms == pytest.approx(2000.0)
    assert "p95 latency 2000 ms > 1000 ms" in health.reasons


def test_bad_settings_get_a_typed_error() -> None:
    with pytest.raises(ConfigurationError, match="degraded_error_ratio"):
        HealthChecker(degraded_error_ratio=0.6, unhealthy_error_ratio=0.5)
    with pytest.raises(ConfigurationError, match="MetricsCollector"):
        HealthChecker("collector")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="window_seconds"):
        HealthChecker(window_seconds=0)
    with pytest.raises(ConfigurationError, match="no metrics collector"):
        HealthChecker.for_client(FakeClient())


def test_probe_refuses_the_wrong_kind_of_client() -> None:
    checker = HealthChecker()

    class AsyncLike:
        async def list_models(self) -> Any:
            return []

    with pytest.raises(ConfigurationError, match="aprobe"):
        checker.probe(AsyncLike())
    with pytest.raises(ConfigurationError, match="probe method"):
        checker.probe(FakeClient(), method="ping")
