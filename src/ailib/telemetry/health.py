"""Provider health from the live signals, plus an optional active probe.

A :class:`HealthChecker` reads the recent outcomes a :class:`MetricsCollector` keeps per
provider (error ratio, latency) and the circuit-breaker states of the clients it is
given; :meth:`HealthChecker.probe` / :meth:`~HealthChecker.aprobe` send one tiny call.

Status, worst reason first:

* ``unhealthy``: a breaker is open, the error ratio is at least ``unhealthy_error_ratio``
  (over at least ``min_requests`` calls in the window) or the last probe failed;
* ``degraded``: a breaker is half-open, the error ratio is at least
  ``degraded_error_ratio`` or the p95 latency is above ``degraded_latency_ms``;
* ``unknown``: nothing seen in the window and no probe; otherwise ``healthy``.

Example::

    checker = HealthChecker.for_client(client)      # built with .with_telemetry(metrics=...)
    health = checker.check("openai")
    health.status, health.error_ratio, health.breaker_state, health.reasons
    checker.probe(client)                             # await checker.aprobe(client) if async
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Iterable
from typing import Any

import attrs

from ailib.errors import AiLibError, ConfigurationError
from ailib.telemetry.metrics import MetricsCollector
from ailib.telemetry.series import Window

__all__ = ["HealthChecker", "ProbeResult", "ProviderHealth"]

_RANK = {"healthy": 0, "unknown": 1, "degraded": 2, "unhealthy": 3}
_BREAKER_RANK = {"closed": 0, "half_open": 1, "open": 2}


@attrs.frozen
class ProbeResult:
    """One active probe: whether it answered, how fast, and the error code if not."""

    provider: str
    ok: bool
    latency_ms: float
    at: float  # time.time()
    code: str | None = None
    error: str | None = None


@attrs.frozen
class ProviderHealth:
    """The health of one provider now; ``reasons`` says what made it so."""

    provider: str
    status: str
    requests: int = 0
    error_ratio: float = 0.0
    latency_p50_ms: float = 0.0
    latency_p95_ms: float = 0.0
    breaker_state: str | None = None
    probe: ProbeResult | None = None
    reasons: tuple[str, ...] = ()

    @property
    def healthy(self) -> bool:
        return self.status == "healthy"


class HealthChecker:
    """Per-provider health from a collector's recent outcomes and clients' breakers.

    Example::

        checker = HealthChecker(collector, clients=[client], degraded_latency_ms=5000)
        checker.check_all()   # {"openai": ProviderHealth(provider='openai', status=...)}
    """

    def __init__(
        self,
        collector: MetricsCollector | None = None,
        *,
        clients: Iterable[Any] = (),
        window_seconds: float = 300.0,
        min_requests: int = 5,
        degraded_error_ratio: float = 0.1,
        unhealthy_error_ratio: float = 0.5,
        degraded_latency_ms: float | None = None,
    ) -> None:
        if collector is not None and not isinstance(collector, MetricsCollector):
            raise ConfigurationError(
                f"HealthChecker takes a MetricsCollector, got {type(collector).__name__}"
            )
        if not 0 < degraded_error_ratio <= unhealthy_error_ratio <= 1:
            raise ConfigurationError(
                "HealthChecker needs 0 < degraded_error_ratio <= unhealthy_error_ratio <= 1"
            )
        if window_seconds <= 0 or min_requests < 1:
            raise ConfigurationError("HealthChecker needs window_seconds > 0, min_requests >= 1")
        self.collector = collector
        self.clients: list[Any] = list(clients)
        self.window_seconds = window_seconds
        self.min_requests = min_requests
        self.degraded_error_ratio = degraded_error_ratio
        self.unhealthy_error_ratio = unhealthy_error_ratio
        self.degraded_latency_ms = degraded_latency_ms
        self._probes: dict[str, ProbeResult] = {}
        self._lock = threading.Lock()

    @classmethod
    def for_client(cls, client: Any, **options: Any) -> HealthChecker:
        """A checker on the collector a client was built with (``.with_telemetry``)."""
        layer = getattr(client, "_layers", {}).get("telemetry")
        collector = getattr(getattr(layer, "telemetry", None), "collector", None)
        if collector is None:
            raise ConfigurationError(
                "this client has no metrics collector: build it with "
                ".with_telemetry(metrics=MetricsCollector())"
            )
        return cls(collector, clients=[client], **options)

    def add_client(self, client: Any) -> None:
        """Watch ``client``'s circuit breakers too."""
        self.clients.append(client)

    # ---- passive ---------------------------------------------------------------------------

    def _breakers(self) -> dict[str, str]:
        """The worst breaker state per provider over the watched clients."""
        worst: dict[str, str] = {}
        for client in self.clients:
            for key, state in client.get_resilience_stats().breaker_states.items():
                provider = key.split("|", 1)[0]
                if _BREAKER_RANK.get(state, 0) >= _BREAKER_RANK.get(worst.get(provider, ""), 0):
                    worst[provider] = state
        return worst

    def providers(self) -> list[str]:
        """Every provider seen: in the collector, the breakers or a probe."""
        found = set(self.collector.providers()) if self.collector is not None else set()
        found.update(self._breakers())
        with self._lock:
            found.update(self._probes)
        return sorted(found)

    def check(self, provider: str) -> ProviderHealth:
        """The health of ``provider`` (an ailib provider id, e.g. ``"openai"``)."""
        return self._check(provider, self._breakers().get(provider))

    def check_all(self) -> dict[str, ProviderHealth]:
        """The health of every provider seen."""
        breakers = self._breakers()
        return {p: self._check(p, breakers.get(p)) for p in self.providers()}

    def overall(self) -> str:
        """The worst status over every provider (``"unknown"`` when none was seen)."""
        statuses = [h.status for h in self.check_all().values()]
        return max(statuses, key=_RANK.__getitem__) if statuses else "unknown"

    def _check(self, provider: str, breaker: str | None) -> ProviderHealth:
        outcomes = []
        if self.collector is not None:
            outcomes = self.collector.recent_outcomes(provider, self.window_seconds)
        with self._lock:
            probe = self._probes.get(provider)
        failures = sum(1 for o in outcomes if not o.ok)
        ratio = failures / len(outcomes) if outcomes else 0.0
        window = Window(max(1, len(outcomes)))
        for outcome in outcomes:
            window.add(outcome.latency)
        p50, p95 = (v * 1000.0 for v in window.percentiles(50, 95))
        bad: list[str] = []
        weak: list[str] = []
        if breaker == "open":
            bad.append("circuit breaker open")
        elif breaker == "half_open":
            weak.append("circuit breaker half-open")
        if len(outcomes) >= self.min_requests:
            shown = f"error ratio {ratio:.0%} over {len(outcomes)} calls"
            if ratio >= self.unhealthy_error_ratio:
                bad.append(shown)
            elif ratio >= self.degraded_error_ratio:
                weak.append(shown)
        if self.degraded_latency_ms is not None and outcomes and p95 > self.degraded_latency_ms:
            weak.append(f"p95 latency {p95:.0f} ms > {self.degraded_latency_ms:.0f} ms")
        if probe is not None and not probe.ok:
            bad.append(f"probe failed: {probe.code or probe.error}")
        if bad:
            status = "unhealthy"
        elif weak:
            status = "degraded"
        elif not outcomes and probe is None and breaker is None:
            status = "unknown"
        else:
            status = "healthy"
        return ProviderHealth(
            provider=provider,
            status=status,
            requests=len(outcomes),
            error_ratio=ratio,
            latency_p50_ms=p50,
            latency_p95_ms=p95,
            breaker_state=breaker,
            probe=probe,
            reasons=tuple(bad + weak),
        )

    # ---- active ----------------------------------------------------------------------------

    def probe(self, client: Any, *, method: str = "chat") -> ProbeResult:
        """Send one tiny call with a sync client and keep its result for ``check()``.

        ``method="chat"`` asks for one token; ``"models"`` lists the models instead.
        """
        if _is_async(client):
            raise ConfigurationError("probe() takes a sync AiClient; use aprobe() for async")
        call = self._probe_call(client, method)
        started = time.monotonic()
        try:
            call()
        except AiLibError as exc:
            return self._keep(client, started, exc)
        return self._keep(client, started, None)

    async def aprobe(self, client: Any, *, method: str = "chat") -> ProbeResult:
        """:meth:`probe` for an :class:`~ailib.AsyncAiClient`."""
        if not _is_async(client):
            raise ConfigurationError("aprobe() takes an AsyncAiClient; use probe() for sync")
        call = self._probe_call(client, method)
        started = time.monotonic()
        try:
            await call()
        except AiLibError as exc:
            return self._keep(client, started, exc)
        return self._keep(client, started, None)

    @staticmethod
    def _probe_call(client: Any, method: str) -> Any:
        if method == "chat":
            return lambda: client.chat().user("ping").max_tokens(1).execute()
        if method == "models":
            return client.list_models
        raise ConfigurationError(f"probe method is 'chat' or 'models', got {method!r}")

    def _keep(self, client: Any, started: float, error: AiLibError | None) -> ProbeResult:
        provider = str(client.provider_id)
        result = ProbeResult(
            provider=provider,
            ok=error is None,
            latency_ms=(time.monotonic() - started) * 1000.0,
            at=time.time(),
            code=error.code if error is not None else None,
            error=error.message[:300] if error is not None else None,
        )
        with self._lock:
            self._probes[provider] = result
        if client not in self.clients:
            self.clients.append(client)
        return result


def _is_async(client: Any) -> bool:
    return inspect.iscoroutinefunction(getattr(client, "list_models", None))
